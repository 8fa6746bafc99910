// The one state object the views render from, and the hooks other parts listen on.
//
// State changes only through update(), which re-renders the whole tree (Preact diffs
// it). Parts of the client that react to what happens elsewhere (notifications, the
// title) subscribe with on() instead of being called from the socket code.
import { h, render } from "../vendor/preact.mjs";
import htm from "../vendor/htm.mjs";

export const html = htm.bind(h);

export const state = {
  lang: "en",
  dict: {},
  token: localStorage.getItem("obrolan.token"),
  me: null,
  sessionId: null,
  screen: "signin", // signin | signup | chat, or a screen registered with addScreen
  authError: null,
  busy: false,
  rooms: [],
  requests: [],
  users: {}, // user id → public profile
  peers: {}, // direct room id → the other person's user id
  marks: {}, // direct room id → the other person's {delivered, read} positions
  messages: {}, // room id → messages, oldest first; pending ones last
  current: null,
  directError: null,
  conn: "offline", // online | connecting | offline
  position: null, // the last stream position processed
};

let Root = null;

export function mount(component) {
  Root = component;
}

export function update(patch) {
  Object.assign(state, patch);
  if (Root) render(html`<${Root} s=${state} />`, document.getElementById("app"));
}

// ---------- hooks ----------

const listeners = new Map(); // name → functions

export function on(name, listener) {
  if (!listeners.has(name)) listeners.set(name, []);
  listeners.get(name).push(listener);
}

// Names emitted: "event" (a stream event, after the client applied it), "signedIn",
// "signedOut", "rendered".
export function emit(name, ...args) {
  for (const listener of listeners.get(name) || []) {
    try {
      listener(...args);
    } catch (error) {
      console.error(error); // one listener's bug never stops the others, nor the caller
    }
  }
}

// ---------- screens ----------

// Screens beyond sign-in and chat (the profile, the privacy centre) register here with
// the component that draws them and the label of their link in the header.
export const screens = new Map(); // name → { view, label }

export function addScreen(name, view, label) {
  screens.set(name, { view, label });
}
