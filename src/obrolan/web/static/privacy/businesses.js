// Businesses that may message me (R16): every opt-in a business recorded for my verified
// number, with its proof (when, how, the exact text I was shown, its reference), whether I
// stopped its marketing or withdrew it; withdrawing one, after asking.
import { html } from "../core/state.js";
import { t } from "../core/i18n.js";
import { formatDateTime, known } from "./format.js";

function sourceName(source) {
  return known(`privacy.businesses.source.${source}`, source);
}

export function BusinessesSection({ screen, optIns }) {
  const { busy, withdrawing } = screen.state;
  return html`
    <section class="privacy-section" aria-labelledby="privacy-businesses" data-testid="privacy-businesses">
      <h2 id="privacy-businesses">${t("privacy.businesses.title")}</h2>
      <p class="muted">${t("privacy.businesses.intro")}</p>
      ${optIns.length === 0 && html`<p class="muted" data-testid="opt-ins-none">${t("privacy.businesses.none")}</p>`}
      <ul class="privacy-list">${optIns.map((o) => html`
        <li key=${o.id} class="privacy-request" data-testid="opt-in" data-withdrawn=${o.withdrawn_at ? "true" : "false"}>
          <div class="privacy-request-head">
            <strong>${o.business_name}</strong>
            <span class="privacy-status" data-testid="opt-in-state">${o.withdrawn_at
              ? t("privacy.businesses.withdrawnState") : t("privacy.businesses.inForce")}</span>
          </div>
          <dl class="privacy-facts">
            <dt>${t("privacy.businesses.when")}</dt><dd>${formatDateTime(o.opted_in_at)}</dd>
            <dt>${t("privacy.businesses.source")}</dt><dd data-testid="opt-in-source">${sourceName(o.source)}</dd>
            <dt>${t("privacy.businesses.shown")}</dt>
            <dd class="privacy-text" data-testid="opt-in-shown">${o.shown_text ?? t("privacy.businesses.notKept")}</dd>
            ${o.reference && html`
              <dt>${t("privacy.businesses.reference")}</dt><dd data-testid="opt-in-reference">${o.reference}</dd>`}
            <dt>${t("privacy.businesses.number")}</dt><dd>${o.wa_id}</dd>
            <dt>${t("privacy.businesses.marketing")}</dt>
            <dd data-testid="opt-in-marketing">${o.marketing_stopped_at
              ? t("privacy.businesses.marketingStopped", { date: formatDateTime(o.marketing_stopped_at) })
              : t("privacy.businesses.marketingAllowed")}</dd>
            ${o.withdrawn_at && html`
              <dt>${t("privacy.businesses.withdrawnAt")}</dt>
              <dd data-testid="opt-in-withdrawn">${formatDateTime(o.withdrawn_at)}</dd>`}
          </dl>
          ${!o.withdrawn_at && (withdrawing === o.id ? html`
            <div class="privacy-confirm" role="group" aria-label=${t("privacy.businesses.withdraw")}>
              <p>${t("privacy.businesses.confirm", { name: o.business_name })}</p>
              <div class="row">
                <button type="button" class="danger" data-testid="opt-in-withdraw-confirm" disabled=${busy}
                  onClick=${() => screen.withdraw(o)}>${t("privacy.businesses.withdraw")}</button>
                <button type="button" onClick=${() => screen.setState({ withdrawing: null })}>
                  ${t("privacy.businesses.keep")}</button>
              </div>
            </div>` : html`
            <button type="button" data-testid="opt-in-withdraw" disabled=${busy}
              aria-label=${t("privacy.businesses.withdrawName", { name: o.business_name })}
              onClick=${() => screen.setState({ withdrawing: o.id })}>${t("privacy.businesses.withdraw")}</button>`)}
        </li>`)}
      </ul>
    </section>`;
}
