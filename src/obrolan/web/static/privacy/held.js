// "What obrolan holds about me": GET /privacy/me's data map, one card per category, with
// the person's own values from GET /me where the API gives them.
import { html } from "../core/state.js";
import { t } from "../core/i18n.js";
import { known, formatDate } from "./format.js";

// The purposes are fixed texts of the server's (obrolan.privacy.my_data.USE_TEXT).
const PURPOSES = {
  "to provide the service you use": "privacy.use.service",
  "to sign you in": "privacy.use.authentication",
  "to keep your account and the service secure": "privacy.use.security",
  "to run background work for you (mail, exports)": "privacy.use.operations",
  "because the law requires it": "privacy.use.legal",
};

// What GET /me says of the person, per category; nothing for the others.
function values(category, account) {
  if (!account) return [];
  const yes = (flag) => (flag ? t("privacy.held.verified") : t("privacy.held.unverified"));
  switch (category) {
    case "user.unique_id": return [account.id];
    case "user.account.username": return [account.username];
    case "user.name": return [account.display_name];
    case "user.contact.email": return account.email ? [`${account.email} (${yes(account.email_verified)})`] : [];
    case "user.contact.phone_number": return account.phone ? [`${account.phone} (${yes(account.phone_verified)})`] : [];
    case "user.demographic.gender": return account.gender ? [account.gender] : [];
    case "user.demographic.date_of_birth": return account.date_of_birth ? [formatDate(account.date_of_birth)] : [];
    case "user.content.public": return account.bio ? [account.bio] : [];
    case "user.content.self_image": return account.photo ? [t("privacy.held.photo")] : [];
    case "user.account.settings": return account.language ? [t("privacy.held.language", { lang: account.language })] : [];
    default: return [];
  }
}

function heldText(held) {
  if (held === true) return t("privacy.held.yes");
  if (held === false) return t("privacy.held.no");
  return t("privacy.held.unknown");
}

export function HeldSection({ mine, account }) {
  return html`
    <section class="privacy-section" aria-labelledby="privacy-held" data-testid="privacy-held">
      <h2 id="privacy-held">${t("privacy.held.title")}</h2>
      <p class="muted">${t("privacy.held.intro")}</p>
      <ul class="privacy-cards">${mine.categories.map((c) => {
        const mineNow = values(c.category, account);
        return html`
          <li key=${c.category} class="privacy-card" data-testid="privacy-category" data-category=${c.category}>
            <h3>${known(`privacy.category.${c.category}`, c.description)}</h3>
            <dl class="privacy-facts">
              <dt>${t("privacy.held.yours")}</dt>
              <dd data-testid="privacy-value">${mineNow.length > 0
                ? mineNow.map((v) => html`<span class="privacy-value">${v}</span>`)
                : heldText(c.held)}</dd>
              <dt>${t("privacy.held.why")}</dt>
              <dd>${c.purposes.map((p) => (PURPOSES[p] ? t(PURPOSES[p]) : p)).join("; ")}</dd>
              <dt>${t("privacy.held.kept")}</dt>
              <dd lang="en">${c.retention.join("; ")}</dd>
              <dt>${t("privacy.held.sealed")}</dt>
              <dd>${c.encrypted ? t("privacy.held.sealedYes") : t("privacy.held.sealedNo")}</dd>
            </dl>
            <details>
              <summary>${t("privacy.held.where")}</summary>
              <ul class="privacy-where">${c.where.map((w) => html`<li key=${w}><code>${w}</code></li>`)}</ul>
            </details>
          </li>`;
      })}
      </ul>
    </section>`;
}
