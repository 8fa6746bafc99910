"""Background jobs: an outbox queued in the caller's transaction, run by an in-process worker."""

from obrolan.jobs.rules import JobState
from obrolan.jobs.service import Job, JobQueue, QueueCounts
from obrolan.jobs.worker import Handler, Worker

__all__ = ["Handler", "Job", "JobQueue", "JobState", "QueueCounts", "Worker"]
