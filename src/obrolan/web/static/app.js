// obrolan's web client. No build step: ES modules, Preact and htm vendored by `make vendor`.
//
// One state object, changed only through update(), re-renders the whole tree (Preact
// diffs it). Forms are uncontrolled and read on submit. Message text only ever reaches
// the DOM as text: htm children are text nodes, and nothing here sets HTML.
import { h, render, Component } from "./vendor/preact.mjs";
import htm from "./vendor/htm.mjs";
import * as outbox from "./outbox.js";

const html = htm.bind(h);
const LANGUAGES = ["en", "id"];
const TOKEN_KEY = "obrolan.token";
const ME_KEY = "obrolan.me"; // who is signed in, so that the app opens offline too
const POSITION_KEY = "obrolan.position."; // + user id: the last stream position processed
const ROOM_KEY = "obrolan.room"; // in sessionStorage: the open room, kept across a reload
const LANG_COOKIE = "obrolan_lang";
const ICON = new URL("./icon.svg", import.meta.url).href;

const state = {
  lang: "en",
  dict: {},
  token: localStorage.getItem(TOKEN_KEY),
  me: null,
  sessionId: null,
  screen: "signin", // signin | signup | chat
  authError: null,
  busy: false,
  rooms: [],
  requests: [],
  users: {}, // user id → public profile
  peers: {}, // direct room id → the other person's user id
  marks: {}, // direct room id → the other person's {delivered, read} positions
  messages: {}, // room id → messages, oldest first; pending ones last
  current: null,
  directError: null,
  conn: "offline", // online | connecting | offline
  position: null, // the last stream position processed
};

let dictionaries = {};
let socket = null;
let socketReady = false;
let reconnectDelay = 500;
let requestSeq = 0;
let roomsLoaded = false; // the room list and the open room's history came over REST
const inflight = new Map(); // socket request id → pending message
// Messages not yet acknowledged, in the order typed; each is also in the outbox
// (IndexedDB) and shown as a waiting bubble. One is sent at a time, the next after the
// previous one's ack, so they are stored in the order typed.
let queue = [];

function update(patch) {
  Object.assign(state, patch);
  render(html`<${App} s=${state} />`, document.getElementById("app"));
}

// ---------- languages ----------

function t(key, vars = {}) {
  const text = state.dict[key] ?? dictionaries.en?.[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

function chooseLanguage() {
  const cookie = document.cookie.split("; ").find((c) => c.startsWith(`${LANG_COOKIE}=`));
  const chosen = cookie?.split("=")[1];
  if (LANGUAGES.includes(chosen)) return chosen;
  const browser = (navigator.language || "en").toLowerCase();
  return browser.startsWith("id") ? "id" : "en";
}

function setLanguage(lang) {
  document.cookie = `${LANG_COOKIE}=${lang}; path=/; max-age=31536000; samesite=lax`;
  document.documentElement.lang = lang;
  update({ lang, dict: dictionaries[lang] });
}

// ---------- the REST API ----------

class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { detail: t("error.network") });
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    if (response.status === 401 && state.token && path !== "/sessions") signedOut();
    throw new ApiError(response.status, data);
  }
  return data;
}

// ---------- signing in and out ----------

async function signIn(username, password) {
  const deviceKey = `obrolan.device.${username.toLowerCase()}`;
  const body = { username, password, device_name: "Web browser" };
  const deviceToken = localStorage.getItem(deviceKey);
  if (deviceToken) body.device_token = deviceToken;
  const answer = await api("POST", "/sessions", body);
  localStorage.setItem(TOKEN_KEY, answer.token);
  if (answer.device_token) localStorage.setItem(deviceKey, answer.device_token);
  state.token = answer.token;
  startChat(answer.user);
}

async function submitAuth(event) {
  event.preventDefault();
  const form = event.currentTarget.elements;
  const username = form.username.value.trim();
  const password = form.password.value;
  update({ busy: true, authError: null });
  try {
    if (state.screen === "signup") {
      await api("POST", "/accounts", {
        username,
        password,
        display_name: form.display_name.value.trim(),
      });
    }
    await signIn(username, password);
  } catch (error) {
    update({ authError: error.message });
  } finally {
    update({ busy: false });
  }
}

async function signOut() {
  if (state.me) await outbox.clear(state.me.id).catch(() => {});
  try {
    await api("DELETE", "/sessions/current");
  } catch {
    // Signed out here all the same; the session ends by itself when it expires.
  }
  signedOut();
}

