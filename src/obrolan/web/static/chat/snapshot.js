// The last state shown, kept on the device so that the app opens as it was, offline too:
// the room list (as GET /rooms last answered, kept current by the stream), the newest
// messages of the rooms that were shown (at most PER_ROOM each, in at most ROOMS rooms,
// the most recently active), and the names of the people known. One record per person,
// keyed by user id, in the outbox's database (chat/outbox.js); written a moment after
// things change, never on every frame; read at start before the network answers;
// deleted on signing out. Without IndexedDB nothing is kept.
import { state, update, on } from "../core/state.js";
import { open, SNAPSHOT_STORE } from "./outbox.js";
import { upsert } from "./messages.js";
import { roomsListed } from "./rooms.js";

const PER_ROOM = 100;
const ROOMS = 50;
const DELAY = 1000; // ms of quiet before a write
const MAX_DELAY = 5000; // ms at most between a change and its write, in a busy chat

let timer = null;
let firstChange = 0;
let readFor = null; // whose snapshot was read: until then nothing is written over it
let chain = Promise.resolve(); // writes and deletions, one after the other, in order

function queue(work) {
  chain = chain.then(work).catch(() => {});
  return chain;
}

async function run(mode, work) {
  const db = await open();
  if (!db) return null;
  return new Promise((resolve, reject) => {
    const tx = db.transaction(SNAPSHOT_STORE, mode);
    const request = work(tx.objectStore(SNAPSHOT_STORE));
    tx.oncomplete = () => resolve(request?.result ?? null);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

/** Something shown changed: written after a quiet second (at most five seconds late). */
export function schedule() {
  if (!state.me || readFor !== state.me.id) return;
  const now = Date.now();
  if (!timer) firstChange = now;
  clearTimeout(timer);
  timer = setTimeout(save, now - firstChange >= MAX_DELAY ? 0 : DELAY);
}

function save() {
  timer = null;
  if (!state.me || readFor !== state.me.id) return;
  const record = capture();
  queue(() => run("readwrite", (store) => store.put(record)));
}

function capture() {
  const messages = {};
  // state.rooms is kept newest activity first.
  const shown = state.rooms.filter((room) => state.messages[room.id]?.length).slice(0, ROOMS);
  for (const room of shown) {
    const stored = state.messages[room.id].filter((m) => m.position != null && !m.pending);
    if (stored.length) messages[room.id] = stored.slice(-PER_ROOM);
  }
  // Of the people, only their names (not their other profile fields, nor my account).
  const users = {};
  for (const [id, profile] of Object.entries(state.users)) {
    users[id] = { id, username: profile.username, display_name: profile.display_name };
  }
  // Plain data only: what the views added to the objects is left behind.
  return JSON.parse(JSON.stringify({
    user_id: state.me.id,
    saved_at: new Date().toISOString(),
    rooms: state.rooms,
    requests: state.requests,
    invites: state.invites || [],
    peers: state.peers,
    marks: state.marks,
    users,
    messages,
  }));
}

/** At start: this person's last state, shown at once; what the network sent already wins. */
export async function restore(userId) {
  let record = null;
  try {
    record = await run("readonly", (store) => store.get(userId));
  } catch {
    record = null;
  }
  if (state.me?.id !== userId) return; // signed out meanwhile
  readFor = userId;
  if (!record) return;
  const patch = {
    users: { ...record.users, ...state.users },
    peers: { ...record.peers, ...state.peers },
    marks: { ...record.marks, ...state.marks },
  };
  if (!roomsListed()) {
    Object.assign(patch, { rooms: record.rooms || [], requests: record.requests || [], invites: record.invites || [] });
  }
  Object.assign(state, patch);
  for (const [roomId, kept] of Object.entries(record.messages || {})) {
    const shown = new Set((state.messages[roomId] || []).map((m) => m.id));
    // Merged by id: a message the network already gave is never replaced by an older copy.
    for (const message of kept) if (!shown.has(message.id)) upsert(message);
  }
  update({});
}

/** Signing out: this person's snapshot is deleted (after any write still on its way). */
export function forget(userId) {
  clearTimeout(timer);
  timer = null;
  readFor = null;
  if (!userId) return chain;
  return queue(() => run("readwrite", (store) => store.delete(userId)));
}

/** Signing in: anyone else's snapshot left on this browser is deleted, never shown. */
export function forgetOthers(userId) {
  return queue(async () => {
    const keys = (await run("readonly", (store) => store.getAllKeys())) || [];
    const others = keys.filter((key) => key !== userId);
    if (others.length) await run("readwrite", (store) => others.forEach((key) => store.delete(key)));
  });
}

on("event", schedule);
