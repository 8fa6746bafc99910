// Business chats (rooms of kind "business"): the business behind one, opening a chat
// with a business's number, blocking it, answering its buttons and list rows. The server's
// routes: GET /business-chats/{room}, POST /business-chats, GET /rooms/{id}/members (the
// number's account, to block it), GET /business-chats/{room}/choices.
import { state, update, on } from "../core/state.js";
import { api } from "../core/api.js";
import { t } from "../core/i18n.js";
import { loadRooms, openRoom } from "./rooms.js";
import { sendMessage } from "./messages.js";

function fresh() {
  // businessChats: room id → {profile, peer, error} once asked (profile and peer missing
  // until answered); businessError: why opening a chat by number failed; businessChoices:
  // room id → {message id → the titles it offers}, once asked.
  return { businessChats: {}, businessError: null, businessChoices: {} };
}
Object.assign(state, fresh());
on("signedOut", () => {
  shownRoom = null;
  update(fresh());
});

export function isBusiness(room) {
  return room?.kind === "business";
}

// The business behind a chat, asked once per room when the chat is first drawn (not again
// on every draw after a failure: opening the details asks again).
export function businessOf(roomId) {
  if (!state.businessChats[roomId]) refreshBusiness(roomId);
  return state.businessChats[roomId];
}

export async function refreshBusiness(roomId) {
  setChat(roomId, { ...state.businessChats[roomId], error: null });
  try {
    const [profile, { members }] = await Promise.all([
      api("GET", `/business-chats/${roomId}`),
      api("GET", `/rooms/${roomId}/members`),
    ]);
    // The room's other member is the account that speaks for the business's number.
    const peer = members.find((m) => m.user_id !== state.me.id)?.user_id || null;
    setChat(roomId, { profile, peer, error: null });
  } catch (error) {
    setChat(roomId, { ...state.businessChats[roomId], error: error.message });
  }
}

function setChat(roomId, value) {
  // Drawn on the next update: this may run while the view renders.
  state.businessChats = { ...state.businessChats, [roomId]: value };
  queueMicrotask(() => update({}));
}

// "Chat with a business": its number, as a wa.me link would have it, opens the chat.
export async function openBusinessChat(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const number = form.elements.number.value.trim();
  if (!number) return;
  update({ businessError: null });
  try {
    const { room_id: roomId } = await api("POST", "/business-chats", { number });
    form.reset();
    update({ panel: null });
    await loadRooms();
    await openRoom(roomId);
  } catch (error) {
    update({ businessError: error.status === 404 ? t("business.noSuchNumber", { number }) : error.message });
  }
}

// ---------- buttons and list rows ----------

let shownRoom = null; // the room on screen when last drawn
const asking = new Map(); // room id → the number of its newest question: older answers are dropped

/** Called on each draw of the room view: opening a business chat asks for its choices. */
export function roomShown(roomId) {
  if (roomId === shownRoom) return;
  const room = state.rooms.find((r) => r.id === roomId);
  if (roomId && !room) return; // after a reload, until the rooms are fetched
  shownRoom = roomId;
  if (isBusiness(room)) refreshChoices(roomId);
}

/** The titles a business's message offers to answer with; undefined when it offers none. */
export function choicesOf(roomId, messageId) {
  return state.businessChoices[roomId]?.[messageId];
}

async function refreshChoices(roomId) {
  const asked = (asking.get(roomId) || 0) + 1;
  asking.set(roomId, asked);
  try {
    const { messages } = await api("GET", `/business-chats/${roomId}/choices`);
    if (asking.get(roomId) !== asked) return;
    const offered = Object.fromEntries(messages.map((m) => [m.message_id, m.choices]));
    state.businessChoices = { ...state.businessChoices, [roomId]: offered };
    queueMicrotask(() => update({}));
  } catch {
    // Without them the business's messages still show their choices as text.
  }
}

// A new message from the business may offer new choices.
on("event", (event) => {
  if (event.kind !== "message.created" || event.data?.sender_id === state.me?.id) return;
  const room = state.rooms.find((r) => r.id === event.room_id);
  if (isBusiness(room) && asking.has(room.id)) refreshChoices(room.id); // once opened
});

/** Answering a business's message with one of its choices: a reply whose text is the title. */
export function choose(roomId, messageId, title) {
  return sendMessage(roomId, title, messageId);
}
