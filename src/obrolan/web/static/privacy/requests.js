// My data requests (R13): each with its kind, state, when it was opened and its deadline;
// asking for a correction, a restriction or an objection; cancelling what can be.
import { html } from "../core/state.js";
import { t } from "../core/i18n.js";
import { OPEN } from "./data.js";
import { formatDateTime, kindName, statusName, timeLeft } from "./format.js";

// What cancelling a request does, or null when it cannot be cancelled (docs/api.md: not
// once answered or running, except a restriction or objection in force, which it lifts).
function cancelLabel(request, inForce) {
  if (request.status === "received") return t("privacy.requests.cancel");
  if (request.status === "done" && inForce.has(request.id)) {
    return request.kind === "restriction" ? t("privacy.requests.lift") : t("privacy.requests.withdraw");
  }
  return null;
}

// The restriction and objection in force: the newest done one of each, while the flag is on.
function inForce(requests, account) {
  const ids = new Set();
  for (const [kind, flag] of [["restriction", account.restricted], ["objection", account.objected]]) {
    const newest = requests.find((r) => r.kind === kind && r.status === "done");
    if (flag && newest) ids.add(newest.id);
  }
  return ids;
}

export function RequestList({ screen, requests, account }) {
  const standing = inForce(requests, account);
  return html`
    <section class="privacy-section" aria-labelledby="privacy-requests" data-testid="privacy-requests">
      <h2 id="privacy-requests">${t("privacy.requests.title")}</h2>
      <p class="muted">${t("privacy.requests.intro")}</p>
      ${requests.length === 0 && html`<p class="muted">${t("privacy.requests.none")}</p>`}
      <ul class="privacy-list">${requests.map((r) => {
        const left = timeLeft(r);
        const label = cancelLabel(r, standing);
        return html`
          <li key=${r.id} class=${`privacy-request ${r.overdue ? "overdue" : ""}`} data-testid="privacy-request"
            data-kind=${r.kind} data-status=${r.status}>
            <div class="privacy-request-head">
              <strong>${kindName(r.kind)}</strong>
              <span class=${`privacy-status status-${r.status}`}>${statusName(r.status)}</span>
            </div>
            <dl class="privacy-facts">
              <dt>${t("privacy.requests.opened")}</dt><dd>${formatDateTime(r.created_at)}</dd>
              <dt>${t("privacy.requests.deadline")}</dt>
              <dd data-testid="privacy-deadline">${formatDateTime(r.deadline_at)}${left && html`
                <span class=${`privacy-left ${r.overdue ? "late" : ""}`}> · ${left}</span>`}</dd>
              ${r.due_at && OPEN.has(r.status) && html`
                <dt>${t("privacy.requests.due")}</dt><dd>${formatDateTime(r.due_at)}</dd>`}
              ${r.done_at && html`<dt>${t("privacy.requests.answered")}</dt><dd>${formatDateTime(r.done_at)}</dd>`}
              ${r.note && html`<dt>${t("privacy.requests.note")}</dt><dd class="privacy-text">${r.note}</dd>`}
              ${r.resolution && html`<dt>${t("privacy.requests.resolution")}</dt><dd class="privacy-text">${r.resolution}</dd>`}
            </dl>
            ${label && html`
              <button type="button" data-testid="privacy-request-cancel" disabled=${screen.state.busy}
                onClick=${() => screen.cancel(r)}>${label}</button>`}
          </li>`;
      })}
      </ul>
    </section>`;
}

// Asking: a correction (with what is wrong), a restriction, an objection.
export function AskSection({ screen, account }) {
  const submit = (kind) => (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const note = form.elements.note?.value.trim() || "";
    screen.ask(kind, note).then((ok) => ok && form.reset());
  };
  const busy = screen.state.busy;
  return html`
    <section class="privacy-section" aria-labelledby="privacy-ask" data-testid="privacy-ask">
      <h2 id="privacy-ask">${t("privacy.ask.title")}</h2>
      <form class="privacy-card stack" data-testid="ask-rectification" onSubmit=${submit("rectification")}>
        <h3>${t("privacy.ask.rectification")}</h3>
        <p class="muted">${t("privacy.ask.rectificationExplain")}</p>
        <label>${t("privacy.ask.whatIsWrong")}
          <textarea name="note" required maxlength="2000" rows="3"></textarea>
        </label>
        <button class="primary" type="submit" disabled=${busy}>${t("privacy.ask.sendRectification")}</button>
      </form>
      <form class="privacy-card stack" data-testid="ask-restriction" onSubmit=${submit("restriction")}>
        <h3>${t("privacy.ask.restriction")}</h3>
        <p class="muted">${t("privacy.ask.restrictionExplain")}</p>
        ${account.restricted
          ? html`<p class="privacy-notice">${t("privacy.ask.restricted")}</p>`
          : html`<button type="submit" disabled=${busy}>${t("privacy.ask.sendRestriction")}</button>`}
      </form>
      <form class="privacy-card stack" data-testid="ask-objection" onSubmit=${submit("objection")}>
        <h3>${t("privacy.ask.objection")}</h3>
        <p class="muted">${t("privacy.ask.objectionExplain")}</p>
        ${account.objected
          ? html`<p class="privacy-notice">${t("privacy.ask.objected")}</p>`
          : html`
            <label>${t("privacy.ask.why")}
              <textarea name="note" maxlength="2000" rows="2"></textarea>
            </label>
            <button type="submit" disabled=${busy}>${t("privacy.ask.sendObjection")}</button>`}
      </form>
    </section>`;
}
