"""The web client's tests: a real server and Debian's Chromium driven by Playwright.

The browser tests run on SQLite only: the client speaks the same REST API and WebSocket
protocol to either backend, and those are tested on both elsewhere; a browser test costs
seconds, so running each twice buys nothing. Playwright never downloads a browser here:
`make test` installs Debian's chromium when it is missing, and without /usr/bin/chromium
the browser tests skip, or fail when OBROLAN_REQUIRE_SERVICES=1 (as in CI).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright, expect

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests run as root in a container, where the sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Playwright's 5 s default is short on a busy two-core CI machine running two test processes.
expect.set_options(timeout=15_000)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
async def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only for the web tests (see the module's docstring)."""
    shutil.copy(sqlite_template, tmp_path / "obrolan.db")
    return f"sqlite+aiosqlite:///{tmp_path / 'obrolan.db'}"


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: `make test` installs Debian's chromium package"
        if os.environ.get("OBROLAN_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()
