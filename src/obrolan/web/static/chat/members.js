// A room's people and settings: members with their roles, inviting, kicking, banning,
// roles, the name and topic, leaving. The server decides; what it refuses is shown.
import { state, update, on } from "../core/state.js";
import { api } from "../core/api.js";
import { t } from "../core/i18n.js";
import { loadRooms, profileOf, findPerson, remember, closeRoom } from "./rooms.js";

const RANK = { owner: 3, admin: 2, member: 1 };

function fresh() {
  // roomId; members [{user_id, state, role}]; banned: the ids banned from the room (for
  // its admins and owner, from GET /rooms/{id}/bans); error; notice.
  return { info: { roomId: null, members: [], banned: [], error: null, notice: null } };
}
Object.assign(state, fresh(), { infoOpen: false });
on("signedOut", () => update({ ...fresh(), infoOpen: false }));

// Someone joined, left, was invited, kicked or given a role: the open panel follows.
on("event", (event) => {
  if (state.infoOpen && event.room_id === state.current && event.kind === "membership") {
    loadMembers(state.current).catch(() => {});
  }
});

export function openInfo() {
  const roomId = state.current;
  update({ infoOpen: true, info: { roomId, members: [], banned: [], error: null, notice: null } });
  loadMembers(roomId).catch((error) => setInfo({ error: error.message }));
}

export function closeInfo() {
  update({ infoOpen: false });
}

function setInfo(patch) {
  update({ info: { ...state.info, ...patch } });
}

export async function loadMembers(roomId) {
  const room = state.rooms.find((r) => r.id === roomId);
  const moderator = room && room.kind !== "direct" && RANK[myRole(room)] >= RANK.admin;
  const [{ members }, bans] = await Promise.all([
    api("GET", `/rooms/${roomId}/members`),
    moderator ? api("GET", `/rooms/${roomId}/bans`) : { bans: [] },
  ]);
  if (state.info.roomId !== roomId) return;
  members.sort((a, b) => (RANK[b.role] - RANK[a.role]) || (a.state === "join" ? -1 : 1));
  const banned = bans.bans.map((b) => b.user_id);
  setInfo({ members, banned });
  await Promise.all([...members.map((m) => m.user_id), ...banned].map(profileOf));
  update({});
}

export function myRole(room) {
  return room.role || "member";
}

// What my role allows over a member; the server checks it again.
export function allowed(room, member) {
  const mine = myRole(room);
  const direct = room.kind === "direct";
  const me = member.user_id === state.me.id;
  const over = RANK[mine] >= RANK.admin && RANK[mine] > RANK[member.role];
  return {
    remove: !direct && !me && over,
    setRole: !direct && !me && mine === "owner" && member.role !== "owner" && member.state === "join",
  };
}

export function mayInvite(room) {
  if (room.kind === "direct") return false;
  return room.kind !== "private" || RANK[myRole(room)] >= RANK.admin;
}

export function mayEdit(room) {
  return room.kind !== "direct" && RANK[myRole(room)] >= RANK.admin;
}

// Runs one action; a refusal shows the server's reason in the panel.
async function act(work, notice) {
  setInfo({ error: null, notice: null });
  try {
    await work();
    setInfo({ notice });
    if (state.info.roomId) await loadMembers(state.info.roomId);
  } catch (error) {
    setInfo({ error: error.message });
  }
}

function nameOf(userId) {
  const person = state.users[userId];
  return person ? person.display_name || person.username : t("info.someone");
}

export function invite(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const username = form.elements.username.value.trim().replace(/^@/, "");
  if (!username) return;
  const roomId = state.info.roomId;
  act(async () => {
    let person;
    try {
      person = await findPerson(username);
    } catch (error) {
      if (error.status === 404) throw new Error(t("create.noSuchPerson", { username }));
      throw error;
    }
    remember(person);
    await api("POST", `/rooms/${roomId}/invites`, { user_id: person.id });
    form.reset();
  }, t("info.invited", { name: username }));
}

export function kick(userId) {
  const name = nameOf(userId);
  act(() => api("POST", `/rooms/${state.info.roomId}/kicks`, { user_id: userId }), t("info.kicked", { name }));
}

export function ban(userId) {
  const name = nameOf(userId);
  act(async () => {
    await api("POST", `/rooms/${state.info.roomId}/bans`, { user_id: userId });
    state.info.banned = [...state.info.banned.filter((id) => id !== userId), userId];
  }, t("info.banned", { name }));
}

export function unban(userId) {
  const name = nameOf(userId);
  act(async () => {
    await api("DELETE", `/rooms/${state.info.roomId}/bans/${userId}`);
    state.info.banned = state.info.banned.filter((id) => id !== userId);
  }, t("info.unbanned", { name }));
}

export function setRole(userId, role) {
  const name = nameOf(userId);
  act(() => api("PUT", `/rooms/${state.info.roomId}/members/${userId}/role`, { role }),
    t(role === "admin" ? "info.madeAdmin" : "info.madeMember", { name }));
}

export function saveDetails(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const roomId = state.info.roomId;
  const name = form.elements.name.value.trim();
  const topic = form.elements.topic.value.trim();
  act(async () => {
    await api("PATCH", `/rooms/${roomId}`, { name: name || null, topic });
    await loadRooms();
  }, t("info.saved"));
}

export async function leaveRoom() {
  setInfo({ error: null, notice: null });
  try {
    await api("POST", `/rooms/${state.info.roomId}/leave`);
    closeRoom();
    await loadRooms();
  } catch (error) {
    setInfo({ error: error.message });
  }
}
