// Who can find me and how strangers reach me (F14, R18): the four contact settings.
import { Component } from "../vendor/preact.mjs";
import { html } from "../core/state.js";
import { t } from "../core/i18n.js";
import { api } from "../core/api.js";
import { problemText } from "./common.js";

const SETTINGS = ["findable_by_username", "message_requests", "findable_by_email", "findable_by_phone"];

export class ContactSettings extends Component {
  state = { settings: null, error: null };

  async componentDidMount() {
    try {
      this.setState({ settings: await api("GET", "/me/contact-settings") });
    } catch (error) {
      this.setState({ error: problemText(error) });
    }
  }

  async change(name, value) {
    const before = this.state.settings;
    this.setState({ settings: { ...before, [name]: value }, error: null });
    try {
      this.setState({ settings: await api("PATCH", "/me/contact-settings", { [name]: value }) });
    } catch (error) {
      this.setState({ settings: before, error: problemText(error) });
    }
  }

  render(_, { settings, error }) {
    return html`
      <div class="stack" data-testid="contact-settings">
        ${settings && SETTINGS.map((name) => html`
          <label class="switch" key=${name}>
            <input type="checkbox" role="switch" name=${name} checked=${settings[name]}
              onChange=${(e) => this.change(name, e.currentTarget.checked)} />
            <span class="switch-text">${t(`me.contacts.${name}`)}
              <small>${t(`me.contacts.${name}.hint`)}</small>
            </span>
          </label>`)}
        ${error && html`<p class="error" role="alert">${error}</p>`}
      </div>`;
  }
}
