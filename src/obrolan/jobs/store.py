"""SQL for the jobs table. No decisions here: see rules.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from obrolan.jobs.models import jobs
from obrolan.jobs.rules import WAITING, JobState


@dataclass(frozen=True, slots=True)
class JobRow:
    id: str
    kind: str
    payload: bytes
    idempotency_key: str | None
    state: str
    attempts: int
    max_attempts: int
    expires_at: datetime | None
    run_at: datetime
    created_at: datetime
    claimed_by: str | None
    lease_until: datetime | None
    last_error: str | None
    finished_at: datetime | None


def _job(row: Row[Any]) -> JobRow:
    return JobRow(**row._mapping)


async def insert_job(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Insert one job; False when its idempotency key is already taken (nothing written)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(jobs).values(**values).on_conflict_do_nothing()
    result = await conn.execute(statement)
    return bool(result.rowcount)


async def job_by_id(conn: AsyncConnection, job_id: str) -> JobRow | None:
    row = (await conn.execute(select(jobs).where(jobs.c.id == job_id))).first()
    return _job(row) if row else None


async def job_by_key(conn: AsyncConnection, key: str) -> JobRow | None:
    row = (await conn.execute(select(jobs).where(jobs.c.idempotency_key == key))).first()
    return _job(row) if row else None


async def list_jobs(conn: AsyncConnection, state: str | None, limit: int) -> list[JobRow]:
    query = select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(limit)
    if state is not None:
        query = query.where(jobs.c.state == state)
    return [_job(r) for r in await conn.execute(query)]


def _claimable(kinds: Sequence[str], now: datetime) -> Any:
    # Waiting jobs that are due, and running ones whose worker's lease ran out (it died).
    return and_(
        jobs.c.kind.in_(kinds),
        jobs.c.attempts < jobs.c.max_attempts,
        or_(
            and_(jobs.c.state.in_(WAITING), jobs.c.run_at <= now),
            and_(jobs.c.state == JobState.RUNNING, jobs.c.lease_until <= now),
        ),
    )


async def claim_jobs(
    conn: AsyncConnection,
    kinds: Sequence[str],
    now: datetime,
    *,
    worker: str,
    lease_until: datetime,
    limit: int,
) -> list[JobRow]:
    """Mark up to `limit` claimable jobs running for `worker`, oldest due first.

    On PostgreSQL, FOR UPDATE SKIP LOCKED lets several processes claim at once without
    taking the same job or waiting on each other. SQLite has no row locks (SQLAlchemy
    leaves the clause out): its write transaction (BEGIN IMMEDIATE) already serialises.
    """
    if not kinds:
        return []
    ids = [
        r[0]
        for r in await conn.execute(
            select(jobs.c.id)
            .where(_claimable(kinds, now))
            .order_by(jobs.c.run_at, jobs.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ]
    if not ids:
        return []
    await conn.execute(
        update(jobs)
        .where(jobs.c.id.in_(ids))
        .values(
            state=JobState.RUNNING,
            claimed_by=worker,
            lease_until=lease_until,
            attempts=jobs.c.attempts + 1,
        )
    )
    rows = await conn.execute(select(jobs).where(jobs.c.id.in_(ids)).order_by(jobs.c.run_at))
    return [_job(r) for r in rows]


async def has_work(conn: AsyncConnection, kinds: Sequence[str], now: datetime) -> bool:
    """Whether any job is claimable or abandoned: a read, so an idle worker takes no write lock."""
    if not kinds:
        return False
    abandoned = and_(jobs.c.state == JobState.RUNNING, jobs.c.lease_until <= now)
    found = await conn.execute(
        select(jobs.c.id)
        .where(jobs.c.kind.in_(kinds), or_(_claimable(kinds, now), abandoned))
        .limit(1)
    )
    return found.first() is not None


async def bury_abandoned(conn: AsyncConnection, kinds: Sequence[str], now: datetime) -> int:
    """Running jobs whose lease ran out with no attempts left become dead."""
    if not kinds:
        return 0
    result = await conn.execute(
        update(jobs)
        .where(
            jobs.c.kind.in_(kinds),
            jobs.c.state == JobState.RUNNING,
            jobs.c.lease_until <= now,
            jobs.c.attempts >= jobs.c.max_attempts,
        )
        .values(state=JobState.DEAD, lease_until=None, finished_at=now, last_error="lease expired")
    )
    return int(result.rowcount)


async def renew_lease(
    conn: AsyncConnection, job: JobRow, now: datetime, lease_until: datetime
) -> bool:
    """Extend this claim's lease to `lease_until`, only while it still holds the job.

    False when the lease has already run out or another claim has the job: the caller
    must not run it.
    """
    result = await conn.execute(
        update(jobs)
        .where(
            jobs.c.id == job.id,
            jobs.c.state == JobState.RUNNING,
            jobs.c.claimed_by == job.claimed_by,
            jobs.c.attempts == job.attempts,
            jobs.c.lease_until > now,
        )
        .values(lease_until=lease_until)
    )
    return bool(result.rowcount)


async def settle_claimed(conn: AsyncConnection, job: JobRow, values: dict[str, Any]) -> bool:
    """Record an attempt's outcome, only while the job is still this claim's.

    A worker that outlived its lease finds the job claimed again by another and
    changes nothing: the other claim's outcome is the one that counts.
    """
    result = await conn.execute(
        update(jobs)
        .where(
            jobs.c.id == job.id,
            jobs.c.state == JobState.RUNNING,
            jobs.c.claimed_by == job.claimed_by,
            jobs.c.attempts == job.attempts,
        )
        .values(lease_until=None, **values)
    )
    return bool(result.rowcount)


async def set_state(
    conn: AsyncConnection, job_id: str, from_states: Sequence[str], values: dict[str, Any]
) -> bool:
    """Change a job that is in one of `from_states`; False when it is not."""
    result = await conn.execute(
        update(jobs).where(jobs.c.id == job_id, jobs.c.state.in_(from_states)).values(**values)
    )
    return bool(result.rowcount)


@dataclass(frozen=True, slots=True)
class StateCount:
    state: str
    count: int
    oldest_run_at: datetime | None


async def count_by_state(conn: AsyncConnection) -> list[StateCount]:
    """Jobs per unfinished state with the earliest `run_at` of each, in one query."""
    rows = await conn.execute(
        select(jobs.c.state, func.count(), func.min(jobs.c.run_at))
        .where(jobs.c.state.not_in([JobState.DONE, JobState.CANCELLED]))
        .group_by(jobs.c.state)
    )
    # min() keeps the column's type, so run_at comes back as an aware UTC datetime.
    return [StateCount(r[0], int(r[1]), r[2]) for r in rows]


def _finished(done_before: datetime, dead_before: datetime) -> ColumnElement[bool]:
    return or_(
        and_(
            jobs.c.state.in_([JobState.DONE, JobState.CANCELLED]),
            jobs.c.finished_at <= done_before,
        ),
        and_(jobs.c.state == JobState.DEAD, jobs.c.finished_at <= dead_before),
    )


async def delete_finished(
    conn: AsyncConnection, *, done_before: datetime, dead_before: datetime, limit: int
) -> int:
    """Delete up to `limit` done or cancelled jobs finished before `done_before`, and dead
    ones finished before `dead_before`; how many."""
    old = select(jobs.c.id).where(_finished(done_before, dead_before)).limit(limit)
    result = await conn.execute(delete(jobs).where(jobs.c.id.in_(old.scalar_subquery())))
    return int(result.rowcount)


# -- the retention sweep's dry run and evidence --------------------------------------
async def count_finished(
    conn: AsyncConnection, *, done_before: datetime, dead_before: datetime
) -> int:
    """How many jobs `delete_finished` would delete."""
    found = select(func.count()).where(_finished(done_before, dead_before))
    return int((await conn.execute(found)).scalar_one())


async def oldest_finished(conn: AsyncConnection) -> datetime | None:
    """When the longest-finished job still kept finished."""
    value: datetime | None = (await conn.execute(select(func.min(jobs.c.finished_at)))).scalar_one()
    return value
