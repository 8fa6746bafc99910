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

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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

# The entry the retention rule leaves where it removed the oldest entries (R5): its
# detail names the last entry removed and that entry's hash, so the chain that is left
# can still be checked from its new first entry.
PRUNED = "audit.pruned"
# Entries removed per transaction: a batch holds the chain's lock only milliseconds.
PRUNE_BATCH = 500


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


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The chain's head at one moment, kept outside the database (the log, the operator).

    A later walk that does not reach `seq`, or finds a different hash there, shows the
    table was cut short or rewritten after the checkpoint was taken.
    """

    seq: int
    hash: bytes

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """`SEQ:HEX` as `obrolan audit checkpoint` prints it; ValueError otherwise."""
        seq_text, sep, hex_text = text.strip().partition(":")
        if not sep or not seq_text.isdigit() or int(seq_text) < 1:
            raise ValueError(f"{text!r} is not SEQ:HEX (e.g. 42:9f86d0...)")
        try:
            digest = bytes.fromhex(hex_text)
        except ValueError:
            digest = b""
        if len(digest) != 32:
            raise ValueError(f"{text!r}: the hash must be 64 hex digits")
        return cls(int(seq_text), digest)

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash.hex()}"


# Detail fields that steer the chain or the view, not what happened: never shown.
INTERNAL_DETAIL = frozenset({HIDDEN_UNTIL})


@dataclass(frozen=True, slots=True)
class OwnEntry:
    """An entry as the person it is about sees it: no operator's id, no internal fields."""

    seq: int
    at: datetime
    action: str
    actor_role: str
    by_me: bool
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OwnPage:
    entries: list[OwnEntry]
    # The seq to pass as `before_seq` for older entries; None on the last page.
    next: int | None


@dataclass(frozen=True, slots=True)
class Head:
    """The newest entry and how many entries the table holds."""

    seq: int | None
    hash: bytes | None
    entries: int


