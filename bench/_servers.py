"""Starting the servers under test as subprocesses, each on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"

# The uvicorn settings `obrolan serve` uses (src/obrolan/cli/serve.py), given to the baseline
# too, so that both run on the same event loop, HTTP parser and WebSocket code.
BASELINE_UVICORN_FLAGS = (
    "--loop=uvloop",
    "--http=httptools",
    "--ws=websockets-sansio",
    "--ws-max-size=65536",
    "--ws-ping-interval=20",
    "--ws-ping-timeout=20",
    "--no-access-log",
    "--log-level=warning",
)
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A server subprocess; its output goes to a log file shown if it fails."""

    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    cwd: Path = ROOT
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def http_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.port}/ws"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            # The commands are built in this module, never from outside input.
            self.process = subprocess.Popen(  # noqa: S603
                self.command, env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                self.fail(f"exited with code {self.process.returncode} while starting")
            try:
                if httpx.get(f"{self.http_url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.fail(f"not ready within {READY_TIMEOUT_S:.0f} s")

    def fail(self, why: str) -> None:
        self.stop()
        tail = self.log_path.read_text(errors="replace")[-4000:]
        raise RuntimeError(f"{self.name} {why}; its log ends:\n{tail}")

    def stop(self) -> None:
        """SIGINT (uvicorn's graceful shutdown), then SIGKILL if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _run_checked(command: list[str], env: dict[str, str], cwd: Path, log_path: Path) -> None:
    with log_path.open("ab") as log:
        done = subprocess.run(  # noqa: S603 (as in Server.start)
            command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT
        )
    if done.returncode != 0:
        tail = log_path.read_text(errors="replace")[-4000:]
        raise RuntimeError(f"{' '.join(command)} failed; its log ends:\n{tail}")


def obrolan(workdir: Path) -> Server:
    """A fresh obrolan: new data directory (SQLite database and key), migrated."""
    data_dir = Path(tempfile.mkdtemp(prefix="obrolan-data-", dir=workdir))
    port = free_port()
    # Settings of the caller's own obrolan (a PostgreSQL URL, a key, a .env in the
    # working directory) must not leak in: every run starts from the same defaults.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("OBROLAN_")}
    env = {
        **inherited,
        "OBROLAN_DATA_DIR": str(data_dir),
        "OBROLAN_HOST": HOST,
        "OBROLAN_PORT": str(port),
        # Logging every request would charge obrolan for work the baseline skips.
        "OBROLAN_LOG_LEVEL": "warning",
        # Every bench account signs up from the one load-generating address.
        "OBROLAN_REGISTER_MAX_PER_IP": "1000000",
    }
    log_path = data_dir / "server.log"
    _run_checked([str(BIN / "obrolan"), "migrate"], env, data_dir, log_path)
    command = [str(BIN / "obrolan"), "serve", "--no-migrate"]
    return Server("obrolan", command, env, port, log_path, cwd=data_dir)


def obrolan_on_postgres(
    workdir: Path, *, workers: int, postgres_url: str, redis_url: str
) -> Server:
    """obrolan as several nodes run it: a fresh PostgreSQL database, Redis between the
    processes, `workers` processes on one port (`obrolan serve --workers`)."""
    data_dir = Path(tempfile.mkdtemp(prefix="obrolan-pg-", dir=workdir))
    name = f"obrolan_bench_{os.getpid()}_{data_dir.name[-8:].lower()}"
    base, _, _ = postgres_url.rpartition("/")
    _admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("OBROLAN_")}
    env = {
        **inherited,
        "OBROLAN_DATA_DIR": str(data_dir),
        "OBROLAN_DATABASE_URL": f"{base}/{name}",
        "OBROLAN_BROKER": "redis",
        "OBROLAN_REDIS_URL": redis_url,
        "OBROLAN_REDIS_CHANNEL": name,  # a run of its own, whatever else uses this Redis
        "OBROLAN_HOST": HOST,
        "OBROLAN_PORT": str(port),
        "OBROLAN_LOG_LEVEL": "warning",
        "OBROLAN_REGISTER_MAX_PER_IP": "1000000",
    }
    log_path = data_dir / "server.log"
    _run_checked([str(BIN / "obrolan"), "migrate"], env, data_dir, log_path)
    command = [str(BIN / "obrolan"), "serve", "--no-migrate", "--workers", str(workers)]
    label = "obrolan-pg" if workers == 1 else f"obrolan-pg-x{workers}"
    return Server(label, command, env, port, log_path, cwd=data_dir)


def ping_postgres(postgres_url: str) -> None:
    """Raise when the PostgreSQL server does not answer."""
    _admin(postgres_url, "SELECT 1")


def drop_database(postgres_url: str, server: Server) -> None:
    """Remove the database `obrolan_on_postgres` made for `server`."""
    name = server.env["OBROLAN_DATABASE_URL"].rpartition("/")[2]
    _admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(postgres_url: str, *statements: str) -> None:
    """Run statements on the PostgreSQL server with psql (autocommit, one by one)."""
    url = postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    for statement in statements:
        subprocess.run(  # noqa: S603 (our own statements, our own URL)
            ["psql", url, "-q", "-c", statement],  # noqa: S607
            check=True,
            capture_output=True,
        )


def baseline(workdir: Path) -> Server:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.baseline:app",
        f"--host={HOST}",
        f"--port={port}",
        *BASELINE_UVICORN_FLAGS,
    ]
    return Server("baseline", command, dict(os.environ), port, workdir / "baseline.log")
