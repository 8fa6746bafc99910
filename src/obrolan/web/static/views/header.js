// The bar across the top: the connection state, the screens, language, sign out.
import { html, screens } from "../core/state.js";
import { t } from "../core/i18n.js";
import { signOut } from "../chat/session.js";
import { ICON, LanguagePicker, go } from "./common.js";

export function Header({ s }) {
  return html`
    <header class="top">
      <div class="brand"><img src=${ICON} alt="" width="28" height="28" /><span>obrolan</span></div>
      <span class=${`conn conn-${s.conn}`} role="status" data-testid="connection">${t(`conn.${s.conn}`)}</span>
      <span class="spacer"></span>
      <nav class="screens" aria-label=${t("nav.label")}>
        <button type="button" class="nav" aria-current=${s.screen === "chat" ? "page" : undefined}
          data-testid="nav-chat" onClick=${() => go("chat")}>${t("nav.chat")}</button>
        ${[...screens].map(([name, { label }]) => html`
          <button type="button" class="nav" key=${name} aria-current=${s.screen === name ? "page" : undefined}
            data-testid=${`nav-${name}`} onClick=${() => go(name)}>${t(label)}</button>`)}
      </nav>
      <span class="me" title=${t("auth.signedInAs", { name: s.me.username })}>${s.me.display_name}</span>
      <${LanguagePicker} s=${s} />
      <button type="button" onClick=${signOut}>${t("auth.signOut")}</button>
    </header>`;
}
