// obrolan's web client. No build step: ES modules, Preact and htm vendored by `make vendor`.
//
// Where things live: core/ (state, languages, the REST API), chat/ (signing in, rooms,
// sending, the socket), views/ (what each screen draws). One state object, changed only
// through update(), re-renders the whole tree. Forms are uncontrolled and read on
// submit. Message text only ever reaches the DOM as text: htm children are text nodes,
// and nothing here sets HTML.
import { html, mount, screens } from "./core/state.js";
import { loadDictionaries, chooseLanguage, setLanguage } from "./core/i18n.js";
import { resume } from "./chat/session.js";
import { AuthScreen } from "./views/auth.js";
import { Header } from "./views/header.js";
import { ChatScreen } from "./views/chat.js";
// The screens beyond chat, in the order of their links in the header.
import "./views/me.js";
import "./views/privacy.js";

function App({ s }) {
  if (!s.me || s.screen === "signin" || s.screen === "signup") return html`<${AuthScreen} s=${s} />`;
  const other = screens.get(s.screen);
  const view = other ? html`<${other.view} s=${s} />` : html`<${ChatScreen} s=${s} />`;
  return html`
    <div class=${`app ${s.current ? "has-room" : ""} screen-${other ? s.screen : "chat"}`}>
      <${Header} s=${s} />
      ${view}
    </div>`;
}

async function start() {
  await loadDictionaries();
  mount(App);
  setLanguage(chooseLanguage(), { remember: false });
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
  await resume();
}

start();
