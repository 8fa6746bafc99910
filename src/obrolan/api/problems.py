"""The one place where errors become RFC 9457 `application/problem+json` responses."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from obrolan.errors import Invalid, ObrolanError, RateLimited

PROBLEM_JSON = "application/problem+json"

_HTTP_SLUGS = {404: "not-found", 405: "method-not-allowed", 401: "unauthenticated"}


def problem_response(error: ObrolanError, request: Request) -> JSONResponse:
    body = error.to_dict()
    body["instance"] = request.url.path
    headers = {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    if error.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=error.status, media_type=PROBLEM_JSON, headers=headers)


def validation_problem(exc: RequestValidationError) -> Invalid:
    errors = exc.errors()
    first = errors[0] if errors else {}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
    field = ".".join(loc) or None
    detail = f"{field}: {first.get('msg')}" if field else str(first.get("msg", "invalid input"))
    return Invalid(
        detail,
        field=field,
        extra={"errors": [_plain_error(e) for e in errors[:20]]},
    )


def _plain_error(error: Any) -> dict[str, Any]:
    return {
        "field": ".".join(
            str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")
        ),
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
        error.title = str(exc.detail)
        return problem_response(error, request)
