"""The audit log (R7): append-only, hash-chained, about people by id only.

Services record what must leave evidence — sign-ins, data requests and their steps,
retention runs, exports, key destructions, operator actions, every operator read of a
person's data — in the same transaction as the thing itself, so an entry exists exactly
when the action committed. Each entry carries the keyed hash of the one before it
(obrolan.privacy.rules.entry_hash); `verify` walks the chain and names the first entry
that was edited, removed or inserted.

Appends take turns (a PostgreSQL transaction lock, SQLite's single writer), held from
the append to the commit: record at the end of a transaction, and never on the message
path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.clock import Clock
from obrolan.crypto import KeyRing
from obrolan.db import Database
from obrolan.ids import new_id
from obrolan.privacy import store
from obrolan.privacy.rules import GENESIS, AuditEntry, ChainBreak, entry_hash, first_break

# In an entry's detail: an ISO-8601 time before which the person it is about does not
# see it in their own audit view (a legal hold on a lawful access, R7).
HIDDEN_UNTIL = "hidden_until"


class ActorRole(StrEnum):
    person = "person"
    operator = "operator"
    system = "system"  # obrolan itself: a sweep, a job


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """What to record. `detail` holds ids, counts and rule names, never personal data."""

    action: str
    actor_id: str | None
    actor_role: ActorRole
    subject_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Verification:
    entries: int
    head_seq: int | None
    head_hash: bytes | None
    broken: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.broken is None


class AuditLog:
    def __init__(self, keyring: KeyRing, clock: Clock) -> None:
        self._key = keyring.audit_key
        self.clock = clock

    async def record(
        self, conn: AsyncConnection, *events: AuditEvent, at: datetime | None = None
    ) -> list[AuditEntry]:
        """Append `events` to the chain in this transaction; the entries as written."""
        if not events:
            return []
        at = at or self.clock.now()
        await store.lock_audit_chain(conn)
        head = await store.audit_head(conn)
        seq, prev = head if head is not None else (0, GENESIS)
        entries = []
        for ev in events:
            seq += 1
            entry_id = new_id()
            detail = orjson.dumps(ev.detail, option=orjson.OPT_SORT_KEYS)
            digest = entry_hash(
                self._key,
                prev,
                seq,
                entry_id,
                at,
                ev.actor_id,
                ev.actor_role,
                ev.action,
                ev.subject_id,
                detail,
            )
            entries.append(
                AuditEntry(
                    seq,
                    entry_id,
                    at,
                    ev.actor_id,
                    str(ev.actor_role),
                    ev.action,
                    ev.subject_id,
                    detail,
                    prev,
                    digest,
                )
            )
            prev = digest
        await store.insert_audit_entries(conn, entries)
        return entries

    async def about(
        self,
        conn: AsyncConnection,
        subject_id: str,
        *,
        now: datetime,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """The entries about one person that they may see now, newest first.

        An entry whose detail holds `hidden_until` (a lawful access under a legal hold)
        is left out until that moment has passed.
        """
        entries = await store.audit_entries_about(
            conn, subject_id, before_seq=before_seq, limit=limit
        )
        return [e for e in entries if not _hidden(e, now)]

    async def verify(self, db: Database) -> Verification:
        """Walk the whole chain; the first entry that breaks it, if any."""
        count = 0
        last: AuditEntry | None = None
        broken: ChainBreak | None = None
        async with db.read() as conn:
            expected_seq: int | None = None
            expected_prev: bytes | None = None
            async for entry in store.all_audit_entries(conn):
                if expected_seq is None and entry.seq == 1:
                    expected_seq, expected_prev = 1, GENESIS
                broken = first_break(
                    self._key, [entry], start_seq=expected_seq, start_hash=expected_prev
                )
                if broken is not None:
                    break
                count += 1
                last = entry
                expected_seq, expected_prev = entry.seq + 1, entry.hash
        return Verification(
            count,
            None if last is None else last.seq,
            None if last is None else last.hash,
            broken,
        )


def _hidden(entry: AuditEntry, now: datetime) -> bool:
    until = orjson.loads(entry.detail).get(HIDDEN_UNTIL)
    return isinstance(until, str) and datetime.fromisoformat(until) > now
