// Notifications while the tab is hidden, and the unread count in the title and app badge.
//
// Off until the person turns them on from the header: the browser's permission is asked
// on that click only, never by itself. While the tab is hidden, the first new message
// from someone else in a room shows one notification, tagged with the room id (so that
// it replaces an older one of the same room); further messages of that room add none
// until the person has looked at the tab again. Clicking it brings the tab forward and
// opens the room. Nothing here is called by the socket code: it listens with on().
import { state, update, on } from "./core/state.js";
import { t, formatNumber } from "./core/i18n.js";
import { api } from "./core/api.js";
import { openRoom, roomName, remember } from "./chat/rooms.js";

const CHOICE_KEY = "obrolan.notify"; // "on" once turned on; removed when turned off
const PREVIEW = 120; // characters of the message shown in the notification

const shown = new Map(); // room id → the notification shown for it in this hidden spell

export function notificationsSupported() {
  return typeof window.Notification === "function";
}

// "unsupported" | "denied" (the browser refuses) | "on" | "off"
export function notifyState() {
  if (!notificationsSupported()) return "unsupported";
  if (Notification.permission === "denied") return "denied";
  if (Notification.permission === "granted" && localStorage.getItem(CHOICE_KEY) === "on") return "on";
  return "off";
}

// The header's control: turn on (asking the browser the first time), or off.
export async function toggleNotifications() {
  if (notifyState() === "on") {
    localStorage.removeItem(CHOICE_KEY);
  } else if (notificationsSupported()) {
    const answer = Notification.permission === "granted" ? "granted" : await Notification.requestPermission();
    if (answer === "granted") localStorage.setItem(CHOICE_KEY, "on");
  }
  update({}); // the header redraws the control from notifyState()
}

on("event", (event) => {
  if (event.kind !== "message.created" || !state.me) return;
  const message = event.data;
  if (message.sender_id === state.me.id || document.visibilityState !== "hidden") return;
  if (notifyState() !== "on" || shown.has(event.room_id)) return;
  shown.set(event.room_id, null); // taken at once: the burst's next messages add none
  senderName(message.sender_id).then((sender) => show(event.room_id, sender, message.body || ""));
});

// The sender's display name; someone not met yet (in a group) is looked up once.
async function senderName(userId) {
  if (!state.users[userId]) {
    try {
      remember(await api("GET", `/users/${userId}`));
    } catch {
      // Shown as "Someone": the notification matters more than the name.
    }
  }
  return state.users[userId]?.display_name || t("notify.someone");
}

function show(roomId, sender, body) {
  if (!shown.has(roomId) || document.visibilityState !== "hidden") return; // looked meanwhile
  const room = state.rooms.find((r) => r.id === roomId);
  const text = body.replace(/\s+/g, " ").trim();
  const preview = text.length > PREVIEW ? `${text.slice(0, PREVIEW - 1)}…` : text;
  try {
    const notification = new Notification(room ? roomName(room) : "obrolan", {
      body: `${sender}: ${preview}`,
      tag: roomId,
      lang: state.lang,
      icon: new URL("./icon.svg", import.meta.url).href,
    });
    notification.onclick = () => {
      window.focus();
      notification.close();
      openRoom(roomId).catch(() => {});
    };
    shown.set(roomId, notification);
  } catch {
    // Android's Chrome only shows notifications from a service worker: none there.
  }
}

// Looking at the tab again: the shown notifications have done their work.
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState !== "visible") return;
  for (const notification of shown.values()) notification?.close();
  shown.clear();
});

on("signedOut", () => {
  for (const notification of shown.values()) notification?.close();
  shown.clear();
  showUnread(0);
});

// ---------- the unread count: "(3) obrolan" and the app's badge ----------

let lastCount = null;

export function unreadTotal(s) {
  return s.rooms.reduce((sum, room) => sum + (room.unread || 0), 0);
}

export function showUnread(count) {
  if (count === lastCount) return;
  lastCount = count;
  document.title = count > 0 ? `(${formatNumber(count)}) obrolan` : "obrolan";
  if (count > 0) navigator.setAppBadge?.(count).catch(() => {});
  else navigator.clearAppBadge?.().catch(() => {});
}
