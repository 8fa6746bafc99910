// Business chats (rooms of kind "business"): the business behind one, opening a chat
// with a business's number, blocking it. The server's routes: GET /business-chats/{room},
// POST /business-chats, GET /rooms/{id}/members (the number's account, to block it).
import { state, update, on } from "../core/state.js";
import { api } from "../core/api.js";
import { t } from "../core/i18n.js";
import { loadRooms, openRoom } from "./rooms.js";

function fresh() {
  // businessChats: room id → {profile, peer, error} once asked (profile and peer missing
  // until answered); businessError: why opening a chat by number failed.
  return { businessChats: {}, businessError: null };
}
Object.assign(state, fresh());
on("signedOut", () => update(fresh()));

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
