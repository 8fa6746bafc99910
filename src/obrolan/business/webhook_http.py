"""The two HTTP calls to a business's callback: the verification GET and the event POST.

No redirects are followed (the callback registered is the one that gets the events)
and at most `ANSWER_BYTES` of an answer are read, so neither a misbehaving callback nor
a huge answer costs more than the timeout and a few KB.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass

import httpx

from obrolan.clock import Clock

ANSWER_BYTES = 4096


def signature(app_secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 value: HMAC-SHA256 of the exact body under the app secret."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Answer:
    """What the callback answered: its status and the start of its body, or why it did not."""

    status_code: int | None
    text: str
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def client(seconds: float) -> httpx.AsyncClient:
    # httpx's timeout bounds each phase (connect, each read); `call` bounds the whole.
    return httpx.AsyncClient(follow_redirects=False, timeout=seconds)


async def call(
    http: httpx.AsyncClient,
    request: httpx.Request,
    *,
    seconds: float,
    clock: Clock,
) -> Answer:
    started = clock.monotonic()
    status: int | None = None
    read = b""
    error: str | None = None
    try:
        async with asyncio.timeout(seconds):
            response = await http.send(request, stream=True)
            try:
                status = response.status_code
                async for chunk in response.aiter_bytes():
                    read += chunk
                    if len(read) >= ANSWER_BYTES:
                        break
            finally:
                await response.aclose()
    except TimeoutError:
        status, error = None, f"no answer within {seconds:g} s"
    except httpx.HTTPError as exc:
        # The type only: a message may carry the URL's credentials or the answer.
        status, error = None, type(exc).__name__
    duration_ms = max(0, round((clock.monotonic() - started) * 1000))
    if error is None and status is not None and not 200 <= status < 300:
        error = f"HTTP {status}"
    text = read[:ANSWER_BYTES].decode("utf-8", errors="replace")
    return Answer(status, text, error, duration_ms)


async def verify(
    url: str, verify_token: str, challenge: str, *, seconds: float, clock: Clock
) -> Answer:
    """The Cloud API's subscription check: GET with hub.mode, hub.verify_token, hub.challenge."""
    async with client(seconds) as http:
        request = http.build_request(
            "GET",
            url,
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": verify_token,
                "hub.challenge": challenge,
            },
        )
        return await call(http, request, seconds=seconds, clock=clock)


def event_request(http: httpx.AsyncClient, url: str, body: bytes, app_secret: str) -> httpx.Request:
    return http.build_request(
        "POST",
        url,
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature(app_secret, body),
        },
    )
