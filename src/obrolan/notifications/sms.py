"""Outgoing SMS: a signed JSON webhook to the operator's SMS gateway, or the log.

The webhook body is `{"to": "+62…", "text": "…", "message_id": "…"}`, POSTed with
`X-Obrolan-Signature: sha256=<hex HMAC-SHA256 of the body under the shared secret>`;
the gateway checks it before it sends. A non-2xx answer raises, so the job retries.
"""

from __future__ import annotations

from typing import Protocol

import httpx
import orjson
import structlog

from obrolan.config import Settings
from obrolan.notifications.rules import SIGNATURE_HEADER, elide_address, webhook_signature

log = structlog.get_logger("obrolan.sms")


class SmsSender(Protocol):
    async def send(self, *, to: str, text: str, message_id: str) -> None: ...


class WebhookSmsSender:
    def __init__(self, settings: Settings) -> None:
        self.url = settings.sms_webhook_url
        self.secret = settings.sms_webhook_secret
        self.timeout = settings.sms_webhook_timeout_seconds

    async def send(self, *, to: str, text: str, message_id: str) -> None:
        body = orjson.dumps({"to": to, "text": text, "message_id": message_id})
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: webhook_signature(self.secret, body),
        }
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.post(self.url, content=body, headers=headers)
        response.raise_for_status()


class ConsoleSmsSender:
    """For development: logs that an SMS went out, to an elided number; its text only at
    debug level (`OBROLAN_LOG_LEVEL=debug`), as the console mail backend does."""

    async def send(self, *, to: str, text: str, message_id: str) -> None:
        log.info("sms not sent: console backend", to=elide_address(to), message_id=message_id)
        log.debug("sms text (console backend)", message_id=message_id, text=text)


def sms_sender(settings: Settings) -> SmsSender:
    return WebhookSmsSender(settings) if settings.sms_backend == "webhook" else ConsoleSmsSender()
