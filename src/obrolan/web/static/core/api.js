// The REST API: JSON in and out, the session's token, problem details as ApiError.
import { state } from "./state.js";
import { t } from "./i18n.js";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

let onUnauthorised = () => {};

// What to do when the server no longer knows the token (the session ended elsewhere).
export function whenUnauthorised(handler) {
  onUnauthorised = handler;
}

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { detail: t("error.network") });
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    if (response.status === 401 && state.token && path !== "/sessions") onUnauthorised();
    throw new ApiError(response.status, data);
  }
  return data;
}
