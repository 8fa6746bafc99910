"""The Graph API's edge: Bearer tokens of one business, errors in Graph shape.

Routes of the Cloud API surface use `GraphRoute`, which turns every error raised under
them (our own, a validation error, a Starlette HTTP error) into the Graph answer
`{"error": {"message", "type", "code", "error_subcode"?, "error_data"?, "fbtrace_id"}}`
with the HTTP status the Cloud API gives, so that client libraries raise their own
typed errors (pywa maps `code`; COMPAT.md §1).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from obrolan.api.problems import problem_for_path
from obrolan.errors import ObrolanError
from obrolan.ids import new_id

# A Graph path's version segment: /v25.0/..., /v15/...
VERSION_PATTERN = r"^v\d{1,3}(\.\d{1,3})?$"


class GraphError(Exception):
    """An error in the Cloud API's terms: its code, HTTP status and wording."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        status: int = 400,
        details: str | None = None,
        subcode: int | None = None,
        kind: str = "OAuthException",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details = details
        self.subcode = subcode
        self.kind = kind

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": f"(#{self.code}) {self.message}",
            "type": self.kind,
            "code": self.code,
            "fbtrace_id": new_id(),
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.details is not None:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        return {"error": error}


class RelayedError(Exception):
    """An upstream Cloud API's error answer, passed on to the business as it came."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"upstream answered {status}")
        self.status = status
        self.body = body


def invalid_token(detail: str = "Invalid OAuth access token.") -> GraphError:
    return GraphError(190, detail, status=401)


def invalid_parameter(details: str) -> GraphError:
    return GraphError(100, "Invalid parameter", details=details)


def missing_parameter(details: str) -> GraphError:
    return GraphError(131008, "Required parameter is missing", details=details)


def parameter_value(details: str) -> GraphError:
    return GraphError(131009, "Parameter value is not valid", details=details)


def unknown_object(object_id: str) -> GraphError:
    return GraphError(
        100,
        "Invalid parameter",
        subcode=33,
        details=f"Unsupported request - object with ID '{object_id}' does not exist,"
        " cannot be loaded due to missing permissions, or does not support this operation",
    )


# Our own errors, in Graph terms.
_FROM_OBROLAN = {
    401: lambda e: invalid_token(e.detail),
    403: lambda e: GraphError(10, e.detail, status=403),
    404: lambda e: GraphError(100, "Invalid parameter", subcode=33, details=e.detail, status=400),
    409: lambda e: GraphError(100, "Invalid parameter", details=e.detail),
    413: lambda e: GraphError(131052, "Media upload error", details=e.detail, status=413),
    415: lambda e: GraphError(131053, "Media upload error", details=e.detail),
    429: lambda e: GraphError(130429, "Rate limit hit", details=e.detail, status=429),
}


def from_obrolan(error: ObrolanError) -> GraphError:
    make = _FROM_OBROLAN.get(error.status)
    if make is not None:
        return make(error)
    if error.status >= 500:
        return GraphError(131000, "Something went wrong", status=500, kind="OAuthException")
    return GraphError(100, "Invalid parameter", details=error.detail)


def from_validation(exc: RequestValidationError) -> GraphError:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
    if first.get("type") == "missing":
        return missing_parameter(f"{where} is required")
    return invalid_parameter(f"{where}: {first.get('msg', 'is not valid')}")


def refusal_for_path(error: ObrolanError, path: str) -> JSONResponse:
    """A middleware's refusal (a body too large): in Graph shape under /v{N}/, else a problem."""
    first = path.lstrip("/").split("/", 1)[0]
    if re.match(VERSION_PATTERN, first):
        return graph_response(from_obrolan(error))
    return problem_for_path(error, path)


def graph_response(error: GraphError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


class GraphRoute(APIRoute):
    """An APIRoute whose errors are answered in Graph shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def graph_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except GraphError as error:
                return graph_response(error)
            except RelayedError as relayed:
                return JSONResponse(relayed.body, status_code=relayed.status)
            except ObrolanError as error:
                return graph_response(from_obrolan(error))
            except RequestValidationError as exc:
                return graph_response(from_validation(exc))
            except StarletteHTTPException as exc:
                code = 190 if exc.status_code == 401 else 100
                return graph_response(GraphError(code, str(exc.detail), status=exc.status_code))

        return graph_handler
