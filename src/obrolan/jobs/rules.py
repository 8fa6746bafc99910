"""Pure job decisions: when a failed job is tried again, and when it is given up.

No I/O: each function takes `now` (and a random source where it draws), so the
arithmetic is unit-tested without a worker.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    # An attempt raised; the job waits for `run_at` to be tried again.
    FAILED = "failed"
    DONE = "done"
    # Given up after its attempts or its age: kept for an operator to inspect or retry.
    DEAD = "dead"
    CANCELLED = "cancelled"


# States a worker may claim once `run_at` has come.
WAITING = (JobState.QUEUED, JobState.FAILED)
# States an operator may put back to queued.
RETRYABLE = (JobState.FAILED, JobState.DEAD)

BACKOFF_BASE = timedelta(seconds=2)
BACKOFF_CAP = timedelta(hours=1)
DEFAULT_MAX_ATTEMPTS = 10

# How long finished jobs stay in the table (the retention rule named "jobs").
DONE_KEPT = timedelta(days=7)
DEAD_KEPT = timedelta(days=30)


def retry_at(attempts: int, now: datetime, rng: random.Random) -> datetime:
    """When a job that has failed `attempts` times is tried again.

    Exponential (2 s, 4 s, 8 s, ... up to an hour) with "equal jitter": half the delay
    is fixed, so a retry never comes at once, and half random, so jobs that failed
    together (a remote service was down) do not all return in the same instant.
    """
    exponent = min(max(attempts - 1, 0), 30)
    delay = min(BACKOFF_CAP, BACKOFF_BASE * (1 << exponent))
    return now + delay / 2 + delay / 2 * rng.random()


@dataclass(frozen=True, slots=True)
class AfterFailure:
    state: JobState
    run_at: datetime


def after_failure(
    *,
    attempts: int,
    max_attempts: int,
    expires_at: datetime | None,
    now: datetime,
    rng: random.Random,
) -> AfterFailure:
    """A failed attempt's outcome: tried again later, or dead when out of attempts or age."""
    if attempts >= max_attempts or (expires_at is not None and now >= expires_at):
        return AfterFailure(JobState.DEAD, now)
    next_run = retry_at(attempts, now, rng)
    if expires_at is not None and next_run > expires_at:
        # The last try comes at the deadline rather than never.
        next_run = expires_at
    return AfterFailure(JobState.FAILED, next_run)


def period_start(now: datetime, period: timedelta) -> datetime:
    """The start of the fixed period `now` falls in, counted from the Unix epoch.

    Every process computes the same start for the same moment, so a recurring job's
    idempotency key per period is the same everywhere.
    """
    epoch = datetime(1970, 1, 1, tzinfo=now.tzinfo)
    periods = (now - epoch) // period
    return epoch + period * periods
