"""One error hierarchy for obrolan.

Services raise these; exactly one place turns them into RFC 9457 problem+json for HTTP
(`obrolan.api.problems`) and into error frames for the WebSocket (`obrolan.realtime`).
Each error has a stable `type` slug, documented in docs/api.md.
"""

from __future__ import annotations

from typing import Any


class ObrolanError(Exception):
    status: int = 400
    type_slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        type_slug: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        if type_slug:
            self.type_slug = type_slug
        self.extra = extra or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://obrolan.dev/problems/{self.type_slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body


class Invalid(ObrolanError):
    status = 422
    type_slug = "invalid"
    title = "Invalid input"


class Unauthenticated(ObrolanError):
    status = 401
    type_slug = "unauthenticated"
    title = "Authentication required"


class Forbidden(ObrolanError):
    status = 403
    type_slug = "forbidden"
    title = "Not allowed"


class NotFound(ObrolanError):
    status = 404
    type_slug = "not-found"
    title = "Not found"


class Conflict(ObrolanError):
    status = 409
    type_slug = "conflict"
    title = "Conflict"


class PayloadTooLarge(ObrolanError):
    status = 413
    type_slug = "too-large"
    title = "Too large"


class UnsupportedMediaType(ObrolanError):
    status = 415
    type_slug = "unsupported-media-type"
    title = "Unsupported media type"


class RateLimited(ObrolanError):
    status = 429
    type_slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, extra={"retry_after": retry_after})
        self.retry_after = retry_after


class InternalError(ObrolanError):
    """A fault of ours, not of the request: the details go to the log, never to the client."""

    status = 500
    type_slug = "internal-error"
    title = "Internal error"


class Unavailable(ObrolanError):
    status = 503
    type_slug = "unavailable"
    title = "Service unavailable"
