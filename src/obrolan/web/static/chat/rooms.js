// Rooms: the list, direct chats and message requests, opening one, read receipts.
import { state, update } from "../core/state.js";
import { api } from "../core/api.js";
import { t } from "../core/i18n.js";
import { ROOM_KEY } from "./session.js";
import { pendingIn, upsert } from "./messages.js";
import { sendFrame } from "./socket.js";

export async function loadRooms() {
  const answer = await api("GET", "/rooms");
  update({ rooms: answer.rooms, requests: answer.requests });
  for (const request of answer.requests) remember(request.sender);
  await Promise.all(answer.rooms.filter((r) => r.kind === "direct").map(loadDirectPeer));
}

export function remember(profile) {
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

export function setMarks(roomId, delivered, read) {
  const old = state.marks[roomId] || { delivered: 0, read: 0 };
  state.marks[roomId] = {
    delivered: Math.max(old.delivered, delivered || 0, read || 0),
    read: Math.max(old.read, read || 0),
  };
}

export function roomName(room) {
  if (room.name) return room.name;
  if (room.kind === "direct") {
    const peer = state.users[state.peers[room.id]];
    return peer ? peer.display_name : t("rooms.direct");
  }
  return t("rooms.group");
}

export async function openDirect(event) {
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

export async function answerRequest(roomId, accept) {
  await api("POST", `/rooms/${roomId}/${accept ? "accept" : "decline"}`);
  await loadRooms();
  if (accept) await openRoom(roomId);
}

export async function openRoom(roomId) {
  sessionStorage.setItem(ROOM_KEY, roomId);
  // Events that arrive while the history loads are kept, and merged with it.
  state.messages[roomId] ||= [];
  update({ current: roomId, screen: "chat" });
  const { messages } = await api("GET", `/rooms/${roomId}/messages?limit=100`);
  // Merged by id with what the socket delivered meanwhile: nothing twice, nothing lost.
  for (const message of [...messages, ...pendingIn(roomId)]) upsert(message);
  markRead(roomId);
  update({});
}

export function closeRoom() {
  sessionStorage.removeItem(ROOM_KEY);
  update({ current: null });
}

// Read receipts: what the person has on screen is read, what reached the device delivered.
export function markRead(roomId) {
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

export function sendReceipt(roomId, markers) {
  if (!sendFrame({ type: "receipt", room_id: roomId, ...markers })) {
    api("POST", `/rooms/${roomId}/receipts`, markers).catch(() => {});
  }
}

document.addEventListener("visibilitychange", () => state.current && markRead(state.current));
