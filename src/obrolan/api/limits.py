"""A bound on the size of request bodies, applied before anyone reads them (principle 7).

Frameworks read a body whole before a route sees it, so a limit checked by a route comes
too late: a 100 MB body was already in memory. This middleware refuses a declared
`Content-Length` over the limit before reading a byte, and stops reading a body of
unknown length (chunked) as soon as it passes the limit. A route that takes larger
bodies gets its own bound by its exact path (a photo upload) or, for a path with an id
in it, by a pattern the whole path matches (a business's media upload).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from obrolan.api.problems import problem_for_path
from obrolan.errors import ObrolanError, PayloadTooLarge

# The answer to a refused request at a path (the problem; another shape on another surface).
Refusal = Callable[[ObrolanError, str], ASGIApp]


class _BodyTooLarge(Exception):
    """Raised into the application when the body it is reading passes the limit."""


class RequestSizeLimit:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        max_bytes_by_path: Mapping[str, int] | None = None,
        max_bytes_by_pattern: Sequence[tuple[str, int]] = (),
        refusal: Refusal = problem_for_path,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_bytes_by_path = dict(max_bytes_by_path or {})
        self.max_bytes_by_pattern = [(re.compile(p), limit) for p, limit in max_bytes_by_pattern]
        self.refusal = refusal

    def limit_for(self, path: str) -> int:
        if path in self.max_bytes_by_path:
            return self.max_bytes_by_path[path]
        for pattern, limit in self.max_bytes_by_pattern:
            if pattern.fullmatch(path):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            # The HTTP server throws away whatever of the body still arrives.
            await self._refuse(scope, send, limit)
            return

        received = 0
        exceeded = False
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if exceeded:
                return  # the application's answer to a cut-off body: ours goes instead
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not response_started:
            await self._refuse(scope, send, limit)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        error = PayloadTooLarge(f"a request body is at most {limit} bytes")
        await self.refusal(error, scope["path"])(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP server refuses a malformed one before we see it
    return None
