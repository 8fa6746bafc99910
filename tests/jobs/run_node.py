"""One obrolan node's background side, as `obrolan serve` starts it, with a test handler.

Run as `python run_node.py ROLE NODE EVENTS_FILE` with the OBROLAN_* settings of the
shared database. It builds the services from the settings, starts them (the retention
sweep is queued, the real worker runs) and appends `ready - NODE` to EVENTS_FILE, then
`ran JOB_ID NODE TIME` each time a handler of its ROLE starts:

- `record`: runs `test.record` jobs;
- `sweep-block`: its retention sweep never finishes (it blocks until the process is killed);
- `sweep`: runs the real retention sweep.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from obrolan.config import Settings
from obrolan.jobs import Job
from obrolan.ops.logging import configure_logging
from obrolan.privacy.sweep import SWEEP_KIND
from obrolan.services import build_services

RECORD_KIND = "test.record"


def note(events: Path, line: str) -> None:
    # One write of one short line with O_APPEND: lines of several processes never interleave.
    fd = os.open(events, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{line}\n".encode())
    finally:
        os.close(fd)


async def main(role: str, node: str, events: Path) -> None:
    settings = Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    services = build_services(settings)
    worker = services.job_worker

    def ran(job: Job) -> None:
        note(events, f"ran {job.id} {node} {time.time()}")

    if role == "record":

        @worker.handle(RECORD_KIND)
        async def record(job: Job) -> None:
            ran(job)
            await asyncio.sleep(0.005)  # a little work, so the others claim meanwhile

    elif role == "sweep-block":

        @worker.handle(SWEEP_KIND)
        async def block(job: Job) -> None:
            ran(job)
            await asyncio.Event().wait()

    elif role == "sweep":
        sweep = services.retention_sweep.run

        @worker.handle(SWEEP_KIND)
        async def run_sweep(job: Job) -> None:
            ran(job)
            await sweep(job)

    else:
        raise SystemExit(f"unknown role {role}")

    await services.start()
    note(events, f"ready - {node}")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], Path(sys.argv[3])))
