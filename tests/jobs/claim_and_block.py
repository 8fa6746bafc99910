"""A worker process that claims one `test.block` job, notes the run, and blocks until killed.

Run as `python claim_and_block.py RUNS_FILE` with OBROLAN_DATABASE_URL, OBROLAN_KEK and
TEST_NOW (the ISO time its clock stands at) set.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path

from obrolan.clock import FakeClock
from obrolan.config import Settings
from obrolan.jobs import Job, Worker
from obrolan.services import build_services

LEASE = timedelta(seconds=60)


async def main(runs: Path) -> None:
    clock = FakeClock(datetime.fromisoformat(os.environ["TEST_NOW"]))
    services = build_services(Settings(), clock)
    worker = Worker(services.jobs, poll_seconds=0.05, lease=LEASE, batch=1, name="doomed")

    @worker.handle("test.block")
    async def block(job: Job) -> None:
        with runs.open("a") as out:
            out.write(f"{job.id} doomed\n")
        await asyncio.Event().wait()

    worker.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
