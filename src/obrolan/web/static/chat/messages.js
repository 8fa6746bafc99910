// Messages: the optimistic bubble, the durable outbox, one send in flight at a time;
// earlier history page by page; replies, edits, deletions and reactions; typing and
// presence (asked for once per socket, then kept current by live frames).
//
// Messages not yet acknowledged are kept in the order typed; each is also in the outbox
// (IndexedDB) and shown as a waiting bubble. One is sent at a time, the next after the
// previous one's ack, so they are stored in the order typed. A send that fails for a
// passing reason (a fault of the server's, too many requests, no network) is sent again
// after a back-off; one the server refuses (blocked, not a member, too long) waits for
// the person: Retry or Edit.
import { state, update, on } from "../core/state.js";
import { api } from "../core/api.js";
import * as outbox from "./outbox.js";
import { sendFrame, socketIsReady } from "./socket.js";

let queue = [];
let requestSeq = 0;
const inflight = new Map(); // socket request id → pending message

export function upsert(message) {
  const list = state.messages[message.room_id] || [];
  const previous = message.id ? list.find((m) => m.id === message.id) : null;
  if (previous && !message.pending) {
    // Events carry the message without its reactions or tick; keep what is known.
    message = { ...message };
    if (!("reactions" in message)) message.reactions = message.deleted ? {} : previous.reactions;
    if (!("status" in message) && previous.status) message.status = previous.status;
  }
  const kept = list.filter(
    (m) =>
      m.id !== message.id &&
      !(m.pending && m.client_msg_id === message.client_msg_id && message.sender_id === state.me.id),
  );
  if (message.position != null || message.pending) kept.push(message);
  // Confirmed messages in stream order; those still on their way after them.
  kept.sort((a, b) => (a.position ?? Infinity) - (b.position ?? Infinity));
  state.messages[message.room_id] = kept;
}

/** An edit or a deletion of a message: changes it where it is shown, never adds one. */
export function replace(message) {
  if ((state.messages[message.room_id] || []).some((m) => m.id === message.id)) upsert(message);
}

export function pendingIn(roomId) {
  return queue.filter((m) => m.room_id === roomId);
}

