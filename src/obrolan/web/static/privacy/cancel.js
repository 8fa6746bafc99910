// "Cancel my deletion": a page over the app, open while the address ends in
// #cancel-deletion. It needs no sign-in (the account is closed while an erasure waits),
// so it is drawn in a root of its own beside the app's: the sign-in screen links to it,
// and the privacy centre opens it when an erasure was just asked for.
import { Component, render } from "../vendor/preact.mjs";
import { html, state } from "../core/state.js";
import { t } from "../core/i18n.js";
import { cancelErasure } from "./data.js";
import { formatDateTime } from "./format.js";

export const CANCEL_HASH = "#cancel-deletion";

let root = null;
let scheduled = null; // the erasure just asked for, {due_at, mailed}, to say when it runs

// Open the page; `erasure` is the request just made, when there is one.
export function openCancelPage(erasure = null) {
  scheduled = erasure;
  if (location.hash !== CANCEL_HASH) location.hash = CANCEL_HASH;
  else draw();
}

function closeCancelPage() {
  scheduled = null;
  // Leave the address as it was before, without a new history entry to come back to.
  history.replaceState(null, "", location.pathname + location.search);
  draw();
}

class CancelDeletion extends Component {
  constructor() {
    super();
    this.state = { busy: false, error: null, done: null };
  }

  componentDidMount() {
    this.base?.querySelector("h2")?.focus();
  }

  async submit(event) {
    event.preventDefault();
    const code = event.currentTarget.elements.code.value.trim();
    if (!code) return;
    this.setState({ busy: true, error: null });
    try {
      const request = await cancelErasure(code);
      scheduled = null;
      this.setState({ busy: false, done: request });
    } catch (error) {
      const message = error.status === 404 ? t("privacy.cancel.badCode") : error.message;
      this.setState({ busy: false, error: message });
    }
  }

  render() {
    const { busy, error, done } = this.state;
    return html`
      <div class="privacy-overlay" onKeyDown=${(e) => e.key === "Escape" && closeCancelPage()}>
        <section class="privacy-overlay-card" role="dialog" aria-modal="true" aria-labelledby="cancel-deletion-title"
          data-testid="cancel-deletion">
          <h2 id="cancel-deletion-title" tabindex="-1">${t("privacy.cancel.title")}</h2>
          ${scheduled && html`
            <p class="privacy-notice" role="status" data-testid="erasure-scheduled">
              ${t("privacy.cancel.scheduled", { date: formatDateTime(scheduled.due_at) })}
            </p>`}
          ${done ? html`
            <p class="privacy-notice" role="status" data-testid="cancel-deletion-done">${t("privacy.cancel.done")}</p>
            <button class="primary" type="button" data-testid="cancel-deletion-signin" onClick=${closeCancelPage}>
              ${t("privacy.cancel.toSignIn")}</button>` : html`
            <p>${t("privacy.cancel.explain")}</p>
            <form class="stack" onSubmit=${(e) => this.submit(e)}>
              <label>${t("privacy.cancel.code")}
                <input name="code" required maxlength="100" autocomplete="one-time-code" autocapitalize="none"
                  spellcheck="false" />
              </label>
              ${error && html`<p class="error" role="alert">${error}</p>`}
              <button class="primary" type="submit" disabled=${busy}>${t("privacy.cancel.submit")}</button>
            </form>
            <button type="button" onClick=${closeCancelPage}>${t("privacy.cancel.back")}</button>`}
        </section>
      </div>`;
  }
}

function draw() {
  if (!root) {
    root = document.createElement("div");
    root.id = "privacy-overlay";
    document.body.append(root);
  }
  // The page's language follows the app's; the words are there once the app loaded them.
  const open = location.hash === CANCEL_HASH && Object.keys(state.dict).length > 0;
  document.getElementById("app")?.toggleAttribute("inert", open);
  render(open ? html`<${CancelDeletion} key=${state.lang} />` : null, root);
}

function whenReady() {
  if (Object.keys(state.dict).length > 0) draw();
  else setTimeout(whenReady, 50);
}

addEventListener("hashchange", draw);
whenReady();
