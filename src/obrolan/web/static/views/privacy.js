// The privacy centre: what obrolan holds about me, my requests and their deadlines,
// downloading my data, the audit entries about me, the businesses that may message me, and
// deleting my account.
import { Component } from "../vendor/preact.mjs";
import { html, addScreen } from "../core/state.js";
import { t } from "../core/i18n.js";
import { signedOut } from "../chat/session.js";
import * as data from "../privacy/data.js";
import { openCancelPage } from "../privacy/cancel.js";
import { HeldSection } from "../privacy/held.js";
import { RequestList, AskSection } from "../privacy/requests.js";
import { ExportSection, AuditSection, DeleteSection } from "../privacy/sections.js";
import { BusinessesSection } from "../privacy/businesses.js";

const POLL_MS = 1000;

export class PrivacyScreen extends Component {
  constructor() {
    super();
    this.state = {
      mine: null, account: null, requests: [], exports: [], audit: { entries: [], next: null },
      optIns: [], withdrawing: null, error: null, notice: null, busy: false, confirm: "",
    };
    this.timer = null;
  }

  componentDidMount() {
    this.refresh();
  }

  componentWillUnmount() {
    clearTimeout(this.timer);
    this.timer = null;
    this.gone = true;
  }

  async refresh() {
    try {
      const [mine, account, exports, audit, optIns] = await Promise.all([
        data.loadMine(), data.loadAccount(), data.loadExports(), data.loadAudit(), data.loadOptIns(),
      ]);
      if (this.gone) return;
      this.setState({
        mine, account, requests: mine.requests, exports, audit: { entries: audit.entries, next: audit.next }, optIns,
      });
      this.watch(mine.requests);
    } catch (error) {
      if (!this.gone) this.setState({ error: error.message });
    }
  }

  // While an export is being built, follow its request, then list the new export.
  // (Preact's setState applies later: the requests are passed, not read from this.state.)
  watch(current) {
    clearTimeout(this.timer);
    const building = current.find((r) => r.kind === "access" && data.OPEN.has(r.status));
    if (!building || this.gone) return;
    this.timer = setTimeout(async () => {
      try {
        const request = await data.loadRequest(building.id);
        if (this.gone) return;
        // Merged into the newest list: another action may have reloaded it meanwhile.
        current = this.state.requests.map((r) => (r.id === request.id ? request : r));
        if (data.OPEN.has(request.status)) {
          this.setState({ requests: current });
        } else {
          // Built: the new export to download, and the audit entry that says so.
          const [exports, audit] = await Promise.all([data.loadExports(), data.loadAudit()]);
          if (!this.gone) this.setState({ requests: current, exports, audit: { entries: audit.entries, next: audit.next } });
        }
      } catch {
        // Try again at the next tick; the network may be back.
      }
      this.watch(current);
    }, POLL_MS);
  }

  async act(work, notice) {
    this.setState({ busy: true, error: null, notice: null });
    try {
      await work();
      this.setState({ busy: false, notice });
      return true;
    } catch (error) {
      this.setState({ busy: false, error: error.message });
      return false;
    }
  }

  // After an action: the requests, the exports, and the audit from its newest page (the
  // action is an entry there too).
  async reloadRequests() {
    const [mine, exports, audit] = await Promise.all([data.loadMine(), data.loadExports(), data.loadAudit()]);
    if (this.gone) return;
    this.setState({ mine, requests: mine.requests, exports, audit: { entries: audit.entries, next: audit.next } });
    this.watch(mine.requests);
  }

  ask(kind, note) {
    return this.act(async () => {
      await data.openRequest(kind, note);
      await this.reloadRequests();
    }, t(`privacy.asked.${kind}`));
  }

  cancel(request) {
    return this.act(async () => {
      await data.cancelRequest(request.id);
      await this.reloadRequests();
    }, t("privacy.requests.cancelled"));
  }

  download(exported) {
    return this.act(async () => {
      await data.downloadExport(exported.id);
      const exports = await data.loadExports();
      if (!this.gone) this.setState({ exports });
    }, null);
  }

  withdraw(optIn) {
    return this.act(async () => {
      await data.withdrawOptIn(optIn.id);
      const optIns = await data.loadOptIns();
      if (!this.gone) this.setState({ optIns, withdrawing: null });
    }, t("privacy.businesses.withdrawn", { name: optIn.business_name }));
  }

  moreAudit() {
    return this.act(async () => {
      const page = await data.loadAudit(this.state.audit.next);
      const entries = [...this.state.audit.entries, ...page.entries];
      this.setState({ audit: { entries, next: page.next } });
    }, null);
  }

  // The account closes at once and this session with it: sign out here, and open the page
  // where the code from the mail cancels the deletion.
  erase() {
    return this.act(async () => {
      const request = await data.openRequest("erasure", "");
      signedOut();
      openCancelPage(request);
    }, null);
  }

  render() {
    const { mine, account, requests, exports, audit, optIns, error, notice } = this.state;
    return html`
      <main class="privacy" data-testid="privacy">
        <div class="privacy-inner">
          <h1>${t("privacy.title")}</h1>
          <p class="muted">${t("privacy.intro")}</p>
          <div class="privacy-messages" aria-live="polite">
            ${error && html`<p class="error" role="alert" data-testid="privacy-error">${error}</p>`}
            ${notice && html`<p class="privacy-notice" role="status" data-testid="privacy-notice">${notice}</p>`}
          </div>
          ${!mine || !account ? !error && html`<p class="muted">${t("privacy.loading")}</p>` : html`
            ${mine.account.restricted && html`<p class="privacy-notice">${t("privacy.ask.restricted")}</p>`}
            <nav class="privacy-toc" aria-label=${t("privacy.toc")}>
              <a href="#privacy-held">${t("privacy.held.title")}</a>
              <a href="#privacy-requests">${t("privacy.requests.title")}</a>
              <a href="#privacy-export">${t("privacy.export.title")}</a>
              <a href="#privacy-audit">${t("privacy.audit.title")}</a>
              <a href="#privacy-businesses">${t("privacy.businesses.title")}</a>
              <a href="#privacy-delete">${t("privacy.delete.title")}</a>
            </nav>
            <${HeldSection} mine=${mine} account=${account} />
            <${RequestList} screen=${this} requests=${requests} account=${mine.account} />
            <${AskSection} screen=${this} account=${mine.account} />
            <${ExportSection} screen=${this} requests=${requests} exports=${exports} exportHours=${mine.export_hours} />
            <${AuditSection} screen=${this} audit=${audit} />
            <${BusinessesSection} screen=${this} optIns=${optIns} />
            <${DeleteSection} screen=${this} account=${account} graceDays=${mine.erasure_grace_days} />`}
        </div>
      </main>`;
  }
}

addScreen("privacy", PrivacyScreen, "nav.privacy");
