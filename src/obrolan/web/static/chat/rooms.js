// Rooms: the list (newest first, with each room's last message), direct chats and
// message requests, invites, creating rooms, the public directory, blocking, opening a
// room, read receipts.
import { state, update, on } from "../core/state.js";
import { api } from "../core/api.js";
import { t } from "../core/i18n.js";
import { ROOM_KEY } from "./session.js";
import { pendingIn, upsert } from "./messages.js";
import { sendFrame } from "./socket.js";
import { schedule as keepSnapshot } from "./snapshot.js";

// What this part of the client keeps in the state, and how it starts after sign-in.
function fresh() {
  return {
    invites: [],
    blocked: [], // [{user_id, since}]: the people I blocked
    roomQuery: "", // the search box over the room list
    panel: null, // the sidebar's open panel: "create" | "directory" | "blocked" | null
    createError: null,
    directory: { q: "", rooms: [], next: null, error: null, searched: false },
    roomError: null, // why joining or declining an invite failed
    blockError: null, // why blocking or unblocking failed
  };
}
Object.assign(state, fresh());
on("signedOut", () => {
  listed = false;
  update(fresh());
});

let listed = false; // GET /rooms has answered since signing in (else the list is the kept one)

export function roomsListed() {
  return listed;
}

export async function loadRooms() {
  const [answer, blocks] = await Promise.all([
    api("GET", "/rooms"),
    api("GET", "/blocks").catch(() => null),
  ]);
  // A room's last message may have arrived over the socket after GET /rooms answered.
  const known = new Map(state.rooms.map((r) => [r.id, r.last_message]));
  for (const room of answer.rooms) room.last_message = newer(room.last_message, known.get(room.id));
  listed = true;
  update({
    rooms: sortRooms(answer.rooms),
    invites: answer.invites || [],
    requests: answer.requests,
    ...(blocks ? { blocked: blocks.blocks } : {}),
  });
  // The open room is gone (I left, or was removed or banned): back to the list.
  if (state.current && !answer.rooms.some((r) => r.id === state.current)) closeRoom();
  for (const request of answer.requests) remember(request.sender);
  if (blocks) blocks.blocks.forEach((b) => profileOf(b.user_id));
  namesOf(answer.rooms.map((r) => r.last_message?.sender_id));
  await Promise.all(answer.rooms.filter((r) => r.kind === "direct").map(loadDirectPeer));
  keepSnapshot();
}

function newer(a, b) {
  if (!a) return b || null;
  if (!b) return a;
  return (b.position || 0) >= (a.position || 0) ? b : a;
}

// Latest activity first: a room's newest message, or when it was made if it has none.
export function activity(room) {
  return Date.parse(room.last_message?.created_at || room.created_at) || 0;
}

function sortRooms(rooms) {
  return [...rooms].sort((a, b) => activity(b) - activity(a));
}

// Each message event keeps its room's last message current, and the list in order.
on("event", (event) => {
  if (!event.kind.startsWith("message.")) return;
  const room = state.rooms.find((r) => r.id === event.room_id);
  const message = event.data;
  if (!room || !message) return;
  if (message.sender_id) namesOf([message.sender_id]);
  const last = room.last_message;
  if (event.kind === "message.created") {
    if (last && (last.position || 0) > (message.position || 0)) return;
    room.last_message = message;
  } else if (last && last.id === message.id) {
    room.last_message = { ...last, ...message, position: message.position ?? last.position,
      created_at: message.created_at ?? last.created_at };
  } else {
    return;
  }
  update({ rooms: sortRooms(state.rooms) });
});

export function remember(profile) {
  if (profile) update({ users: { ...state.users, [profile.id]: profile } });
  keepSnapshot();
}

// The names of these people (senders in a group, say), fetched once each.
export function namesOf(userIds) {
  const unknown = new Set(userIds.filter((id) => id && !state.users[id]));
  return Promise.all([...unknown].map(profileOf));
}

export async function profileOf(userId) {
  if (!state.users[userId]) {
    try {
      remember(await api("GET", `/users/${userId}`));
    } catch {
      // an account closed since: shown without a name
    }
  }
  return state.users[userId];
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
    return peer ? peer.display_name || peer.username : t("rooms.direct");
  }
  return t("rooms.group");
}

// The search box: a room's name, or in a direct chat the other person's name or username.
export function matches(room, query) {
  const q = query.trim().toLocaleLowerCase();
  if (!q) return true;
  const peer = room.kind === "direct" ? state.users[state.peers[room.id]] : null;
  return [roomName(room), room.name, peer?.display_name, peer?.username]
    .some((text) => text && text.toLocaleLowerCase().includes(q));
}

export async function findPerson(username) {
  return api("GET", `/users?username=${encodeURIComponent(username)}`);
}

