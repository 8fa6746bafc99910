"""Pure notification decisions: how a webhook body is signed, how an address is logged.

No I/O here, so each is unit-tested without a server.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

Language = Literal["en", "id"]
LANGUAGES: tuple[Language, ...] = ("en", "id")

SIGNATURE_HEADER = "X-Obrolan-Signature"


def webhook_signature(secret: str, body: bytes) -> str:
    """The signature header's value: `sha256=` and the hex HMAC-SHA256 of the exact body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str, body: bytes, header: str) -> bool:
    """Whether `header` is the signature of `body` (constant-time, for receivers)."""
    return hmac.compare_digest(webhook_signature(secret, body), header)


def elide_address(address: str) -> str:
    """An address as development logs show it: enough to tell two apart, not to use one.

    `sari@contoh.id` → `s…@contoh.id`; `+6281234567890` → `+62…90`.
    """
    local, at, domain = address.partition("@")
    if at:
        return f"{local[:1]}…@{domain}"
    return f"{address[:3]}…{address[-2:]}" if len(address) > 6 else "…"
