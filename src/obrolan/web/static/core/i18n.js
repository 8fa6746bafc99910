// Languages: English and Bahasa Indonesia, one dictionary per language in ../i18n/.
import { state, update } from "./state.js";

export const LANGUAGES = ["en", "id"];
const LANG_COOKIE = "obrolan_lang";
let dictionaries = {};

export function t(key, vars = {}) {
  const text = state.dict[key] ?? dictionaries.en?.[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

// A count in words: `key.one`, `key.other` (and whatever else the language's plural
// rules name) chosen by Intl.PluralRules; {n} in the text is the count, formatted.
export function tn(key, n, vars = {}) {
  const form = new Intl.PluralRules(state.lang).select(n);
  const chosen = state.dict[`${key}.${form}`] !== undefined ? `${key}.${form}` : `${key}.other`;
  return t(chosen, { ...vars, n: formatNumber(n) });
}

export function formatNumber(n) {
  return new Intl.NumberFormat(state.lang).format(n);
}

export async function loadDictionaries() {
  const [en, id] = await Promise.all(
    LANGUAGES.map((lang) => fetch(new URL(`../i18n/${lang}.json`, import.meta.url)).then((r) => r.json())),
  );
  dictionaries = { en, id };
}

export function chooseLanguage() {
  const cookie = document.cookie.split("; ").find((c) => c.startsWith(`${LANG_COOKIE}=`));
  const chosen = cookie?.split("=")[1];
  if (LANGUAGES.includes(chosen)) return chosen;
  const browser = (navigator.language || "en").toLowerCase();
  return browser.startsWith("id") ? "id" : "en";
}

export function setLanguage(lang, { remember = true } = {}) {
  if (remember) document.cookie = `${LANG_COOKIE}=${lang}; path=/; max-age=31536000; samesite=lax`;
  document.documentElement.lang = lang;
  update({ lang, dict: dictionaries[lang] });
}

export function formatTime(iso) {
  return new Intl.DateTimeFormat(state.lang, { hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
}
