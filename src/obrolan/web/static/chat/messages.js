// Sending: the optimistic bubble, the durable outbox, one send in flight at a time.
//
// Messages not yet acknowledged are kept in the order typed; each is also in the outbox
// (IndexedDB) and shown as a waiting bubble. One is sent at a time, the next after the
// previous one's ack, so they are stored in the order typed.
import { state, update } from "../core/state.js";
import * as outbox from "./outbox.js";
import { sendFrame, socketIsReady } from "./socket.js";

let queue = [];
let requestSeq = 0;
const inflight = new Map(); // socket request id → pending message

export function upsert(message) {
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
    sender_id: entry.user_id, body: entry.body, typed: entry.typed, pending: true,
    failed: entry.failed || null, created_at: new Date(entry.typed).toISOString(),
  };
}

function toEntry(bubble) {
  const { client_msg_id, room_id, sender_id, body, typed, failed } = bubble;
  return { client_msg_id, user_id: sender_id, room_id, body, typed, failed };
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
}

export async function submitMessage(event) {
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
export function pump() {
  if (!socketIsReady() || inflight.size > 0 || !navigator.onLine) return;
  const next = queue.find((m) => !m.failed);
  if (!next) return;
  const id = `send-${++requestSeq}`;
  inflight.set(id, next);
  sendFrame({ type: "send", id, room_id: next.room_id, client_msg_id: next.client_msg_id, body: next.body });
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
    delivered(pending.client_msg_id, pending.room_id);
    if (state.messages[pending.room_id]) upsert(frame.message);
    update({});
  }
  pump();
}

export function onError(frame) {
  const pending = inflight.get(frame.id);
  inflight.delete(frame.id);
  if (pending) refused(pending, frame.error.detail || frame.error.title);
  pump();
}

// A send without an answer stays in the queue and goes again on the next socket: the
// same client_msg_id is never stored twice.
export function onSocketLost() {
  inflight.clear();
}

function refused(bubble, reason) {
  bubble.failed = reason;
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
  update({});
  const textarea = document.querySelector("[data-testid=composer] textarea");
  if (textarea) {
    textarea.value = bubble.body;
    textarea.focus();
  }
}
