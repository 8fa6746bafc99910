// Two-step sign-in (R17): set up an authenticator app from a QR code, confirm, turn off.
import { Component } from "../vendor/preact.mjs";
import { html, state, update } from "../core/state.js";
import { t } from "../core/i18n.js";
import { api } from "../core/api.js";
import { QrCode } from "./qr.js";
import { problemText } from "./common.js";

export class TwoStep extends Component {
  state = { setup: null, busy: false, error: null };

  async run(work) {
    this.setState({ busy: true, error: null });
    try {
      await work();
    } catch (error) {
      this.setState({ error: problemText(error) });
    } finally {
      this.setState({ busy: false });
    }
  }

  start = () => this.run(async () => {
    try {
      this.setState({ setup: await api("POST", "/me/totp") });
    } catch (error) {
      if (error.status === 409) update({ me: await api("GET", "/me") }); // on already, elsewhere
      else throw error;
    }
  });

  confirm = (event) => {
    event.preventDefault();
    const form = event.currentTarget.elements;
    const body = { code: form.code.value.replace(/\s/g, ""), password: form.password.value };
    this.run(async () => {
      update({ me: await api("POST", "/me/totp/confirm", body) });
      this.setState({ setup: null });
    });
  };

  turnOff = (event) => {
    event.preventDefault();
    const form = event.currentTarget.elements;
    const body = { code: form.code.value.replace(/\s/g, ""), password: form.password.value };
    this.run(async () => {
      await api("DELETE", "/me/totp", body);
      update({ me: { ...state.me, totp_enabled: false } });
    });
  };

  codeAndPassword(submitLabel, danger, extra = null) {
    const { busy } = this.state;
    return html`
      <label>${t("me.totp.code")}
        <input name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="8" />
      </label>
      <label>${t("auth.password")}
        <input name="password" type="password" autocomplete="current-password" required maxlength="200" />
      </label>
      <div class="row me-actions">
        <button class=${danger ? "danger" : "primary"} type="submit" disabled=${busy}>${submitLabel}</button>
        ${extra}
      </div>`;
  }

  render({ s }, { setup, busy, error }) {
    let body;
    if (s.me.totp_enabled) {
      body = html`
        <p class="me-verified" data-testid="totp-status">${t("me.totp.on")}</p>
        <form class="stack" data-testid="totp-off" onSubmit=${this.turnOff}>
          <p class="muted">${t("me.totp.offHint")}</p>
          ${this.codeAndPassword(t("me.totp.turnOff"), true)}
        </form>`;
    } else if (setup) {
      // Grouped in fours to copy by hand; authenticator apps ignore the spaces.
      const secret = setup.secret.replace(/(.{4})/g, "$1 ").trim();
      body = html`
        <ol class="me-steps">
          <li>${t("me.totp.scan")}</li>
          <li>${t("me.totp.enter")}</li>
        </ol>
        <${QrCode} text=${setup.otpauth_uri} label=${t("me.totp.qr")} />
        <p>${t("me.totp.secret")} <code class="me-secret" data-testid="totp-secret">${secret}</code></p>
        <form class="stack" data-testid="totp-confirm" onSubmit=${this.confirm}>
          ${this.codeAndPassword(t("me.totp.confirm"), false, html`
            <button type="button" onClick=${() => this.setState({ setup: null, error: null })}>${t("me.cancel")}</button>`)}
        </form>`;
    } else {
      body = html`
        <p class="muted" data-testid="totp-status">${t("me.totp.offNow")}</p>
        <button type="button" class="primary" data-testid="totp-start" disabled=${busy} onClick=${this.start}>${t("me.totp.start")}</button>`;
    }
    return html`
      <div class="stack" data-testid="totp">
        ${body}
        ${error && html`<p class="error" role="alert">${error}</p>`}
      </div>`;
  }
}
