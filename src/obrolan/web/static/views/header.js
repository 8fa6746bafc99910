// The bar across the top: a skip link, the connection state, the screens, notifications,
// language, sign out. It also keeps the page title and the app badge on the unread count.
import { html, screens, state } from "../core/state.js";
import { Component } from "../vendor/preact.mjs";
import { t } from "../core/i18n.js";
import { signOut } from "../chat/session.js";
import { closeRoom } from "../chat/rooms.js";
import { notifyState, toggleNotifications, showUnread, unreadTotal } from "../notify.js";
import { ICON, LanguagePicker, go } from "./common.js";

export function Header({ s }) {
  return html`
    <header class="top">
      <a class="skip-link" href="#main" onClick=${skipToMain} data-testid="skip-link">${t("a11y.skip")}</a>
      <h1 class="brand"><img src=${ICON} alt="" width="28" height="28" /><span class="brand-name">obrolan</span></h1>
      <span class=${`conn conn-${s.conn}`} role="status" aria-live="polite" data-testid="connection">${t(`conn.${s.conn}`)}</span>
      <span class="spacer"></span>
      <nav class="screens" aria-label=${t("nav.label")}>
        <button type="button" class="nav" aria-current=${s.screen === "chat" ? "page" : undefined}
          data-testid="nav-chat" onClick=${() => go("chat")}>${t("nav.chat")}</button>
        ${[...screens].map(([name, { label }]) => html`
          <button type="button" class="nav" key=${name} aria-current=${s.screen === name ? "page" : undefined}
            data-testid=${`nav-${name}`} onClick=${() => go(name)}>${t(label)}</button>`)}
      </nav>
      <span class="me" title=${t("auth.signedInAs", { name: s.me.username })}>${s.me.display_name}</span>
      <${NotifyButton} />
      <${LanguagePicker} s=${s} />
      <button type="button" class="signout" onClick=${signOut}>${t("auth.signOut")}</button>
      <${UnreadTitle} count=${unreadTotal(s)} />
    </header>`;
}

// The main content of whatever screen is shown: its visible <main>, else what follows
// the header (the chat list on a phone, before a chat is open).
function skipToMain(event) {
  event.preventDefault();
  const visible = (el) => el && el.getClientRects().length > 0;
  const target = [...document.querySelectorAll("main")].find(visible) ||
    document.querySelector(".app > .top")?.nextElementSibling?.querySelector("nav, section, main") ||
    document.querySelector(".app > .top")?.nextElementSibling;
  if (!target) return;
  if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
  target.focus();
}

// On a phone, where the open room fills the screen, Escape goes back to the chat list
// (as the ← button does) and puts the focus on the room just left.
const PHONE = window.matchMedia("(max-width: 700px)");
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || event.defaultPrevented || !PHONE.matches) return;
  if (!state.me || state.screen !== "chat" || !state.current) return;
  const index = state.rooms.findIndex((r) => r.id === state.current);
  closeRoom();
  document.querySelectorAll("[data-testid=room]")[Math.max(index, 0)]?.focus();
});

// Notifications on or off (a toggle); when the browser blocks them, says so instead.
function NotifyButton() {
  const now = notifyState();
  if (now === "unsupported") return null;
  const denied = now === "denied";
  return html`
    <button type="button" class=${`notify notify-${now}`} data-testid="notify" disabled=${denied}
      aria-pressed=${denied ? undefined : now === "on" ? "true" : "false"}
      title=${denied ? t("notify.deniedHint") : now === "on" ? t("notify.turnOff") : t("notify.turnOn")}
      onClick=${toggleNotifications}>
      <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
        <path d="M12 3a6 6 0 0 0-6 6v3.6L4.3 15.4A1 1 0 0 0 5.2 17h13.6a1 1 0 0 0 .9-1.6L18 12.6V9a6 6 0 0 0-6-6Zm-2.5 15a2.5 2.5 0 0 0 5 0Z" />
        ${now !== "on" && html`<path class="strike" d="M3 3 21 21" />`}
      </svg>
      <span class="notify-text">${denied ? t("notify.blocked") : t("notify.label")}</span>
    </button>`;
}

// Draws nothing: keeps the title "(N) obrolan" and the app badge on the unread total.
class UnreadTitle extends Component {
  componentDidMount() { showUnread(this.props.count); }
  componentDidUpdate() { showUnread(this.props.count); }
  render() { return null; }
}