function signedOut() {
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(ME_KEY);
  if (state.me) localStorage.removeItem(POSITION_KEY + state.me.id);
  sessionStorage.removeItem(ROOM_KEY);
  const old = socket;
  socket = null;
  socketReady = false;
  old?.close();
  inflight.clear();
  queue = [];
  roomsLoaded = false;
  update({
    token: null, me: null, sessionId: null, screen: "signin", rooms: [], requests: [],
    messages: {}, current: null, conn: "offline", position: null, peers: {}, marks: {},
  });
}

function startChat(me) {
  const { id, username, display_name } = me;
  localStorage.setItem(ME_KEY, JSON.stringify({ id, username, display_name }));
  const kept = Number(localStorage.getItem(POSITION_KEY + id));
  update({
    me, screen: "chat", authError: null, users: { ...state.users, [me.id]: me },
    position: kept > 0 ? kept : null, current: sessionStorage.getItem(ROOM_KEY),
  });
  // What was typed and not yet sent, from before a reload or a closed tab.
  outbox.pending(id).then((entries) => {
    for (const entry of entries) {
      if (queue.some((p) => p.client_msg_id === entry.client_msg_id)) continue;
      const bubble = toBubble(entry);
      queue.push(bubble);
      if (state.messages[bubble.room_id]) upsert(bubble);
    }
    queue.sort((a, b) => a.typed - b.typed); // also behind any typed before they were read
    update({});
    pump();
  }).catch(() => {});
  connect();
}

function setPosition(position) {
  state.position = position;
  if (position == null) localStorage.removeItem(POSITION_KEY + state.me.id);
  else localStorage.setItem(POSITION_KEY + state.me.id, String(position));
}

// ---------- rooms ----------

async function loadRooms() {
  const answer = await api("GET", "/rooms");
  update({ rooms: answer.rooms, requests: answer.requests });
  for (const request of answer.requests) remember(request.sender);
  await Promise.all(answer.rooms.filter((r) => r.kind === "direct").map(loadDirectPeer));
}

function remember(profile) {
  if (profile) update({ users: { ...state.users, [profile.id]: profile } });
}

async function loadDirectPeer(room) {
  const { members } = await api("GET", `/rooms/${room.id}/members`);
  const peer = members.find((m) => m.user_id !== state.me.id);
  if (!peer) return; // a request the other person has not accepted: they are not listed
  state.peers[room.id] = peer.user_id;
  setMarks(room.id, peer.delivered_up_to, peer.read_up_to);
  if (!state.users[peer.user_id]) remember(await api("GET", `/users/${peer.user_id}`));
  else update({});
}

function setMarks(roomId, delivered, read) {
  const old = state.marks[roomId] || { delivered: 0, read: 0 };
  state.marks[roomId] = {
    delivered: Math.max(old.delivered, delivered || 0, read || 0),
    read: Math.max(old.read, read || 0),
  };
}

function roomName(room) {
  if (room.name) return room.name;
  if (room.kind === "direct") {
    const peer = state.users[state.peers[room.id]];
    return peer ? peer.display_name : t("rooms.direct");
  }
  return t("rooms.group");
}

async function openDirect(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const username = form.elements.username.value.trim();
  if (!username) return;
  update({ directError: null });
  try {
    const person = await api("GET", `/users?username=${encodeURIComponent(username)}`);
    remember(person);
    const room = await api("POST", "/rooms/direct", { user_id: person.id });
    state.peers[room.id] = person.id;
    form.reset();
    await loadRooms();
    await openRoom(room.id);
  } catch (error) {
    update({ directError: error.message });
  }
}

async function answerRequest(roomId, accept) {
  await api("POST", `/rooms/${roomId}/${accept ? "accept" : "decline"}`);
  await loadRooms();
  if (accept) await openRoom(roomId);
}

async function openRoom(roomId) {
  sessionStorage.setItem(ROOM_KEY, roomId);
  // Events that arrive while the history loads are kept, and merged with it.
  state.messages[roomId] ||= [];
  update({ current: roomId });
  const { messages } = await api("GET", `/rooms/${roomId}/messages?limit=100`);
  // Merged by id with what the socket delivered meanwhile: nothing twice, nothing lost.
  const pending = queue.filter((m) => m.room_id === roomId);
  for (const message of [...messages, ...pending]) upsert(message);
  markRead(roomId);
  update({});
}

function closeRoom() {
  sessionStorage.removeItem(ROOM_KEY);
  update({ current: null });
}