class AuditLog:
    def __init__(
        self, keyring: KeyRing, clock: Clock, *, kept: timedelta = timedelta(days=365)
    ) -> None:
        self._key = keyring.audit_key
        self.clock = clock
        # R5: how long an entry is kept (privacy_log_days) before `prune` removes it.
        self.kept = kept

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

    async def own_view(
        self, db: Database, subject_id: str, *, before_seq: int | None, limit: int
    ) -> OwnPage:
        """A page of what a person may see about themselves now, newest first (R7)."""
        async with db.read() as conn:
            return await self.own_page(
                conn, subject_id, now=self.clock.now(), before_seq=before_seq, limit=limit
            )

    async def own_page(
        self,
        conn: AsyncConnection,
        subject_id: str,
        *,
        now: datetime,
        before_seq: int | None,
        limit: int,
    ) -> OwnPage:
        """`own_view` in a snapshot the caller holds (an export reads all in one).

        Entries under a legal hold (`hidden_until`) are left out until it ends; `detail`
        loses the fields that are only for the chain; no operator is named.
        """
        raw = await store.audit_entries_about(
            conn, subject_id, before_seq=before_seq, limit=limit + 1
        )
        more = len(raw) > limit
        raw = raw[:limit]
        views = [_own(e, subject_id) for e in raw if not _hidden(e, now)]
        return OwnPage(views, raw[-1].seq if more else None)

    async def head(self, db: Database) -> Head:
        """The newest entry's seq and hash, and the number of entries: a checkpoint to keep."""
        async with db.read() as conn:
            head = await store.audit_head(conn)
            count = await store.audit_count(conn)
        return Head(None, None, count) if head is None else Head(head[0], head[1], count)

    async def verify(self, db: Database, checkpoints: Sequence[Checkpoint] = ()) -> Verification:
        """Walk the whole chain; the first entry that breaks it, if any.

        A chain starts at seq 1 after GENESIS, or, once the retention rule removed its
        oldest entries, right after the entry the newest `audit.pruned` marker names, with
        that entry's hash: removing anything more from the start is a break. Each of
        `checkpoints` must still be there with the same hash (or lie in the pruned part):
        that is how cutting entries off the end is caught.
        """
        count = 0
        last: AuditEntry | None = None
        broken: ChainBreak | None = None
        async with db.read() as conn:
            pruned = _marker(await store.newest_audit_entry(conn, PRUNED))
            expected_seq: int | None = None
            expected_prev: bytes | None = None
            seen: dict[int, AuditEntry] = {}
            wanted = {c.seq for c in checkpoints}
            async for entry in store.all_audit_entries(conn):
                if expected_seq is None:
                    expected_seq, expected_prev = (1, GENESIS) if pruned is None else pruned
                    if entry.seq != expected_seq and pruned is None:
                        broken = ChainBreak(
                            entry.seq,
                            entry.id,
                            f"the chain starts at {entry.seq}, and no {PRUNED} entry accounts"
                            f" for entries 1..{entry.seq - 1}: they were removed",
                        )
                        break
                broken = first_break(
                    self._key, [entry], start_seq=expected_seq, start_hash=expected_prev
                )
                if broken is not None:
                    break
                if entry.seq in wanted:
                    seen[entry.seq] = entry
                count += 1
                last = entry
                expected_seq, expected_prev = entry.seq + 1, entry.hash
        if broken is None:
            first_kept = None if pruned is None else pruned[0]
            broken = _checkpoint_break(checkpoints, seen, first_kept, last)
        return Verification(
            count,
            None if last is None else last.seq,
            None if last is None else last.hash,
            broken,
        )

    async def prune(self, db: Database, now: datetime) -> int:
        """Remove entries older than the retention rule allows, oldest first (R5).

        Only a run of the oldest entries goes, never one from the middle: each batch is
        removed in one transaction with the `audit.pruned` marker that names its last
        entry and that entry's hash, so `verify` still holds from the first entry kept.
        The number of entries removed.
        """
        cutoff = now - self.kept
        removed = 0
        while True:
            async with db.write_lock, db.writer() as conn, conn.begin():
                await store.lock_audit_chain(conn)
                oldest = await store.audit_entries(conn, 0, PRUNE_BATCH)
                head = await store.audit_head(conn)
                run = []
                for entry in oldest:
                    # The newest entry always stays: the marker is chained to it, and a
                    # chain with nothing left would start again at 1.
                    if entry.at >= cutoff or (head is not None and entry.seq == head[0]):
                        break
                    run.append(entry)
                if not run:
                    return removed
                through = run[-1]
                await store.delete_audit_entries_through(conn, through.seq)
                await self.record(
                    conn,
                    AuditEvent(
                        PRUNED,
                        None,
                        ActorRole.system,
                        detail={
                            "through_seq": through.seq,
                            "hash": through.hash.hex(),
                            "removed": len(run),
                        },
                    ),
                    at=now,
                )
            removed += len(run)
            if len(run) < PRUNE_BATCH:
                return removed


def _marker(entry: AuditEntry | None) -> tuple[int, bytes] | None:
    """Where the chain left by the newest prune starts: (seq, the hash before it)."""
    if entry is None:
        return None
    detail = orjson.loads(entry.detail)
    return int(detail["through_seq"]) + 1, bytes.fromhex(detail["hash"])


def _checkpoint_break(
    checkpoints: Sequence[Checkpoint],
    seen: dict[int, AuditEntry],
    first_kept: int | None,
    last: AuditEntry | None,
) -> ChainBreak | None:
    head = 0 if last is None else last.seq
    for checkpoint in sorted(checkpoints, key=lambda c: c.seq):
        if first_kept is not None and checkpoint.seq < first_kept:
            continue  # removed by the retention rule, as its marker says
        found = seen.get(checkpoint.seq)
        if found is None:
            return ChainBreak(
                checkpoint.seq,
                "",
                f"checkpointed entry {checkpoint.seq} is missing: the log ends at {head}"
                " (entries were cut off the end)",
            )
        if found.hash != checkpoint.hash:
            return ChainBreak(
                checkpoint.seq,
                found.id,
                f"entry {checkpoint.seq} differs from its checkpoint (the chain was rewritten)",
            )
    return None


def _own(entry: AuditEntry, subject_id: str) -> OwnEntry:
    detail = {k: v for k, v in orjson.loads(entry.detail).items() if k not in INTERNAL_DETAIL}
    return OwnEntry(
        entry.seq, entry.at, entry.action, entry.actor_role, entry.actor_id == subject_id, detail
    )


def _hidden(entry: AuditEntry, now: datetime) -> bool:
    until = orjson.loads(entry.detail).get(HIDDEN_UNTIL)
    return isinstance(until, str) and datetime.fromisoformat(until) > now
