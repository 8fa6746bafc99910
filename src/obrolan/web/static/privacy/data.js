// The privacy centre's calls to the API (docs/api.md, "Privacy: data requests and my data",
// "My audit log (R7)", "Data exports (R1)"). Only the download needs more than api().
import { state } from "../core/state.js";
import { api, ApiError } from "../core/api.js";
import { t } from "../core/i18n.js";

export const AUDIT_PAGE = 20;

// A request is open while received or in progress (R13).
export const OPEN = new Set(["received", "in_progress"]);

export function loadMine() {
  // The audit part is paged by GET /privacy/audit; one entry is enough here.
  return api("GET", "/privacy/me?limit=1");
}

export function loadAccount() {
  return api("GET", "/me");
}

export function loadRequests() {
  return api("GET", "/privacy/requests").then((answer) => answer.requests);
}

export function loadRequest(id) {
  return api("GET", `/privacy/requests/${encodeURIComponent(id)}`);
}

export function loadExports() {
  return api("GET", "/privacy/exports").then((answer) => answer.exports);
}

export function loadAudit(before) {
  const query = new URLSearchParams({ limit: String(AUDIT_PAGE) });
  if (before != null) query.set("before", String(before));
  return api("GET", `/privacy/audit?${query}`);
}

export function openRequest(kind, note) {
  const body = { kind };
  if (note) body.note = note;
  return api("POST", "/privacy/requests", body);
}

export function cancelRequest(id) {
  return api("POST", `/privacy/requests/${encodeURIComponent(id)}/cancel`);
}

// No token: the account is closed while an erasure waits.
export function cancelErasure(code) {
  return api("POST", "/privacy/erasure/cancel", { code });
}

// The token is a bearer header, not a cookie, so a plain link cannot download the ZIP:
// fetch it, then save the bytes through an object URL and a link with `download`.
export async function downloadExport(id) {
  let response;
  try {
    response = await fetch(`/api/v1/privacy/exports/${encodeURIComponent(id)}`, {
      headers: { Authorization: `Bearer ${state.token}` },
    });
  } catch {
    throw new ApiError(0, { detail: t("error.network") });
  }
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw new ApiError(response.status, problem);
  }
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = `obrolan-export-${id}.zip`;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// The businesses that hold an opt-in for my verified number (R16), with its proof.
export function loadOptIns() {
  return api("GET", "/me/business-opt-ins").then((answer) => answer.opt_ins);
}

export function withdrawOptIn(id) {
  return api("DELETE", `/me/business-opt-ins/${encodeURIComponent(id)}`);
}