// Read receipts: what the person has on screen is read, what reached the device delivered.
function markRead(roomId) {
  if (roomId !== state.current || document.visibilityState !== "visible") return;
  const last = lastPosition(roomId);
  const room = state.rooms.find((r) => r.id === roomId);
  if (!last || !room || (room.read_up_to || 0) >= last) return;
  room.read_up_to = last;
  room.unread = 0;
  sendReceipt(roomId, { read_up_to: last });
  update({});
}

function lastPosition(roomId) {
  const confirmed = (state.messages[roomId] || []).filter((m) => m.position);
  return confirmed.length ? confirmed[confirmed.length - 1].position : 0;
}

function sendReceipt(roomId, markers) {
  if (socketReady) socket.send(JSON.stringify({ type: "receipt", room_id: roomId, ...markers }));
  else api("POST", `/rooms/${roomId}/receipts`, markers).catch(() => {});
}

// Back on the network: reconnect now rather than at the end of the back-off.
window.addEventListener("online", () => {
  reconnectDelay = 500;
  connect();
});

// Off the network: an open socket may not notice for a long while, so close it now; the
// outbox keeps what is typed until the connection is back.
window.addEventListener("offline", () => {
  const old = socket;
  if (!old) return;
  lost(old);
  old.close();
});

document.addEventListener("visibilitychange", () => state.current && markRead(state.current));

// ---------- messages ----------

function upsert(message) {
  const list = (state.messages[message.room_id] || []).filter(
    (m) =>
      m.id !== message.id &&
      !(m.pending && m.client_msg_id === message.client_msg_id && message.sender_id === state.me.id),
  );
  if (message.position != null || message.pending) list.push(message);
  // Confirmed messages in stream order; those still on their way after them.
  list.sort((a, b) => (a.position ?? Infinity) - (b.position ?? Infinity));
  state.messages[message.room_id] = list;
}

