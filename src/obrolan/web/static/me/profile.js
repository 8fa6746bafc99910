// My profile (F1): the photo, the fields and who sees each of them; email and phone,
// each confirmed by a code.
import { Component } from "../vendor/preact.mjs";
import { html, state, update } from "../core/state.js";
import { t, setLanguage } from "../core/i18n.js";
import { api } from "../core/api.js";
import { initial } from "../views/common.js";
import { problemText, sendBytes } from "./common.js";

const AUDIENCES = ["everyone", "contacts", "nobody"];
const PHOTO_TYPES = "image/jpeg,image/png,image/webp";

// Today in the earliest time zone (UTC+14): the latest date of birth the server takes.
function latestBirthday() {
  return new Date(Date.now() + 14 * 3600 * 1000).toISOString().slice(0, 10);
}

function Visibility({ field, me }) {
  const current = me.visibility?.[field] || "nobody";
  return html`
    <label class="visibility">${t(`me.visibility.${field}`)}
      <select name=${`visibility.${field}`} data-testid=${`visibility-${field}`}>
        ${AUDIENCES.map((a) => html`<option value=${a} selected=${a === current}>${t(`me.audience.${a}`)}</option>`)}
      </select>
    </label>`;
}

export class PhotoBlock extends Component {
  state = { url: null, busy: false, error: null };

  componentDidMount() { this.load(); }
  componentWillUnmount() { this.show(null); }

  show(url) {
    if (this.state.url) URL.revokeObjectURL(this.state.url);
    this.setState({ url });
  }

  // The photo needs the token, so it is fetched and shown from a blob: URL.
  async load() {
    const me = state.me;
    if (!me.photo) return this.show(null);
    try {
      const response = await sendBytes("GET", `/users/${me.id}/photo`);
      this.show(URL.createObjectURL(await response.blob()));
    } catch {
      this.show(null);
    }
  }

  async change(method, file) {
    this.setState({ busy: true, error: null });
    try {
      await sendBytes(method, "/me/photo", file, file?.type);
      update({ me: await api("GET", "/me") });
      await this.load();
    } catch (error) {
      this.setState({ error: problemText(error) });
    } finally {
      this.setState({ busy: false });
    }
  }

  render({ s }, { url, busy, error }) {
    return html`
      <div class="me-photo">
        ${url
          ? html`<img src=${url} alt=${t("me.photo.alt")} data-testid="photo" width="96" height="96" />`
          : html`<span class="me-avatar" aria-hidden="true">${initial(s.me.display_name)}</span>`}
        <div class="me-photo-actions">
          <label class="button">${s.me.photo ? t("me.photo.change") : t("me.photo.add")}
            <input type="file" accept=${PHOTO_TYPES} class="visually-hidden" name="photo" disabled=${busy}
              onChange=${(e) => { const file = e.currentTarget.files[0]; e.currentTarget.value = ""; if (file) this.change("PUT", file); }} />
          </label>
          ${s.me.photo && html`
            <button type="button" data-testid="photo-remove" disabled=${busy} onClick=${() => this.change("DELETE")}>${t("me.photo.remove")}</button>`}
          <small>${t("me.photo.hint")}</small>
          ${error && html`<p class="error" role="alert">${error}</p>`}
        </div>
      </div>`;
  }
}

export class ProfileForm extends Component {
  state = { busy: false, error: null, saved: false };

  submit = async (event) => {
    event.preventDefault();
    const form = event.currentTarget.elements;
    const me = state.me;
    const changes = {};
    const displayName = form.display_name.value.trim();
    if (displayName !== me.display_name) changes.display_name = displayName;
    for (const field of ["bio", "gender", "date_of_birth", "language"]) {
      const value = field === "bio" ? form[field].value : form[field].value.trim();
      const wanted = value === "" ? null : value;
      if (wanted !== (me[field] ?? null)) changes[field] = wanted;
    }
    const visibility = {};
    for (const field of ["photo", "gender", "date_of_birth", "bio"]) {
      const value = form[`visibility.${field}`].value;
      if (value !== me.visibility?.[field]) visibility[field] = value;
    }
    if (Object.keys(visibility).length) changes.visibility = visibility;
    this.setState({ busy: true, error: null, saved: false });
    try {
      const account = Object.keys(changes).length ? await api("PATCH", "/me", changes) : me;
      update({ me: account });
      if ("language" in changes && account.language) setLanguage(account.language);
      this.setState({ saved: true });
    } catch (error) {
      this.setState({ error: problemText(error) });
    } finally {
      this.setState({ busy: false });
    }
  };

