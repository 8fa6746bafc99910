"""The one place where errors become RFC 9457 `application/problem+json` responses."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from obrolan.errors import InternalError, Invalid, ObrolanError, RateLimited

PROBLEM_JSON = "application/problem+json"

_HTTP_SLUGS = {
    400: "bad-request",
    401: "unauthenticated",
    404: "not-found",
    405: "method-not-allowed",
}
# Where FastAPI found the input, first in an error's location; the field's name follows.
_LOCATIONS = ("body", "query", "path", "header", "cookie")


def problem_response(
    error: ObrolanError, request: Request, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return problem_for_path(error, request.url.path, headers)


def problem_for_path(
    error: ObrolanError, path: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The problem answer for a request at `path`; for ASGI middleware, which has no Request."""
    body = error.to_dict()
    body["instance"] = path
    headers = dict(headers or {})
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    if error.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=error.status, media_type=PROBLEM_JSON, headers=headers)


def validation_problem(exc: RequestValidationError) -> Invalid:
    errors = exc.errors()
    first = errors[0] if errors else {}
    field = _field(first)
    return Invalid(
        _detail(first, field),
        field=field,
        extra={"errors": [_plain_error(e) for e in errors[:20]]},
    )


def _field(error: Any) -> str | None:
    if error.get("type") == "json_invalid":
        return None  # its location is a character offset, not a field
    loc = tuple(error.get("loc", ()))
    # Only the first part names where the input was: a message's own field is "body" too.
    if loc and loc[0] in _LOCATIONS:
        loc = loc[1:]
    return ".".join(str(p) for p in loc) or None


def _detail(error: Any, field: str | None) -> str:
    kind = error.get("type")
    if kind == "json_invalid":
        reason = error.get("ctx", {}).get("error", "a syntax error")
        return f"the body is not valid JSON: {reason}"
    if field is None and tuple(error.get("loc", ())) == ("body",):
        # The body as a whole: absent, or not an object (often not sent as JSON at all).
        return "send a JSON object as the body, with Content-Type: application/json"
    message = str(error.get("msg", "invalid input"))
    return f"{field}: {message}" if field else message


def _plain_error(error: Any) -> dict[str, Any]:
    return {
        "field": _field(error) or "",
        "message": error.get("msg"),
        "kind": error.get("type"),
    }


def install(app: FastAPI) -> None:
    @app.exception_handler(ObrolanError)
    async def _obrolan_error(request: Request, exc: ObrolanError) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(validation_problem(exc), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        error = ObrolanError(
            str(exc.detail), type_slug=_HTTP_SLUGS.get(exc.status_code, "http-error")
        )
        error.status = exc.status_code
        error.title = HTTPStatus(exc.status_code).phrase
        # Keeps the headers the status needs, such as Allow on a 405 (RFC 9110).
        return problem_response(error, request, exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        # Starlette logs the exception with its traceback once this answer is sent;
        # the client learns only that the fault is ours.
        error = InternalError("something went wrong on the server; it has been logged")
        return problem_response(error, request)