function randomId() {
  // crypto.randomUUID needs a secure context; a server reached over plain HTTP is not one.
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function toBubble(entry) {
  return {
    id: `pending-${entry.client_msg_id}`, client_msg_id: entry.client_msg_id, room_id: entry.room_id,
    sender_id: entry.user_id, body: entry.body, typed: entry.typed, pending: true,
    failed: entry.failed || null, created_at: new Date(entry.typed).toISOString(),
  };
}

function toEntry(bubble) {
  const { client_msg_id, room_id, sender_id, body, typed, failed } = bubble;
  return { client_msg_id, user_id: sender_id, room_id, body, typed, failed };
}

async function submitMessage(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const body = form.elements.body.value;
  if (!body.trim() || !state.current) return;
  form.reset();
  const bubble = toBubble({
    client_msg_id: randomId(), user_id: state.me.id, room_id: state.current, body, typed: outbox.nextTyped(),
  });
  queue.push(bubble);
  upsert(bubble);
  update({});
  // Kept before it is sent: a message typed is never only in memory.
  await outbox.put(toEntry(bubble)).catch(() => {});
  pump();
}

// Sends the first message of the queue that is not refused, if the socket is up and
// nothing is in flight.
function pump() {
  if (!socketReady || inflight.size > 0 || !navigator.onLine) return;
  const next = queue.find((m) => !m.failed);
  if (!next) return;
  const id = `send-${++requestSeq}`;
  inflight.set(id, next);
  socket.send(JSON.stringify({
    type: "send", id, room_id: next.room_id, client_msg_id: next.client_msg_id, body: next.body,
  }));
}

// The server has it (an ack, or its own event): out of the outbox, the bubble is the message.
function delivered(clientMsgId, roomId) {
  const before = queue.length;
  queue = queue.filter((m) => !(m.client_msg_id === clientMsgId && m.room_id === roomId));
  if (queue.length !== before) outbox.remove(clientMsgId).catch(() => {});
}

function refused(bubble, reason) {
  bubble.failed = reason;
  outbox.put(toEntry(bubble)).catch(() => {});
  update({});
}

function retry(bubble) {
  bubble.failed = null;
  outbox.put(toEntry(bubble)).catch(() => {});
  update({});
  pump();
}

// A refused message goes back into the composer to be changed, and out of the outbox.
function editFailed(bubble) {
  queue = queue.filter((m) => m !== bubble);
  outbox.remove(bubble.client_msg_id).catch(() => {});
  state.messages[bubble.room_id] = (state.messages[bubble.room_id] || []).filter((m) => m !== bubble);
  update({});
  const textarea = document.querySelector("[data-testid=composer] textarea");
  if (textarea) {
    textarea.value = bubble.body;
    textarea.focus();
  }
}

// ---------- the socket ----------

function connect() {
  if (!state.token || socket) return;
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  socket = ws;
  update({ conn: "connecting" });
  ws.onopen = () => {
    const hello = { type: "hello", token: state.token };
    if (state.position != null) hello.since = state.position;
    ws.send(JSON.stringify(hello));
  };
  ws.onmessage = (event) => onFrame(JSON.parse(event.data));
  ws.onclose = (event) => {
    if (socket !== ws) return;
    if (event.code === 4401) return signedOut();
    lost(ws);
  };
}

// The socket is gone (closed, failed, or the browser went offline): say so, and try
// again with a growing back-off (the "online" event cuts it short).
function lost(ws) {
  if (socket !== ws) return;
  socket = null;
  socketReady = false;
  // A send without an answer stays in the queue and goes again on the next socket:
  // the same client_msg_id is never stored twice.
  inflight.clear();
  update({ conn: "offline" });
  setTimeout(connect, reconnectDelay);
  reconnectDelay = Math.min(reconnectDelay * 2, 15000);
}

function onFrame(frame) {
  switch (frame.type) {
    case "ready": {
      socketReady = true;
      reconnectDelay = 500;
      if (state.position == null) setPosition(frame.position);
      update({ conn: "online", sessionId: frame.session_id });
      // The rooms and history come over REST once per page, after the socket is
      // registered so that nothing falls between the two; the replay after `since`
      // overlaps with them, and messages are merged by id.
      if (!roomsLoaded) {
        roomsLoaded = true;
        loadRooms().then(() => state.current && openRoom(state.current)).catch(() => { roomsLoaded = false; });
      }
      pump();
      break;
    }
    case "event":
      if (state.position != null && frame.position <= state.position) return;
      setPosition(frame.position);
      onEvent(frame);
      update({});
      break;
    case "ack": {
      const pending = inflight.get(frame.id);
      inflight.delete(frame.id);
      if (pending) {
        delivered(pending.client_msg_id, pending.room_id);
        if (state.messages[pending.room_id]) upsert(frame.message);
        update({});
      }
      pump();
      break;
    }
    case "error": {
      const pending = inflight.get(frame.id);
      inflight.delete(frame.id);
      if (pending) refused(pending, frame.error.detail || frame.error.title);
      if (frame.error?.type?.endsWith("since-ahead")) {
        // The server will not replay from there: the next socket starts over from REST.
        setPosition(null);
        roomsLoaded = false;
      }
      pump();
      break;
    }
    default:
      break; // typing, presence and pong are not shown yet
  }
}

function onEvent(event) {
  const { kind, data, room_id: roomId } = event;
  if (kind.startsWith("message.")) {
    const known = state.rooms.find((r) => r.id === roomId);
    if (!known) { loadRooms().catch(() => {}); return; }
    if (kind === "message.created" && data.sender_id === state.me.id) delivered(data.client_msg_id, roomId);
    if (state.messages[roomId]) upsert(data);
    if (kind === "message.created" && data.sender_id !== state.me.id) {
      sendReceipt(roomId, { delivered_up_to: data.position });
      if (roomId === state.current && document.visibilityState === "visible") markRead(roomId);
      else known.unread = (known.unread || 0) + 1;
    }
  } else if (kind === "receipt") {
    if (data.user_id !== state.me.id) setMarks(roomId, data.delivered_up_to, data.read_up_to);
  } else if (kind === "session.revoked") {
    if (data.session_id === state.sessionId) signedOut();
  } else if (["membership", "room.updated", "room.removed"].includes(kind)) {
    loadRooms().catch(() => {});
  }
}

// ---------- views ----------

function App({ s }) {
  if (s.screen !== "chat") return html`<${AuthScreen} s=${s} />`;
  return html`
    <div class=${`app ${s.current ? "has-room" : ""}`}>
      <${Header} s=${s} />
      <div class="panes">
        <${Sidebar} s=${s} />
        <${RoomView} s=${s} />
      </div>
    </div>`;
}

function LanguagePicker({ s }) {
  return html`
    <label class="lang">
      <span class="visually-hidden">${t("lang.label")}</span>
      <select aria-label=${t("lang.label")} onChange=${(e) => setLanguage(e.currentTarget.value)}>
        <option value="en" selected=${s.lang === "en"}>English</option>
        <option value="id" selected=${s.lang === "id"}>Bahasa Indonesia</option>
      </select>
    </label>`;
}

function AuthScreen({ s }) {
  const signup = s.screen === "signup";
  return html`
    <main class="auth">
      <div class="auth-card">
        <div class="brand"><img src=${ICON} alt="" width="40" height="40" /><h1>obrolan</h1></div>
        <p class="tagline">${t("app.tagline")}</p>
        <form class="stack" onSubmit=${submitAuth} data-testid=${signup ? "signup" : "signin"}>
          <h2>${signup ? t("auth.signUp") : t("auth.signIn")}</h2>
          <label>${t("auth.username")}
            <input name="username" autocomplete="username" required minlength="3" maxlength=${signup ? 32 : 254}
              autocapitalize="none" spellcheck="false" />
            ${signup && html`<small>${t("auth.usernameHint")}</small>`}
          </label>
          ${signup && html`
            <label>${t("auth.displayName")}
              <input name="display_name" autocomplete="name" required maxlength="64" />
            </label>`}
          <label>${t("auth.password")}
            <input name="password" type="password" required autocomplete=${signup ? "new-password" : "current-password"}
              minlength=${signup ? 10 : 1} maxlength="200" />
            ${signup && html`<small>${t("auth.passwordHint")}</small>`}
          </label>
          ${s.authError && html`<p class="error" role="alert">${s.authError}</p>`}
          <button class="primary" type="submit" disabled=${s.busy}>${signup ? t("auth.signUp") : t("auth.signIn")}</button>
        </form>
        <button class="link" type="button" onClick=${() => update({ screen: signup ? "signin" : "signup", authError: null })}>
          ${signup ? t("auth.toSignIn") : t("auth.toSignUp")}
        </button>
        <${LanguagePicker} s=${s} />
      </div>
    </main>`;
}

function Header({ s }) {
  return html`
    <header class="top">
      <div class="brand"><img src=${ICON} alt="" width="28" height="28" /><span>obrolan</span></div>
      <span class=${`conn conn-${s.conn}`} role="status" data-testid="connection">${t(`conn.${s.conn}`)}</span>
      <span class="spacer"></span>
      <span class="me" title=${t("auth.signedInAs", { name: s.me.username })}>${s.me.display_name}</span>
      <${LanguagePicker} s=${s} />
      <button type="button" onClick=${signOut}>${t("auth.signOut")}</button>
    </header>`;
}

function Sidebar({ s }) {
  return html`
    <nav class="sidebar" aria-label=${t("rooms.title")}>
      <form class="new-chat" onSubmit=${openDirect} data-testid="new-chat">
        <label for="direct-username">${t("direct.title")}</label>
        <div class="row">
          <input id="direct-username" name="username" placeholder=${t("direct.username")} autocapitalize="none"
            spellcheck="false" maxlength="32" required />
          <button type="submit">${t("direct.open")}</button>
        </div>
        ${s.directError && html`<p class="error" role="alert">${s.directError}</p>`}
      </form>
      ${s.requests.length > 0 && html`
        <section class="requests" aria-label=${t("rooms.requests")}>
          <h2>${t("rooms.requests")}</h2>
          <ul>${s.requests.map((r) => html`
            <li key=${r.id} class="request" data-testid="request">
              <span>${t("rooms.requestFrom", { name: r.sender?.display_name || t("rooms.direct") })}</span>
              <div class="row">
                <button class="primary" type="button" onClick=${() => answerRequest(r.id, true)}>${t("rooms.accept")}</button>
                <button type="button" onClick=${() => answerRequest(r.id, false)}>${t("rooms.decline")}</button>
              </div>
            </li>`)}
          </ul>
        </section>`}
      <h2>${t("rooms.title")}</h2>
      ${s.rooms.length === 0 && html`<p class="muted">${t("rooms.empty")}</p>`}
      <ul class="rooms">${s.rooms.map((room) => html`
        <li key=${room.id}>
          <button type="button" class=${`room ${room.id === s.current ? "current" : ""}`} data-testid="room"
            aria-current=${room.id === s.current ? "page" : undefined} onClick=${() => openRoom(room.id)}>
            <span class="avatar" aria-hidden="true">${initial(roomName(room))}</span>
            <span class="room-name">${roomName(room)}</span>
            ${room.unread > 0 && html`<span class="badge" aria-label=${t("rooms.unread", { n: room.unread })}>${room.unread}</span>`}
          </button>
        </li>`)}
      </ul>
    </nav>`;
}

function initial(name) {
  return (name || "?").trim().charAt(0).toUpperCase();
}

function RoomView({ s }) {
  const room = s.rooms.find((r) => r.id === s.current);
  if (!room) return html`<main class="room-view empty"><p class="muted">${t("chat.pick")}</p></main>`;
  const messages = s.messages[room.id] || [];
  return html`
    <main class="room-view" aria-label=${roomName(room)}>
      <div class="room-head">
        <button type="button" class="back" onClick=${closeRoom} aria-label=${t("chat.back")}>←</button>
        <span class="avatar" aria-hidden="true">${initial(roomName(room))}</span>
        <h2>${roomName(room)}</h2>
      </div>
      <${MessageList} s=${s} room=${room} messages=${messages} />
      <form class="composer" onSubmit=${submitMessage} data-testid="composer">
        <textarea name="body" rows="1" placeholder=${t("chat.placeholder")} aria-label=${t("chat.placeholder")}
          maxlength="4000" onKeyDown=${sendOnEnter}></textarea>
        <button class="primary" type="submit">${t("chat.send")}</button>
      </form>
    </main>`;
}

function sendOnEnter(event) {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    event.currentTarget.form.requestSubmit();
  }
}

