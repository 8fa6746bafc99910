// The privacy centre's other parts: download my data (R1), the audit entries about me
// (R7), and deleting my account (R4).
import { html } from "../core/state.js";
import { t, tn } from "../core/i18n.js";
import { OPEN } from "./data.js";
import { actionText, actorName, formatDateTime, formatSize, isLawfulAccess } from "./format.js";

export function ExportSection({ screen, requests, exports, exportHours }) {
  const building = requests.find((r) => r.kind === "access" && OPEN.has(r.status));
  const busy = screen.state.busy;
  return html`
    <section class="privacy-section" aria-labelledby="privacy-export" data-testid="privacy-export">
      <h2 id="privacy-export">${t("privacy.export.title")}</h2>
      <p class="muted">${tn("privacy.export.explain", exportHours)}</p>
      ${building ? html`
        <div class="privacy-progress" role="status" data-testid="export-progress">
          <span>${t("privacy.export.building", { progress: building.progress })}</span>
          <progress max="100" value=${building.progress} aria-label=${t("privacy.export.title")}></progress>
        </div>` : html`
        <button class="primary" type="button" data-testid="export-request" disabled=${busy}
          onClick=${() => screen.ask("access", "")}>${t("privacy.export.request")}</button>`}
      ${exports.length > 0 && html`
        <ul class="privacy-list">${exports.map((e) => html`
          <li key=${e.id} class="privacy-export" data-testid="export">
            <span>${t("privacy.export.made", { date: formatDateTime(e.created_at), size: formatSize(e.size) })}</span>
            <span class="muted">${e.expired
              ? t("privacy.export.expired")
              : t("privacy.export.until", { date: formatDateTime(e.expires_at) })}</span>
            ${e.downloaded_at && html`
              <span class="muted">${t("privacy.export.downloaded", { date: formatDateTime(e.downloaded_at) })}</span>`}
            ${!e.expired && html`
              <button type="button" class="primary" data-testid="export-download" disabled=${busy}
                onClick=${() => screen.download(e)}>${t("privacy.export.download")}</button>`}
          </li>`)}
        </ul>`}
    </section>`;
}

export function AuditSection({ screen, audit }) {
  return html`
    <section class="privacy-section" aria-labelledby="privacy-audit" data-testid="privacy-audit">
      <h2 id="privacy-audit">${t("privacy.audit.title")}</h2>
      <p class="muted">${t("privacy.audit.intro")}</p>
      ${audit.entries.length === 0 && html`<p class="muted">${t("privacy.audit.none")}</p>`}
      <ol class="privacy-list">${audit.entries.map((e) => {
        const lawful = isLawfulAccess(e);
        return html`
          <li key=${e.seq} class=${`privacy-entry ${lawful ? "lawful" : ""}`} data-testid="audit-entry"
            data-action=${e.action}>
            ${lawful && html`<strong class="privacy-lawful-badge">${t("privacy.audit.lawful")}</strong>`}
            <span class="privacy-entry-text">${actionText(e)}</span>
            <span class="muted"><time datetime=${e.at}>${formatDateTime(e.at)}</time> · ${actorName(e)}</span>
          </li>`;
      })}
      </ol>
      ${audit.next != null && html`
        <button type="button" data-testid="audit-more" disabled=${screen.state.busy}
          onClick=${() => screen.moreAudit()}>${t("privacy.audit.more")}</button>`}
    </section>`;
}

export function DeleteSection({ screen, account, graceDays }) {
  const mailed = Boolean(account.email && account.email_verified);
  const submit = (event) => {
    event.preventDefault();
    screen.erase();
  };
  return html`
    <section class="privacy-section danger" aria-labelledby="privacy-delete" data-testid="privacy-delete">
      <h2 id="privacy-delete">${t("privacy.delete.title")}</h2>
      <p>${tn("privacy.delete.grace", graceDays)}</p>
      <p>${mailed ? t("privacy.delete.mailed", { email: account.email }) : t("privacy.delete.noMail")}</p>
      <form class="stack" onSubmit=${submit} data-testid="delete-form">
        <label>${t("privacy.delete.confirm", { username: account.username })}
          <input name="confirm" autocomplete="off" autocapitalize="none" spellcheck="false" maxlength="32"
            onInput=${(e) => screen.setState({ confirm: e.currentTarget.value })} />
        </label>
        <button class="danger" type="submit" disabled=${screen.state.busy || screen.state.confirm !== account.username}>
          ${t("privacy.delete.submit")}</button>
      </form>
    </section>`;
}
