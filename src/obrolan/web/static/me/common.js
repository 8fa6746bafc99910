// What the Me screen's parts share: problem slugs in the reader's language, raw uploads,
// dates and times.
import { state } from "../core/state.js";
import { t } from "../core/i18n.js";
import { ApiError } from "../core/api.js";

// The problem's `type` slug ("code-wrong" from https://obrolan.dev/problems/code-wrong).
export function slug(error) {
  const type = error?.problem?.type || "";
  return type.slice(type.lastIndexOf("/") + 1);
}

// What went wrong, in the reader's language when obrolan knows the problem, else the
// server's own words.
export function problemText(error) {
  switch (slug(error)) {
    case "code-wrong": return t("me.error.codeWrong");
    case "code-expired": return t("me.error.codeExpired");
    case "code-exhausted": return t("me.error.codeExhausted");
    case "no-code": return t("me.error.noCode");
    case "totp-invalid": return t("me.error.totpInvalid");
    case "invalid-credentials": return t("me.error.password");
    case "rate-limited": return t("me.error.rateLimited");
    case "too-large": return t("me.error.photoTooLarge");
    case "too-many-pixels": return t("me.error.photoTooLarge");
    case "unsupported-media-type": return t("me.error.photoType");
    case "not-an-image": return t("me.error.photoType");
    default: return error?.message || String(error);
  }
}

// A request whose body is not JSON (the photo), with the session's token.
export async function sendBytes(method, path, body, type) {
  const headers = { Accept: "application/json" };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (type) headers["Content-Type"] = type;
  let response;
  try {
    response = await fetch(`/api/v1${path}`, { method, headers, body });
  } catch {
    throw new ApiError(0, { detail: t("error.network") });
  }
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({})));
  return response;
}

export { formatDateTime } from "../core/i18n.js";
