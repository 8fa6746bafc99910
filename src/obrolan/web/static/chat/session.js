// Signing in and out, and what the client keeps of who is signed in.
import { state, update, emit } from "../core/state.js";
import { api, whenUnauthorised } from "../core/api.js";
import { t } from "../core/i18n.js";
import * as outbox from "./outbox.js";
import * as snapshot from "./snapshot.js";
import { connect, disconnect } from "./socket.js";
import { restoreOutbox, resetMessages } from "./messages.js";

const TOKEN_KEY = "obrolan.token";
const ME_KEY = "obrolan.me"; // who is signed in, so that the app opens offline too
const POSITION_KEY = "obrolan.position."; // + user id: the last stream position processed
export const ROOM_KEY = "obrolan.room"; // in sessionStorage: the open room, kept across a reload

whenUnauthorised(() => signedOut());

export async function signIn(username, password, totpCode) {
  const deviceKey = `obrolan.device.${username.toLowerCase()}`;
  const body = { username, password, device_name: "Web browser" };
  if (totpCode) body.totp_code = totpCode;
  const deviceToken = localStorage.getItem(deviceKey);
  if (deviceToken) body.device_token = deviceToken;
  const answer = await api("POST", "/sessions", body);
  localStorage.setItem(TOKEN_KEY, answer.token);
  if (answer.device_token) localStorage.setItem(deviceKey, answer.device_token);
  state.token = answer.token;
  startChat(answer.user);
}

export async function submitAuth(event) {
  event.preventDefault();
  const form = event.currentTarget.elements;
  const username = form.username.value.trim();
  const password = form.password.value;
  // Two-step sign-in: the code field appears once the server asks for it.
  const totpCode = form.totp_code ? form.totp_code.value.replace(/\s/g, "") : "";
  update({ busy: true, authError: null });
  try {
    if (state.screen === "signup") {
      await api("POST", "/accounts", {
        username,
        password,
        display_name: form.display_name.value.trim(),
      });
    }
    await signIn(username, password, totpCode);
    update({ authTotp: false });
  } catch (error) {
    const type = error.problem?.type || "";
    if (type.endsWith("/totp-required")) update({ authTotp: true, screen: "signin" });
    else if (type.endsWith("/totp-invalid")) update({ authTotp: true, authError: t("auth.totpInvalid") });
    else update({ authError: error.message });
    // The code field has just appeared (rendering is synchronous): the cursor goes there.
    if (state.authTotp) document.querySelector("[name=totp_code]")?.focus();
  } finally {
    update({ busy: false });
  }
}

export async function signOut() {
  if (state.me) await outbox.clear(state.me.id).catch(() => {});
  if (state.me) await snapshot.forget(state.me.id);
  try {
    await api("DELETE", "/sessions/current");
  } catch {
    // Signed out here all the same; the session ends by itself when it expires.
  }
  signedOut();
}

// Sign out everywhere: every session of mine ends, this one too, and every socket of
// mine is closed. Unlike signing out here, it must reach the server: errors are thrown.
export async function signOutEverywhere() {
  const me = state.me;
  await api("DELETE", "/sessions");
  if (me) await outbox.clear(me.id).catch(() => {});
  if (me) await snapshot.forget(me.id);
  if (state.token) signedOut(); // unless the socket's 4401 signed out first
}

export function signedOut() {
  // Also when the session ended while the app was closed (no one is signed in yet).
  snapshot.forget(state.me?.id || knownMe()?.id);
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(ME_KEY);
  if (state.me) localStorage.removeItem(POSITION_KEY + state.me.id);
  sessionStorage.removeItem(ROOM_KEY);
  disconnect();
  resetMessages();
  update({
    token: null, me: null, sessionId: null, screen: "signin", rooms: [], requests: [],
    messages: {}, current: null, conn: "offline", position: null, peers: {}, marks: {},
    authTotp: false,
  });
  emit("signedOut");
}

export function startChat(me) {
  const { id, username, display_name } = me;
  localStorage.setItem(ME_KEY, JSON.stringify({ id, username, display_name }));
  const kept = Number(localStorage.getItem(POSITION_KEY + id));
  update({
    me, screen: "chat", authError: null, users: { ...state.users, [me.id]: me },
    position: kept > 0 ? kept : null, current: sessionStorage.getItem(ROOM_KEY),
  });
  // The last state first (shown before the network answers), then what waits to be sent.
  snapshot.forgetOthers(id);
  snapshot.restore(id).finally(() => restoreOutbox(id));
  connect();
  emit("signedIn", me);
}

// Opening the page: the session kept from last time, if there is one.
export async function resume() {
  if (!state.token) return;
  try {
    startChat(await api("GET", "/me"));
  } catch (error) {
    // A 401 signed us out already. Without a network, open as who was signed in: the
    // socket keeps trying and the header says the app is offline.
    const known = knownMe();
    if (error.status === 0 && known) startChat(known);
  }
}

function knownMe() {
  try {
    return JSON.parse(localStorage.getItem(ME_KEY));
  } catch {
    return null;
  }
}

export function setPosition(position) {
  state.position = position;
  if (position == null) localStorage.removeItem(POSITION_KEY + state.me.id);
  else localStorage.setItem(POSITION_KEY + state.me.id, String(position));
}