class MessageList extends Component {
  componentDidMount() { this.stick(); }
  componentDidUpdate() { this.stick(); }
  stick() { if (this.base) this.base.scrollTop = this.base.scrollHeight; }
  render({ s, room, messages }) {
    return html`
      <ol class="messages" aria-label=${t("chat.messages")} aria-live="polite" data-testid="messages">
        ${messages.length === 0 && html`<li class="muted centre">${t("chat.empty")}</li>`}
        ${messages.map((m) => html`<${Bubble} key=${m.client_msg_id || m.id} s=${s} room=${room} m=${m} />`)}
      </ol>`;
  }
}

function Bubble({ s, room, m }) {
  const mine = m.sender_id === s.me.id;
  const sender = mine ? t("chat.you") : s.users[m.sender_id]?.display_name || "";
  const status = mine ? tick(room, m) : null;
  return html`
    <li class=${`bubble ${mine ? "mine" : "theirs"} ${m.pending ? "pending" : ""} ${m.failed ? "failed" : ""}`}
      data-testid="message" data-client-msg-id=${m.client_msg_id} data-status=${status}>
      ${room.kind !== "direct" && !mine && html`<span class="sender">${sender}</span>`}
      <p class="body">${m.deleted ? "—" : m.body}</p>
      <span class="meta">
        ${m.created_at && html`<time datetime=${m.created_at}>${formatTime(m.created_at)}</time>`}
        ${status && html`<span class=${`tick tick-${status}`} title=${tickLabel(status)} aria-label=${tickLabel(status)}>
          ${status === "pending" ? "○" : status === "sent" ? "✓" : "✓✓"}</span>`}
      </span>
      ${m.failed && html`
        <span class="failure" role="alert">${t("chat.failed", { reason: m.failed })}
          <button type="button" class="link" onClick=${() => retry(m)}>${t("chat.retry")}</button>
          <button type="button" class="link" onClick=${() => editFailed(m)}>${t("chat.edit")}</button></span>`}
    </li>`;
}