function randomId() {
  // crypto.randomUUID needs a secure context; a server reached over plain HTTP is not one.
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function toBubble(entry) {
  return {
    id: `pending-${entry.client_msg_id}`, client_msg_id: entry.client_msg_id, room_id: entry.room_id,
    sender_id: entry.user_id, body: entry.body, reply_to: entry.reply_to || null, typed: entry.typed,
    pending: true, failed: entry.failed || null, created_at: new Date(entry.typed).toISOString(),
  };
}

function toEntry(bubble) {
  const { client_msg_id, room_id, sender_id, body, reply_to, typed, failed } = bubble;
  return { client_msg_id, user_id: sender_id, room_id, body, reply_to, typed, failed };
}

// What was typed and not yet sent, from before a reload or a closed tab.
export function restoreOutbox(userId) {
  outbox.pending(userId).then((entries) => {
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
}

export function resetMessages() {
  inflight.clear();
  queue = [];
  history.clear();
  replying.clear();
  typing.clear();
  presence.clear();
  presenceLive.clear();
  presenceSocketLost();
  clearTimeout(holdTimer);
  holdUntil = 0;
  backoff = 0;
}

// ---------- sending ----------

let ownSend = false; // the person just sent: the list scrolls down to it

/** True once after the person sent a message. */
export function takeOwnSend() {
  const was = ownSend;
  ownSend = false;
  return was;
}

export async function submitMessage(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const body = form.elements.body.value;
  if (!body.trim() || !state.current) return;
  form.reset();
  const roomId = state.current;
  const replyTo = replying.get(roomId)?.id || null;
  replying.delete(roomId);
  stopTyping(roomId);
  await sendMessage(roomId, body, replyTo);
}

/** A message of the person's, as a reply when replyTo is a message id: shown at once,
 * kept in the outbox, sent in turn. */
export async function sendMessage(roomId, body, replyTo = null) {
  const bubble = toBubble({
    client_msg_id: randomId(), user_id: state.me.id, room_id: roomId, body,
    reply_to: replyTo, typed: outbox.nextTyped(),
  });
  queue.push(bubble);
  upsert(bubble);
  ownSend = true;
  update({});
  // Kept before it is sent: a message typed is never only in memory.
  await outbox.put(toEntry(bubble)).catch(() => {});
  pump();
}

// Sends the first message of the queue that is not refused, if the socket is up,
// nothing is in flight and no back-off is running.
export function pump() {
  if (!socketIsReady() || inflight.size > 0 || !navigator.onLine || Date.now() < holdUntil) return;
  const next = queue.find((m) => !m.failed);
  if (!next) return;
  const id = `send-${++requestSeq}`;
  inflight.set(id, next);
  const frame = { type: "send", id, room_id: next.room_id, client_msg_id: next.client_msg_id, body: next.body };
  if (next.reply_to) frame.reply_to = next.reply_to;
  sendFrame(frame);
}

// The server has it (an ack, or its own event): out of the outbox, the bubble is the message.
export function delivered(clientMsgId, roomId) {
  const before = queue.length;
  queue = queue.filter((m) => !(m.client_msg_id === clientMsgId && m.room_id === roomId));
  if (queue.length !== before) outbox.remove(clientMsgId).catch(() => {});
}

export function onAck(frame) {
  const pending = inflight.get(frame.id);
  inflight.delete(frame.id);
  if (pending) {
    backoff = 0;
    pending.retrying = false;
    delivered(pending.client_msg_id, pending.room_id);
    if (state.messages[pending.room_id]) upsert(frame.message);
    update({});
  }
  pump();
}

// A fault of ours, too many requests, a timeout: it goes again by itself, later.
function passing(problem) {
  const status = problem?.status || 0;
  return status === 0 || status === 408 || status === 429 || status >= 500;
}

let backoff = 0; // ms; grows with each passing failure in a row, back to 0 on an ack
let holdUntil = 0;
let holdTimer = null;

function holdFor(ms) {
  holdUntil = Date.now() + ms;
  clearTimeout(holdTimer);
  holdTimer = setTimeout(() => {
    holdUntil = 0;
    pump();
  }, ms);
}

export function onError(frame) {
  const question = presenceRequests.get(frame.id);
  if (question) {
    presenceRequests.delete(frame.id);
    question.ids.forEach((u) => presenceAsked.delete(u));
    return;
  }
  const pending = inflight.get(frame.id);
  inflight.delete(frame.id);
  if (pending) {
    const problem = frame.error || {};
    if (passing(problem)) {
      backoff = Math.min(backoff ? backoff * 2 : 1000, 30000);
      const asked = Number(problem.retry_after) * 1000;
      // Between half and all of the back-off, so that clients that failed together
      // do not come back together; never sooner than the server asked.
      holdFor(Math.max(asked || 0, backoff / 2 + Math.random() * (backoff / 2)));
      pending.retrying = true;
      update({});
      return;
    }
    refused(pending, problem.detail || problem.title);
  }
  pump();
}

// A send without an answer stays in the queue and goes again on the next socket: the
// same client_msg_id is never stored twice.
export function onSocketLost() {
  inflight.clear();
  presenceSocketLost();
}

function refused(bubble, reason) {
  bubble.failed = reason;
  bubble.retrying = false;
  outbox.put(toEntry(bubble)).catch(() => {});
  update({});
}

export function retry(bubble) {
  bubble.failed = null;
  outbox.put(toEntry(bubble)).catch(() => {});
  update({});
  pump();
}

// A refused message goes back into the composer to be changed, and out of the outbox.
export function editFailed(bubble) {
  queue = queue.filter((m) => m !== bubble);
  outbox.remove(bubble.client_msg_id).catch(() => {});
  state.messages[bubble.room_id] = (state.messages[bubble.room_id] || []).filter((m) => m !== bubble);
  if (bubble.reply_to) {
    const original = (state.messages[bubble.room_id] || []).find((m) => m.id === bubble.reply_to);
    if (original) replying.set(bubble.room_id, original);
  }
  update({});
  const textarea = document.querySelector("[data-testid=composer] textarea");
  if (textarea) {
    textarea.value = bubble.body;
    textarea.focus();
  }
}

// ---------- earlier history ----------

const history = new Map(); // room id → { hasMore: true | false, loading }
const PAGE = 50;

export function historyOf(roomId) {
  if (!history.has(roomId)) history.set(roomId, { hasMore: true, loading: false });
  return history.get(roomId);
}

/** The page before the oldest message shown; false when there is none to load. */
export async function loadOlder(roomId) {
  const known = historyOf(roomId);
  if (known.loading || !known.hasMore) return false;
  const confirmed = (state.messages[roomId] || []).filter((m) => m.position != null);
  if (confirmed.length === 0) return false; // the newest page is still on its way
  known.loading = true;
  update({});
  try {
    const answer = await api("GET", `/rooms/${roomId}/messages?before=${confirmed[0].position}&limit=${PAGE}`);
    for (const message of answer.messages) upsert(message);
    known.hasMore = answer.has_more;
    return answer.messages.length > 0;
  } catch {
    return false; // scrolling up again asks again
  } finally {
    known.loading = false;
    update({});
  }
}

// ---------- replies, edits, deletions, reactions ----------

const replying = new Map(); // room id → the message being replied to

export function replyingTo(roomId) {
  return replying.get(roomId) || null;
}

export function startReply(message) {
  replying.set(message.room_id, message);
  update({});
  document.querySelector("[data-testid=composer] textarea")?.focus();
}

export function cancelReply(roomId) {
  replying.delete(roomId);
  update({});
}

/** Changes the text of one's own message; throws ApiError when refused. */
export async function saveEdit(message, body) {
  const edited = await api("PATCH", `/messages/${message.id}`, { body });
  upsert(edited);
  update({});
}

/** Deletes one's own message for everyone: a tombstone stays in its place. */
export async function deleteMessage(message) {
  const tombstone = await api("DELETE", `/messages/${message.id}`);
  upsert(tombstone);
  update({});
}

function setReaction(roomId, messageId, userId, emoji, add) {
  const message = (state.messages[roomId] || []).find((m) => m.id === messageId);
  if (!message) return;
  const reactions = { ...(message.reactions || {}) };
  const who = (reactions[emoji] || []).filter((id) => id !== userId);
  if (add) who.push(userId);
  if (who.length) reactions[emoji] = who;
  else delete reactions[emoji];
  upsert({ ...message, reactions });
}

/** A reaction event, from anyone (one's own from another device too). */
export function onReaction(event) {
  const { message_id: messageId, user_id: userId, emoji } = event.data;
  setReaction(event.room_id, messageId, userId, emoji, event.kind === "reaction.added");
}

/** Adds the reaction, or takes it back if it is already there; throws when refused. */
export async function toggleReaction(message, emoji) {
  const mine = (message.reactions?.[emoji] || []).includes(state.me.id);
  setReaction(message.room_id, message.id, state.me.id, emoji, !mine);
  update({});
  try {
    await api(mine ? "DELETE" : "PUT", `/messages/${message.id}/reactions/${encodeURIComponent(emoji)}`);
  } catch (error) {
    setReaction(message.room_id, message.id, state.me.id, emoji, mine);
    update({});
    throw error;
  }
}

// ---------- names ----------

const asked = new Set();

/** A person's display name, asked of the server the first time it is needed. */
export function nameOf(userId) {
  const known = state.users[userId];
  if (known) return known.display_name;
  if (userId && !asked.has(userId)) {
    asked.add(userId);
    api("GET", `/users/${userId}`)
      .then((profile) => update({ users: { ...state.users, [profile.id]: profile } }))
      .catch(() => {});
  }
  return "";
}

// ---------- typing and presence ----------

const TYPING_EVERY = 3000; // ms between typing frames while the person types
const TYPING_IDLE = 5000; // ms without a key before "stopped typing" is sent
const TYPING_SHOWN = 7000; // ms a typing frame is shown without a newer one

const typing = new Map(); // room id → Map(user id → when it stops showing)
const presence = new Map(); // user id → "online" | "offline"
const typingSent = new Map(); // room id → { at, timer }

/** The person types in the composer: tell the room, at most every few seconds. */
export function typed(roomId) {
  const sent = typingSent.get(roomId) || { at: 0, timer: null };
  if (Date.now() - sent.at > TYPING_EVERY && sendFrame({ type: "typing", room_id: roomId, typing: true })) {
    sent.at = Date.now();
  }
  clearTimeout(sent.timer);
  sent.timer = setTimeout(() => stopTyping(roomId), TYPING_IDLE);
  typingSent.set(roomId, sent);
}

function stopTyping(roomId) {
  const sent = typingSent.get(roomId);
  if (!sent) return;
  clearTimeout(sent.timer);
  typingSent.delete(roomId);
  if (sent.at) sendFrame({ type: "typing", room_id: roomId, typing: false });
}

/** Who is typing in a room now, other than the person. */
export function typingIn(roomId) {
  const now = Date.now();
  return [...(typing.get(roomId) || new Map())].filter(([, until]) => until > now).map(([userId]) => userId);
}

// Live `presence` frames come only when someone's state changes: who was online before
// this socket connected is asked for (a `presence` request, answered by `presence.state`).
const PRESENCE_ASK_MAX = 100; // user ids per request, the server's limit
const presenceAsked = new Set(); // user ids asked about on this socket
const presenceRequests = new Map(); // request id → { ids, live: Map(user id → live count) }
const presenceLive = new Map(); // user id → live frames seen about them (newer than an answer)
let presenceSeq = 0;

/** Ask the server which of these people are online now (the socket must be up). */
export function askPresence(userIds) {
  const ids = [...new Set(userIds)].filter((id) => id && id !== state.me?.id);
  for (let i = 0; i < ids.length; i += PRESENCE_ASK_MAX) {
    const chunk = ids.slice(i, i + PRESENCE_ASK_MAX);
    const id = `presence-${++presenceSeq}`;
    if (!sendFrame({ type: "presence", id, user_ids: chunk })) return;
    presenceRequests.set(id, { ids: chunk, live: new Map(chunk.map((u) => [u, presenceLive.get(u) || 0])) });
    chunk.forEach((u) => presenceAsked.add(u));
  }
}

/** "online", "offline", or null while unknown; asks the server the first time. */
export function presenceOf(userId) {
  if (userId && !presenceAsked.has(userId) && socketIsReady()) {
    presenceAsked.add(userId);
    queueMicrotask(() => askPresence([userId]));
  }
  return presence.get(userId) || null;
}

function livePresence(userId, status) {
  presence.set(userId, status);
  presenceLive.set(userId, (presenceLive.get(userId) || 0) + 1);
}

on("presence.state", (frame) => {
  const asked = presenceRequests.get(frame.id);
  if (!asked) return;
  presenceRequests.delete(frame.id);
  const online = new Set(frame.online || []);
  for (const userId of asked.ids) {
    // A live frame that came after the question is newer than the answer.
    if ((presenceLive.get(userId) || 0) !== asked.live.get(userId)) continue;
    presence.set(userId, online.has(userId) ? "online" : "offline");
  }
  update({});
});

/** The socket closed: what is asked on the next one starts over. */
export function presenceSocketLost() {
  presenceAsked.clear();
  presenceRequests.clear();
}

function setTyping(roomId, userId, on) {
  if (!typing.has(roomId)) typing.set(roomId, new Map());
  if (on) {
    typing.get(roomId).set(userId, Date.now() + TYPING_SHOWN);
    setTimeout(() => update({}), TYPING_SHOWN + 50); // gone from the screen when it runs out
  } else {
    typing.get(roomId).delete(userId);
  }
}

on("typing", (frame) => {
  if (frame.user_id === state.me?.id) return;
  setTyping(frame.room_id, frame.user_id, frame.typing !== false);
  if (frame.typing !== false) livePresence(frame.user_id, "online"); // typing means connected
  update({});
});

on("presence", (frame) => {
  livePresence(frame.user_id, frame.status);
  if (frame.status === "offline") for (const roomId of typing.keys()) setTyping(roomId, frame.user_id, false);
  update({});
});

// A message from someone ends their typing.
on("event", (event) => {
  if (event.kind === "message.created" && event.data?.sender_id) {
    if (typing.get(event.room_id)?.delete(event.data.sender_id)) update({});
  }
});