  render({ s }, { busy, error, saved }) {
    const me = s.me;
    return html`
      <form class="stack" data-testid="profile" onSubmit=${this.submit} onInput=${() => saved && this.setState({ saved: false })}>
        <${Visibility} field="photo" me=${me} />
        <label>${t("me.displayName")}
          <input name="display_name" required maxlength="64" autocomplete="name" defaultValue=${me.display_name} />
        </label>
        <label>${t("me.bio")}
          <textarea name="bio" rows="3" maxlength="500" defaultValue=${me.bio || ""}></textarea>
        </label>
        <${Visibility} field="bio" me=${me} />
        <label>${t("me.gender")}
          <input name="gender" maxlength="32" list="me-gender-suggestions" defaultValue=${me.gender || ""} />
          <small>${t("me.genderHint")}</small>
        </label>
        <datalist id="me-gender-suggestions">
          <option value=${t("me.gender.female")}></option>
          <option value=${t("me.gender.male")}></option>
          <option value=${t("me.gender.nonBinary")}></option>
        </datalist>
        <${Visibility} field="gender" me=${me} />
        <label>${t("me.dateOfBirth")}
          <input name="date_of_birth" type="date" min="1900-01-01" max=${latestBirthday()} defaultValue=${me.date_of_birth || ""} />
        </label>
        <${Visibility} field="date_of_birth" me=${me} />
        <label>${t("me.language")}
          <select name="language">
            <option value="" selected=${!me.language}>${t("me.language.default")}</option>
            <option value="en" selected=${me.language === "en"}>English</option>
            <option value="id" selected=${me.language === "id"}>Bahasa Indonesia</option>
          </select>
          <small>${t("me.languageHint")}</small>
        </label>
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <div class="row me-actions">
          <button class="primary" type="submit" disabled=${busy}>${t("me.save")}</button>
          ${saved && html`<span class="muted" role="status" data-testid="profile-saved">${t("me.saved")}</span>`}
        </div>
      </form>`;
  }
}

// An email or a phone number: change it, then confirm it with the code sent to it.
export class AddressForm extends Component {
  state = { busy: false, error: null, note: null };

  async run(work, note = null) {
    this.setState({ busy: true, error: null, note: null });
    try {
      await work();
      this.setState({ note });
    } catch (error) {
      this.setState({ error: problemText(error) });
    } finally {
      this.setState({ busy: false });
    }
  }

  save = (event) => {
    event.preventDefault();
    const { kind } = this.props;
    const input = event.currentTarget.elements.address;
    const value = input.value.trim();
    const current = state.me[kind] || "";
    if (value === current) return;
    this.run(async () => {
      const account = await api("PATCH", "/me", { [kind]: value === "" ? null : value });
      update({ me: account });
      input.value = account[kind] || "";
    }, value ? t("me.address.codeSent") : null);
  };

  verify = (event) => {
    event.preventDefault();
    const input = event.currentTarget.elements.code;
    this.run(async () => {
      update({ me: await api("POST", `/me/${this.props.kind}/verify`, { code: input.value }) });
      input.value = "";
    });
  };

  resend = () => this.run(() => api("POST", `/me/${this.props.kind}/resend`), t("me.address.codeSent"));

  render({ s, kind }, { busy, error, note }) {
    const value = s.me[kind];
    const verified = s.me[`${kind}_verified`];
    return html`
      <div class="me-address" data-testid=${kind}>
        <form class="stack" onSubmit=${this.save}>
          <label>${t(`me.${kind}`)}
            <span class="row">
              <input name="address" type=${kind === "email" ? "email" : "tel"} maxlength=${kind === "email" ? 254 : 32}
                autocomplete=${kind === "email" ? "email" : "tel"} defaultValue=${value || ""} />
              <button type="submit" disabled=${busy}>${t("me.save")}</button>
            </span>
            <small>${t(`me.${kind}Hint`)}</small>
          </label>
        </form>
        ${value && html`
          <p class=${verified ? "me-verified" : "me-unverified"} data-testid=${`${kind}-status`}>
            ${verified ? t("me.address.verified") : t("me.address.unverified")}
          </p>`}
        ${value && !verified && html`
          <form class="stack" data-testid=${`${kind}-code`} onSubmit=${this.verify}>
            <label>${t("me.address.code")}
              <span class="row">
                <input name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="12" />
                <button class="primary" type="submit" disabled=${busy}>${t("me.address.confirm")}</button>
              </span>
              <small>${t(kind === "email" ? "me.address.codeByMail" : "me.address.codeBySms")}</small>
            </label>
            <button type="button" class="link" data-testid=${`${kind}-resend`} disabled=${busy} onClick=${this.resend}>${t("me.address.resend")}</button>
          </form>`}
        ${note && html`<p class="muted" role="status">${note}</p>`}
        ${error && html`<p class="error" role="alert">${error}</p>`}
      </div>`;
  }
}
