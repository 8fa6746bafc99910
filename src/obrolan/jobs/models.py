"""The jobs table: the outbox that background work is queued in, in the caller's transaction."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, LargeBinary, String, Table

from obrolan.db import UTCDateTime, data, metadata, system

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(26), primary_key=True, info=system("jobs")),
    Column("kind", String(64), nullable=False, info=system("jobs")),
    # JSON naming what to work on by id (a person's id, a room's id), never personal
    # content: declared as ids of people, kept as long as the job.
    Column(
        "payload",
        LargeBinary,
        nullable=False,
        info=data("user.unique_id", "essential.service.operations", "jobs"),
    ),
    # The same key twice is one job (a period of a recurring job, one webhook delivery).
    Column("idempotency_key", String(200), nullable=True, unique=True, info=system("jobs")),
    # queued | running | failed (waiting to be retried) | done | dead | cancelled
    Column("state", String(16), nullable=False, info=system("jobs")),
    Column("attempts", Integer, nullable=False, info=system("jobs")),
    Column("max_attempts", Integer, nullable=False, info=system("jobs")),
    # No retries after this moment; None: retried until max_attempts.
    Column("expires_at", UTCDateTime, nullable=True, info=system("jobs")),
    Column("run_at", UTCDateTime, nullable=False, info=system("jobs")),
    Column("created_at", UTCDateTime, nullable=False, info=system("jobs")),
    Column("claimed_by", String(64), nullable=True, info=system("jobs")),
    Column("lease_until", UTCDateTime, nullable=True, info=system("jobs")),
    # The failing exception's type name only: its message may hold personal data.
    Column("last_error", String(200), nullable=True, info=system("jobs")),
    Column("finished_at", UTCDateTime, nullable=True, info=system("jobs")),
    # Claims look for due jobs by state and time.
    Index("ix_jobs_state_run_at", "state", "run_at"),
)