function tick(room, m) {
  if (m.pending) return m.failed ? "failed" : "pending";
  if (room.kind !== "direct") return null;
  const marks = state.marks[room.id] || { delivered: 0, read: 0 };
  if (marks.read >= m.position || m.status === "read") return "read";
  if (marks.delivered >= m.position || m.status === "delivered") return "delivered";
  return "sent";
}

function tickLabel(status) {
  return status === "pending" || status === "failed" ? t("chat.sending") : t(`status.${status}`);
}

function formatTime(iso) {
  return new Intl.DateTimeFormat(state.lang, { hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
}

// ---------- start ----------

async function start() {
  const [en, id] = await Promise.all(
    LANGUAGES.map((lang) => fetch(new URL(`./i18n/${lang}.json`, import.meta.url)).then((r) => r.json())),
  );
  dictionaries = { en, id };
  const lang = chooseLanguage();
  document.documentElement.lang = lang;
  update({ lang, dict: dictionaries[lang] });
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
  if (state.token) {
    try {
      startChat(await api("GET", "/me"));
    } catch (error) {
      // A 401 signed us out already. Without a network, open as who was signed in: the
      // socket keeps trying and the header says the app is offline.
      const known = localStorage.getItem(ME_KEY);
      if (error.status === 0 && known) startChat(JSON.parse(known));
    }
  }
}

start();
