// The outbox: messages typed and not yet acknowledged, kept in IndexedDB so that a
// closed tab, a reload or a lost network never loses one. Each entry is
// {client_msg_id, user_id, room_id, body, typed, failed}; `typed` orders them as typed.
// Without IndexedDB (a private window that refuses it) the outbox lives in memory only.
// The same database keeps the last state shown (chat/snapshot.js) in a second store.
const DB_NAME = "obrolan";
const VERSION = 2; // 1: the outbox; 2: the snapshot store too
const STORE = "outbox";
export const SNAPSHOT_STORE = "snapshot";

let opening = null;
const memory = new Map();

/** The database, opened once; null without IndexedDB. */
export function open() {
  if (!opening) {
    opening = new Promise((resolve) => {
      let request;
      try {
        request = indexedDB.open(DB_NAME, VERSION);
      } catch {
        resolve(null);
        return;
      }
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE, { keyPath: "client_msg_id" });
        if (!db.objectStoreNames.contains(SNAPSHOT_STORE)) db.createObjectStore(SNAPSHOT_STORE, { keyPath: "user_id" });
      };
      request.onsuccess = () => {
        // A newer version opened in another tab: let it upgrade, and open again next time.
        request.result.onversionchange = () => {
          request.result.close();
          opening = null;
        };
        resolve(request.result);
      };
      request.onerror = () => resolve(null);
    });
  }
  return opening;
}

async function run(mode, work) {
  const db = await open();
  if (!db) return work(null);
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const result = work(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(result?.result ?? result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

let lastTyped = 0;

/** A time stamp that grows with every call, even within one millisecond. */
export function nextTyped() {
  lastTyped = Math.max(Date.now(), lastTyped + 1);
  return lastTyped;
}

/** Keeps an entry (new, or changed: a failure noted or cleared). */
export function put(entry) {
  memory.set(entry.client_msg_id, entry);
  return run("readwrite", (store) => store?.put(entry));
}

/** Drops an entry: it was acknowledged, or taken back to be edited. */
export function remove(clientMsgId) {
  memory.delete(clientMsgId);
  return run("readwrite", (store) => store?.delete(clientMsgId));
}

/** What this person still has to send, in the order typed. */
export async function pending(userId) {
  const all = await run("readonly", (store) => (store ? store.getAll() : [...memory.values()]));
  return all.filter((e) => e.user_id === userId).sort((a, b) => a.typed - b.typed);
}

/** Forgets everything of this person (signing out). */
export async function clear(userId) {
  for (const entry of await pending(userId)) await remove(entry.client_msg_id);
}
