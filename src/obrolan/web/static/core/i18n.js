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
  const form = new Intl.PluralRules(locale()).select(n);
  const chosen = state.dict[`${key}.${form}`] !== undefined ? `${key}.${form}` : `${key}.other`;
  return t(chosen, { ...vars, n: formatNumber(n) });
}

export function formatNumber(n) {
  return new Intl.NumberFormat(locale()).format(n);
}

// The locale numbers and dates are written in: the browser's own when it is a variant of
// the language chosen (en-GB writes "1 December", en-US "December 1"), else the language.
export function locale() {
  const browser = navigator.language || "";
  return browser.toLowerCase().split("-")[0] === state.lang ? browser : state.lang;
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
  return formatDate(iso, { hour: "2-digit", minute: "2-digit" });
}

// A date (by default with the time too) in the person's language.
export function formatDate(iso, options = { dateStyle: "medium" }) {
  return new Intl.DateTimeFormat(locale(), options).format(new Date(iso));
}

export function formatDateTime(iso) {
  return formatDate(iso, { dateStyle: "medium", timeStyle: "short" });
}

// A day in the message list: "Today", "Yesterday", else the date in the person's
// language ("Selasa, 1 Desember"), with the year when it is not this year's.
export function formatDay(iso, now = new Date()) {
  const day = new Date(iso);
  const midnight = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const daysAgo = Math.round((midnight(now) - midnight(day)) / 86_400_000);
  if (daysAgo === 0) return t("day.today");
  if (daysAgo === 1) return t("day.yesterday");
  const options = { weekday: "long", day: "numeric", month: "long" };
  if (day.getFullYear() !== now.getFullYear()) options.year = "numeric";
  return new Intl.DateTimeFormat(locale(), options).format(day);
}

// The key of a day (local time) in the message list: a separator goes where it changes.
export function dayKey(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}
