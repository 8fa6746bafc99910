// Small pieces more than one screen draws.
import { html, update } from "../core/state.js";
import { t, setLanguage } from "../core/i18n.js";

export const ICON = new URL("../icon.svg", import.meta.url).href;

export function LanguagePicker({ s }) {
  return html`
    <label class="lang">
      <span class="visually-hidden">${t("lang.label")}</span>
      <select aria-label=${t("lang.label")} onChange=${(e) => setLanguage(e.currentTarget.value)}>
        <option value="en" selected=${s.lang === "en"}>English</option>
        <option value="id" selected=${s.lang === "id"}>Bahasa Indonesia</option>
      </select>
    </label>`;
}

export function initial(name) {
  return (name || "?").trim().charAt(0).toUpperCase();
}

export function go(screen) {
  update({ screen });
}
