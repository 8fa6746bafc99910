// The WebSocket: hello with the last position processed, events, acks, reconnecting.
import { state, update, emit } from "../core/state.js";
import { signedOut, setPosition } from "./session.js";
import { loadRooms, openRoom, markRead, sendReceipt, setMarks } from "./rooms.js";
import { upsert, replace, delivered, pump, onAck, onError, onSocketLost, onReaction, askPresence } from "./messages.js";

let socket = null;
let socketReady = false;
let reconnectDelay = 500;
let roomsLoaded = false; // the room list and the open room's history came over REST

export function socketIsReady() {
  return socketReady;
}

// Sends a frame if the socket is up; false when it is not.
export function sendFrame(frame) {
  if (!socketReady) return false;
  socket.send(JSON.stringify(frame));
  return true;
}

export function connect() {
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

export function disconnect() {
  const old = socket;
  socket = null;
  socketReady = false;
  roomsLoaded = false;
  old?.close();
}

// The socket is gone (closed, failed, or the browser went offline): say so, and try
// again with a growing back-off (the "online" event cuts it short).
function lost(ws) {
  if (socket !== ws) return;
  socket = null;
  socketReady = false;
  onSocketLost();
  update({ conn: "offline" });
  setTimeout(connect, reconnectDelay);
  reconnectDelay = Math.min(reconnectDelay * 2, 15000);
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
      // Who of the direct-chat peers is online now: presence frames only tell changes.
      const askPeers = () => askPresence(Object.values(state.peers));
      if (!roomsLoaded) {
        roomsLoaded = true;
        loadRooms()
          .then(() => { askPeers(); return state.current && openRoom(state.current); })
          .catch(() => { roomsLoaded = false; });
      } else {
        askPeers();
      }
      pump();
      break;
    }
    case "event":
      if (state.position != null && frame.position <= state.position) return;
      setPosition(frame.position);
      onEvent(frame);
      update({});
      emit("event", frame);
      break;
    case "ack":
      onAck(frame);
      break;
    case "error":
      if (frame.error?.type?.endsWith("since-ahead")) {
        // The server will not replay from there: the next socket starts over from REST.
        setPosition(null);
        roomsLoaded = false;
      }
      onError(frame);
      break;
    default:
      emit(frame.type, frame); // typing, presence, presence.state and pong, for whoever shows them
      break;
  }
}

function onEvent(event) {
  const { kind, data, room_id: roomId } = event;
  if (kind.startsWith("message.")) {
    const known = state.rooms.find((r) => r.id === roomId);
    if (!known) { loadRooms().catch(() => {}); return; }
    if (kind === "message.created" && data.sender_id === state.me.id) delivered(data.client_msg_id, roomId);
    if (state.messages[roomId]) {
      // A new message joins the list; an edit or a deletion changes it only where it is
      // shown (an older one is read as it is now when its page loads).
      if (kind === "message.created") upsert(data);
      else replace(data);
    }
    if (kind === "message.created" && data.sender_id !== state.me.id) {
      receiptDue(roomId, data.position);
      if (!(roomId === state.current && document.visibilityState === "visible")) known.unread = (known.unread || 0) + 1;
    }
  } else if (kind === "reaction.added" || kind === "reaction.removed") {
    onReaction(event);
  } else if (kind === "receipt") {
    if (data.user_id !== state.me.id) setMarks(roomId, data.delivered_up_to, data.read_up_to);
  } else if (kind === "session.revoked") {
    if (data.session_id === state.sessionId) signedOut();
  } else if (["membership", "room.updated", "room.removed"].includes(kind)) {
    loadRooms().catch(() => {});
  }
}

// Receipts, coalesced: a burst of messages (a replay after a reconnect, a busy room) is
// answered with one receipt per room, carrying the newest position, not one per message.
// The open room, on screen, is read (which implies delivered); the others delivered.
const RECEIPT_WINDOW = 150; // ms
const receiptsDue = new Map(); // room id → the newest position delivered
let receiptTimer = null;

function receiptDue(roomId, position) {
  receiptsDue.set(roomId, Math.max(receiptsDue.get(roomId) || 0, position));
  receiptTimer ??= setTimeout(flushReceipts, RECEIPT_WINDOW);
}

function flushReceipts() {
  receiptTimer = null;
  const due = [...receiptsDue];
  receiptsDue.clear();
  for (const [roomId, position] of due) {
    if (roomId === state.current && document.visibilityState === "visible") markRead(roomId);
    const room = state.rooms.find((r) => r.id === roomId);
    if ((room?.read_up_to || 0) < position) sendReceipt(roomId, { delivered_up_to: position });
  }
}
