"""Pure privacy rules: request deadlines and the audit log's hash chain."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import orjson

from obrolan.config import Settings


class RequestKind(StrEnum):
    access = "access"
    rectification = "rectification"
    erasure = "erasure"
    restriction = "restriction"
    objection = "objection"


class RequestStatus(StrEnum):
    received = "received"
    in_progress = "in_progress"
    done = "done"
    refused = "refused"
    cancelled = "cancelled"


OPEN_STATUSES = frozenset({RequestStatus.received, RequestStatus.in_progress})

# UU PDP Art. 32 (access, rectification) and Art. 41 (restriction) give 3x24 hours.
URGENT_KINDS = frozenset({RequestKind.access, RequestKind.rectification, RequestKind.restriction})


def request_deadline(kind: RequestKind, opened_at: datetime, settings: Settings) -> datetime:
    """When a request must be answered: the shortest deadline that applies to it (R13)."""
    deadlines = [timedelta(days=settings.privacy_request_days)]
    if kind in URGENT_KINDS:
        deadlines.append(timedelta(hours=settings.privacy_urgent_request_hours))
    return opened_at + min(deadlines)


def is_overdue(status: str, deadline_at: datetime, now: datetime) -> bool:
    """An open request whose deadline has come (at the deadline itself it is overdue)."""
    return status in OPEN_STATUSES and now >= deadline_at


# -- the audit chain (R7) --------------------------------------------------------------

GENESIS = bytes(32)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    id: str
    at: datetime
    actor_id: str | None
    actor_role: str
    action: str
    subject_id: str | None
    detail: bytes
    prev_hash: bytes
    hash: bytes


def entry_hash(
    key: bytes,
    prev_hash: bytes,
    seq: int,
    entry_id: str,
    at: datetime,
    actor_id: str | None,
    actor_role: str,
    action: str,
    subject_id: str | None,
    detail: bytes,
) -> bytes:
    """HMAC-SHA256 over the previous hash and every field: change any and it differs.

    Keyed (the key is derived from the KEK), so someone who can write the database but
    does not hold the KEK cannot compute the hashes of forged or re-chained entries.
    """
    fields: list[Any] = [
        seq,
        entry_id,
        at.isoformat(),
        actor_id,
        actor_role,
        action,
        subject_id,
        detail.decode(),
    ]
    return hmac.new(key, prev_hash + orjson.dumps(fields), hashlib.sha256).digest()


def recomputed(key: bytes, entry: AuditEntry) -> bytes:
    return entry_hash(
        key,
        entry.prev_hash,
        entry.seq,
        entry.id,
        entry.at,
        entry.actor_id,
        entry.actor_role,
        entry.action,
        entry.subject_id,
        entry.detail,
    )


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first entry at which the chain does not hold, and how."""

    seq: int
    entry_id: str
    problem: str


def first_break(
    key: bytes,
    entries: Iterable[AuditEntry],
    *,
    start_seq: int | None = None,
    start_hash: bytes | None = None,
) -> ChainBreak | None:
    """Walk the chain in `seq` order; the first entry that was edited, removed or inserted.

    `start_seq`/`start_hash`: the entry the walk must start at and the hash before it (a
    chain whose oldest entries the retention rule removed starts past 1).
    """
    expected_seq = start_seq
    expected_prev = start_hash
    for entry in entries:
        if expected_seq is not None and entry.seq != expected_seq:
            problem = (
                f"entries {expected_seq}..{entry.seq - 1} are missing"
                if entry.seq > expected_seq
                else "out of order"
            )
            return ChainBreak(entry.seq, entry.id, problem)
        if expected_prev is not None and entry.prev_hash != expected_prev:
            return ChainBreak(
                entry.seq, entry.id, "does not follow the entry before it (removed or inserted)"
            )
        if not hmac.compare_digest(recomputed(key, entry), entry.hash):
            return ChainBreak(entry.seq, entry.id, "was edited: its hash does not match")
        expected_seq = entry.seq + 1
        expected_prev = entry.hash
    return None