export async function openDirect(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const username = form.elements.username.value.trim();
  if (!username) return;
  update({ directError: null });
  try {
    const person = await findPerson(username);
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

// An invite to a group or room: join it, or decline (leave it before ever joining).
export async function answerInvite(roomId, join) {
  update({ roomError: null });
  try {
    await api("POST", `/rooms/${roomId}/${join ? "join" : "leave"}`);
    await loadRooms();
    if (join) await openRoom(roomId);
  } catch (error) {
    update({ roomError: error.message });
  }
}

export function showPanel(panel) {
  update({ panel: state.panel === panel ? null : panel, createError: null });
  if (panel === "directory" && !state.directory.searched) searchDirectory("");
}

// Usernames typed for a new room's members: separated by commas or spaces, "@" allowed.
export function usernames(text) {
  return [...new Set(text.split(/[\s,]+/).map((u) => u.replace(/^@/, "")).filter(Boolean))];
}

export async function createRoom(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const kind = form.elements.kind.value;
  const name = form.elements.name.value.trim();
  const topic = form.elements.topic.value.trim();
  update({ createError: null });
  try {
    const members = [];
    for (const username of usernames(form.elements.members.value)) {
      let person;
      try {
        person = await findPerson(username);
      } catch (error) {
        if (error.status === 404) throw new Error(t("create.noSuchPerson", { username }));
        throw error;
      }
      remember(person);
      members.push(person.id);
    }
    const body = { kind, members };
    if (name) body.name = name;
    if (topic) body.topic = topic;
    const room = await api("POST", "/rooms", body);
    form.reset();
    update({ panel: null });
    await loadRooms();
    await openRoom(room.id);
  } catch (error) {
    update({ createError: error.message });
  }
}

// ---------- the public room directory ----------

export async function searchDirectory(q, more = false) {
  const dir = state.directory;
  const params = new URLSearchParams({ q, limit: "20" });
  if (more && dir.next) params.set("after", dir.next);
  update({ directory: { ...dir, q, error: null, busy: true } });
  try {
    const page = await api("GET", `/rooms/public?${params}`);
    const rooms = more ? [...dir.rooms, ...page.rooms] : page.rooms;
    update({ directory: { q, rooms, next: page.next, error: null, searched: true, busy: false } });
  } catch (error) {
    update({ directory: { ...state.directory, error: error.message, busy: false } });
  }
}

export async function joinPublic(roomId) {
  update({ directory: { ...state.directory, error: null } });
  try {
    await api("POST", `/rooms/${roomId}/join`);
    await loadRooms();
    update({ panel: null });
    await openRoom(roomId);
  } catch (error) {
    update({ directory: { ...state.directory, error: error.message } });
  }
}

// ---------- blocking (R18) ----------

export function isBlocked(userId) {
  return state.blocked.some((b) => b.user_id === userId);
}

export async function block(userId) {
  await blocking(() => api("POST", "/blocks", { user_id: userId }));
}

export async function unblock(userId) {
  await blocking(() => api("DELETE", `/blocks/${userId}`));
}

async function blocking(work) {
  update({ blockError: null });
  try {
    await work();
    await loadBlocks();
  } catch (error) {
    update({ blockError: error.message });
  }
}

export async function loadBlocks() {
  const { blocks } = await api("GET", "/blocks");
  update({ blocked: blocks });
  await Promise.all(blocks.map((b) => profileOf(b.user_id)));
  update({});
}

// ---------- the open room ----------

export async function openRoom(roomId) {
  sessionStorage.setItem(ROOM_KEY, roomId);
  // Events that arrive while the history loads are kept, and merged with it.
  state.messages[roomId] ||= [];
  // Opening the room already open (after a reload, once the rooms are fetched) refreshes
  // its history and leaves the details panel as the person left it.
  const infoOpen = roomId === state.current && state.infoOpen;
  update({ current: roomId, screen: "chat", infoOpen });
  const { messages } = await api("GET", `/rooms/${roomId}/messages?limit=100`);
  // Merged by id with what the socket delivered meanwhile (and what was kept from last
  // time): nothing twice, nothing lost.
  for (const message of [...messages, ...pendingIn(roomId)]) upsert(message);
  loaded.add(roomId);
  markRead(roomId);
  update({});
  keepSnapshot();
  namesOf(messages.map((m) => m.sender_id));
}

export function closeRoom() {
  sessionStorage.removeItem(ROOM_KEY);
  update({ current: null, infoOpen: false });
}

// Rooms whose newest messages came over REST since the page loaded (not only the ones
// kept from last time): the message list places itself again when a room becomes one.
const loaded = new Set();
on("signedOut", () => {
  loaded.clear();
  seen.clear();
});

export function isLoaded(roomId) {
  return loaded.has(roomId);
}

// Read receipts: what the person has had on screen is read, what reached the device
// delivered. The message list says how far down the person has seen (the highest
// position of a message that was in view); only that, and only while the tab is
// visible, is marked read, never what is still further down, off screen.
const seen = new Map(); // room id → the highest position that has been in view

let seenTimer = null;
const SEEN_WINDOW = 200; // ms: scrolling sends one receipt per pause, not one per frame

// Called by the list while it renders or scrolls: the receipt goes a moment later, out of
// the render (which it changes: the unread badge).
export function sawUpTo(roomId, position) {
  if (!position || position <= (seen.get(roomId) || 0)) return;
  if (document.visibilityState !== "visible") return;
  seen.set(roomId, position);
  seenTimer ??= setTimeout(() => {
    seenTimer = null;
    if (state.current) markRead(state.current);
  }, SEEN_WINDOW);
}

export function markRead(roomId) {
  if (roomId !== state.current || document.visibilityState !== "visible") return;
  const upTo = seen.get(roomId) || 0;
  const room = state.rooms.find((r) => r.id === roomId);
  if (!upTo || !room || (room.read_up_to || 0) >= upTo) return;
  room.read_up_to = upTo;
  room.unread = (state.messages[roomId] || []).filter(
    (m) => m.position > upTo && m.sender_id !== state.me.id,
  ).length;
  sendReceipt(roomId, { read_up_to: upTo });
  update({});
  keepSnapshot();
}

export function sendReceipt(roomId, markers) {
  if (!sendFrame({ type: "receipt", room_id: roomId, ...markers })) {
    api("POST", `/rooms/${roomId}/receipts`, markers).catch(() => {});
  }
}

document.addEventListener("visibilitychange", () => state.current && markRead(state.current));
