// Where I am signed in (R17): every session with its device, revoke one, or all of them.
import { Component } from "../vendor/preact.mjs";
import { html, on } from "../core/state.js";
import { t } from "../core/i18n.js";
import { api } from "../core/api.js";
import { signOutEverywhere } from "../chat/session.js";
import { formatDateTime, problemText } from "./common.js";

let shown = null; // the list on screen, refreshed when another device signs in or out

on("event", (frame) => {
  if (shown && String(frame.kind).startsWith("session.")) shown.load();
});

export class Sessions extends Component {
  state = { sessions: null, error: null, confirming: false, busy: false };

  componentDidMount() { shown = this; this.load(); }
  componentWillUnmount() { if (shown === this) shown = null; }

  async load() {
    try {
      this.setState({ sessions: await api("GET", "/sessions") });
    } catch (error) {
      this.setState({ error: problemText(error) });
    }
  }

  async revoke(id) {
    this.setState({ error: null });
    try {
      await api("DELETE", `/sessions/${id}`);
    } catch (error) {
      if (error.status !== 404) this.setState({ error: problemText(error) }); // 404: it had ended already
    }
    await this.load();
  }

  async everywhere() {
    this.setState({ busy: true, error: null });
    try {
      await signOutEverywhere();
    } catch (error) {
      this.setState({ busy: false, confirming: false, error: problemText(error) });
    }
  }

  render(_, { sessions, error, confirming, busy }) {
    return html`
      <div class="stack">
        <ul class="me-sessions" data-testid="sessions">
          ${(sessions || []).map((session) => {
            const name = session.device_name || t("me.sessions.unnamed");
            return html`
              <li class="me-session" key=${session.id} data-testid="session" data-current=${session.current ? "true" : "false"}>
                <div class="me-session-text">
                  <strong>${name}</strong>
                  ${session.current && html` <span class="me-badge">${t("me.sessions.this")}</span>`}
                  <small>${t("me.sessions.created", { time: formatDateTime(session.created_at) })}</small>
                  <small>${t("me.sessions.lastSeen", { time: formatDateTime(session.last_seen_at) })}</small>
                </div>
                ${!session.current && html`
                  <button type="button" aria-label=${t("me.sessions.revokeNamed", { name })}
                    onClick=${() => this.revoke(session.id)}>${t("me.sessions.revoke")}</button>`}
              </li>`;
          })}
        </ul>
        ${error && html`<p class="error" role="alert">${error}</p>`}
        ${confirming
          ? html`
            <div class="me-confirm" role="group" aria-label=${t("me.sessions.everywhere")}>
              <p>${t("me.sessions.everywhereConfirm")}</p>
              <div class="row">
                <button class="danger" type="button" data-testid="everywhere-confirm" disabled=${busy}
                  onClick=${() => this.everywhere()}>${t("me.sessions.everywhereYes")}</button>
                <button type="button" onClick=${() => this.setState({ confirming: false })}>${t("me.cancel")}</button>
              </div>
            </div>`
          : html`
            <button type="button" class="danger" data-testid="everywhere"
              onClick=${() => this.setState({ confirming: true })}>${t("me.sessions.everywhere")}</button>`}
      </div>`;
  }
}
