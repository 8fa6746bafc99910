"""`obrolan ...` run as its own process against a test server's database and key."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from tests.support.server import RunningServer


async def obrolan_cli(
    server: RunningServer, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`obrolan ARGS` as a separate process, on the server's database and key.

    Waited for in a thread: the server shares the test's event loop, and a loop blocked
    while one of its write transactions is open would hold SQLite's lock against the CLI.
    """
    full = {k: v for k, v in os.environ.items() if not k.startswith("OBROLAN_")}
    full.update(
        OBROLAN_DATABASE_URL=server.settings.resolved_database_url,
        OBROLAN_KEK=server.settings.kek,
        OBROLAN_DATA_DIR=str(server.settings.data_dir),
        COLUMNS="250",
        **(env or {}),
    )
    command = [str(Path(sys.executable).parent / "obrolan"), *args]
    return await asyncio.to_thread(
        subprocess.run,
        command,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
