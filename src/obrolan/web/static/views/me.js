// "Me and my people": my profile and who sees it, my email and phone, who can find and
// message me, where I am signed in, and two-step sign-in. The parts live in ../me/.
import { Component } from "../vendor/preact.mjs";
import { html, update, addScreen } from "../core/state.js";
import { t } from "../core/i18n.js";
import { api } from "../core/api.js";
import { PhotoBlock, ProfileForm, AddressForm } from "../me/profile.js";
import { ContactSettings } from "../me/contacts.js";
import { Sessions } from "../me/sessions.js";
import { TwoStep } from "../me/totp.js";

function Card({ id, title, hint, children }) {
  return html`
    <section class="me-card" aria-labelledby=${`me-${id}`} data-testid=${`me-${id}`}>
      <h2 id=${`me-${id}`}>${title}</h2>
      ${hint && html`<p class="muted">${hint}</p>`}
      ${children}
    </section>`;
}

export class MeScreen extends Component {
  async componentDidMount() {
    // The account as it is now (another device may have changed it).
    try {
      update({ me: await api("GET", "/me") });
    } catch {
      // Offline: what the client knows is shown; a 401 signed out already.
    }
  }

  render({ s }) {
    return html`
      <main class="me-screen" data-testid="me">
        <h1 class="me-title">${t("me.title")}</h1>
        <${Card} id="profile" title=${t("me.profile")} hint=${t("me.profileHint")}>
          <${PhotoBlock} s=${s} />
          <${ProfileForm} s=${s} />
        </${Card}>
        <${Card} id="addresses" title=${t("me.addresses")} hint=${t("me.addressesHint")}>
          <${AddressForm} s=${s} kind="email" />
          <${AddressForm} s=${s} kind="phone" />
        </${Card}>
        <${Card} id="contacts" title=${t("me.contacts")} hint=${t("me.contactsHint")}>
          <${ContactSettings} />
        </${Card}>
        <${Card} id="sessions" title=${t("me.sessions")} hint=${t("me.sessionsHint")}>
          <${Sessions} />
        </${Card}>
        <${Card} id="totp" title=${t("me.totp")} hint=${t("me.totpHint")}>
          <${TwoStep} s=${s} />
        </${Card}>
      </main>`;
  }
}

addScreen("me", MeScreen, "nav.me");
