// Words for what the privacy API answers: dates, deadlines, request kinds, audit actions.
import { state } from "../core/state.js";
import { t, tn, formatNumber } from "../core/i18n.js";
import { OPEN } from "./data.js";

const HOUR = 3600;
const DAY = 24 * HOUR;

export { formatDate, formatDateTime } from "../core/i18n.js";

export function formatSize(bytes) {
  if (bytes < 1024) return tn("privacy.size.bytes", bytes);
  if (bytes < 1024 * 1024) return t("privacy.size.kib", { n: formatNumber(Math.round(bytes / 1024)) });
  return t("privacy.size.mib", { n: formatNumber(Math.round((bytes / (1024 * 1024)) * 10) / 10) });
}

// A text only when the language has one; else the fallback (the server's own words).
export function known(key, fallback) {
  return state.dict[key] !== undefined ? t(key) : fallback;
}

// "3 days left", "5 hours left", "overdue by 2 days" for an open request; null otherwise.
export function timeLeft(request) {
  if (!OPEN.has(request.status)) return null;
  const left = request.seconds_left;
  if (request.overdue) {
    const late = Math.max(-left, 0);
    return late >= DAY ? tn("privacy.deadline.overdueDays", Math.floor(late / DAY)) : t("privacy.deadline.overdue");
  }
  // Whole days, rounded: a 72-hour deadline just opened reads "3 days left".
  if (left >= DAY) return tn("privacy.deadline.daysLeft", Math.round(left / DAY));
  return tn("privacy.deadline.hoursLeft", Math.max(1, Math.ceil(left / HOUR)));
}

export function kindName(kind) {
  return known(`privacy.kind.${kind}`, kind);
}

export function statusName(status) {
  return known(`privacy.status.${status}`, status);
}

export function actorName(entry) {
  if (entry.by_me) return t("privacy.actor.me");
  return known(`privacy.actor.${entry.actor_role}`, entry.actor_role);
}

export function isLawfulAccess(entry) {
  return entry.action.startsWith("lawful_access.");
}

// One sentence for an audit entry: what was done, with the detail the API gives.
export function actionText(entry) {
  const d = entry.detail || {};
  switch (entry.action) {
    case "lawful_access.read":
      return t("privacy.action.lawful_access.read", {
        messages: tn("privacy.count.messages", d.messages ?? 0),
        reactions: tn("privacy.count.reactions", d.reactions ?? 0),
      });
    case "auth.sign_in_failed":
      return known(`privacy.action.auth.sign_in_failed.${d.reason}`, t("privacy.action.auth.sign_in_failed"));
    case "auth.password_changed":
      return d.sessions_ended
        ? t("privacy.action.auth.password_changed.ended", { sessions: tn("privacy.count.sessions", d.sessions_ended) })
        : t("privacy.action.auth.password_changed");
    case "operator.read":
      return known(`privacy.action.operator.read.${d.what}`, t("privacy.action.operator.read"));
    case "privacy.request.opened":
    case "privacy.request.completed":
    case "privacy.request.refused":
    case "privacy.request.cancelled":
    case "privacy.request.viewed":
      return t(`privacy.action.${entry.action}`, { kind: d.kind ? kindName(d.kind) : t("privacy.kind.unknown") });
    default:
      return known(`privacy.action.${entry.action}`, entry.action);
  }
}
