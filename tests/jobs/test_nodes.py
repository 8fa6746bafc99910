"""Jobs across nodes: separate worker processes on one PostgreSQL database.

Each node is a process of its own (run_node.py: the services `obrolan serve` builds, with
a test handler), so these tests run on real time, with short leases and polls, and bound
every wait. SQLite serves one process per file, so they run on PostgreSQL only.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from obrolan.config import Settings
from obrolan.jobs import Job, JobState, store
from obrolan.jobs.rules import period_start
from obrolan.privacy.sweep import SWEEP_KIND, sweep_key
from obrolan.services import Services, build_services
from tests.jobs.run_node import RECORD_KIND

SCRIPT = Path(__file__).with_name("run_node.py")
POLL_SECONDS = 0.1
LEASE_SECONDS = 4

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@dataclass(frozen=True, slots=True)
class Ran:
    job_id: str
    node: str
    at: datetime


@dataclass
class Cluster:
    """Nodes started as processes on one database, and what their handlers ran."""

    services: Services  # this test's own view of the database; its worker never starts
    env: dict[str, str]
    tmp_path: Path
    events: Path
    processes: dict[str, asyncio.subprocess.Process]

    async def start(self, role: str, node: str) -> None:
        with (self.tmp_path / f"{node}.log").open("w") as log:
            self.processes[node] = await asyncio.create_subprocess_exec(
                sys.executable, str(SCRIPT), role, node, str(self.events),
                env=self.env, stdout=log, stderr=log,
            )  # fmt: skip

    def kill(self, node: str) -> None:
        self.processes[node].send_signal(signal.SIGKILL)

    def lines(self) -> list[list[str]]:
        text = self.events.read_text() if self.events.exists() else ""
        return [line.split() for line in text.splitlines()]

    def ready(self) -> set[str]:
        return {line[2] for line in self.lines() if line[0] == "ready"}

    def runs(self) -> list[Ran]:
        return [
            Ran(job_id, node, datetime.fromtimestamp(float(at[0]), UTC))
            for event, job_id, node, *at in self.lines()
            if event == "ran"
        ]

    async def wait_until(self, condition: Callable[[], Awaitable[bool]], timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while not await condition():
                for node, process in self.processes.items():
                    if process.returncode is not None and process.returncode != -signal.SIGKILL:
                        log = (self.tmp_path / f"{node}.log").read_text()
                        pytest.fail(f"node {node} exited with {process.returncode}:\n{log}")
                await asyncio.sleep(0.05)

    async def wait_ready(self, *nodes: str) -> None:
        async def all_ready() -> bool:
            return set(nodes) <= self.ready()

        await self.wait_until(all_ready, 60)


@pytest.fixture
async def cluster(database_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    kek = base64.b64encode(os.urandom(32)).decode()
    settings = Settings(database_url=database_url, kek=kek, data_dir=tmp_path)  # type: ignore[call-arg]
    services = build_services(settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBROLAN_")}
    env.update(
        OBROLAN_DATABASE_URL=database_url,
        OBROLAN_KEK=kek,
        OBROLAN_DATA_DIR=str(tmp_path),
        OBROLAN_JOBS_POLL_SECONDS=str(POLL_SECONDS),
        OBROLAN_JOBS_LEASE_SECONDS=str(LEASE_SECONDS),
        OBROLAN_LOG_LEVEL="warning",
    )
    running = Cluster(services, env, tmp_path, tmp_path / "events.txt", {})
    try:
        yield running
    finally:
        for process in running.processes.values():
            if process.returncode is None:
                process.send_signal(signal.SIGKILL)
            await asyncio.wait_for(process.wait(), 10)
        await services.db.dispose()


async def _jobs(services: Services, kind: str) -> list[Job]:
    return [job for job in await services.jobs.list(limit=1000) if job.kind == kind]


async def test_jobs_raced_for_by_three_nodes_each_run_exactly_once(cluster: Cluster) -> None:
    nodes = ("a", "b", "c")
    for node in nodes:
        await cluster.start("record", node)
    await cluster.wait_ready(*nodes)

    services = cluster.services
    async with services.stream.transaction() as tx:
        for n in range(200):
            await services.jobs.enqueue(tx, RECORD_KIND, {"n": n}, key=f"record-{n}")

    async def all_done() -> bool:
        jobs = await _jobs(services, RECORD_KIND)
        return all(job.state is JobState.DONE for job in jobs)

    await cluster.wait_until(all_done, 60)

    jobs = await _jobs(services, RECORD_KIND)
    assert len(jobs) == 200
    assert all(job.attempts == 1 for job in jobs)
    runs = cluster.runs()
    assert Counter(run.job_id for run in runs) == {job.id: 1 for job in jobs}
    per_node = Counter(run.node for run in runs)
    assert len(per_node) > 1, per_node


async def test_sweep_of_a_killed_node_passes_to_another_after_its_lease_once(
    cluster: Cluster,
) -> None:
    services = cluster.services
    # Node a queues this period's sweep at start, claims it, and never finishes it.
    await cluster.start("sweep-block", "a")
    await cluster.wait_ready("a")

    async def claimed() -> bool:
        return len(cluster.runs()) == 1

    await cluster.wait_until(claimed, 30)
    [held] = await _jobs(services, SWEEP_KIND)
    assert held.state is JobState.RUNNING and held.attempts == 1
    async with services.db.read() as conn:
        row = await store.job_by_id(conn, held.id)
    assert row is not None and row.lease_until is not None
    lease_until = row.lease_until

    # Node b starts while a holds the sweep: it queues no second one for the period.
    await cluster.start("sweep", "b")
    await cluster.wait_ready("b")
    cluster.kill("a")

    async def done() -> bool:
        return (await services.jobs.get(held.id)).state is JobState.DONE

    await cluster.wait_until(done, LEASE_SECONDS + 30)

    first, second = cluster.runs()
    assert (first.job_id, first.node) == (held.id, "a")
    assert (second.job_id, second.node) == (held.id, "b")
    assert second.at >= lease_until
    assert (await services.jobs.get(held.id)).attempts == 2
    # b ran the real sweep, which queued the next period's; the period's own was queued once.
    period = timedelta(seconds=services.settings.retention_sweep_seconds)
    following = period_start(held.created_at, period) + period
    sweeps = await _jobs(services, SWEEP_KIND)
    assert sorted(job.id for job in sweeps if job.state is JobState.DONE) == [held.id]
    assert await services.jobs.get_by_key(sweep_key(following)) is not None
    assert len(sweeps) == 2
