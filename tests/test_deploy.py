"""deploy/: the systemd unit, the container image's recipe and the example settings hold
together. The image is not built here (that needs its base image from a registry)."""

from __future__ import annotations

import asyncio
import configparser
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from dotenv import dotenv_values

from obrolan.cli._common import GRACEFUL_SHUTDOWN_SECONDS
from obrolan.config import Settings
from tests.support.server import RunningServer

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
DATA_DIR = "/var/lib/obrolan"
# Inside a container, its own interfaces: the port is published by the runtime.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104


def _unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None, strict=True)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys keep their case
    unit.read_string((DEPLOY / "obrolan.service").read_text())
    return unit


def _instructions() -> list[tuple[str, str]]:
    """The Containerfile's instructions, continuation lines joined, comments left out."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Containerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.partition(" ") for line in lines if line and line[0] != "#")
    ]


def _env_file() -> dict[str, str | None]:
    return dotenv_values(DEPLOY / "obrolan.env")


def test_unit_runs_serve_as_its_own_user_with_hardening() -> None:
    unit = _unit()
    assert unit.sections() == ["Unit", "Service", "Install"]
    service = unit["Service"]
    command = shlex.split(service["ExecStart"])
    assert command[0].endswith("/obrolan") and command[1] == "serve"
    assert service["User"] not in ("", "root")
    assert service["EnvironmentFile"] == "/etc/obrolan/obrolan.env"
    assert service["Restart"] == "on-failure"
    for option, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ReadWritePaths": DATA_DIR,
    }.items():
        assert service[option] == value, option
    # Long enough for serve's graceful shutdown, and the worker's grace after it.
    stop_seconds = int(service["TimeoutStopSec"].removesuffix("s"))
    assert stop_seconds >= 2 * GRACEFUL_SHUTDOWN_SECONDS
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_containerfile_serves_as_a_non_root_user_with_its_data_in_a_volume() -> None:
    instructions = _instructions()
    assert instructions[0] == ("FROM", "docker.io/library/python:3.11-slim")
    users = [rest for word, rest in instructions if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    [command] = [json.loads(rest) for word, rest in instructions if word == "CMD"]
    assert command == ["obrolan", "serve", "--host", ALL_INTERFACES]
    assert [json.loads(rest) for word, rest in instructions if word == "VOLUME"] == [[DATA_DIR]]
    env = " ".join(rest for word, rest in instructions if word == "ENV")
    assert f"OBROLAN_DATA_DIR={DATA_DIR}" in env
    runs = [rest for word, rest in instructions if word == "RUN"]
    assert any("pip install /tmp/obrolan-src" in run for run in runs)


def _healthcheck(command: list[str], port: int) -> int:
    env = {**os.environ, "OBROLAN_PORT": str(port)}
    done = subprocess.run(  # noqa: S603
        [sys.executable, *command[1:]], env=env, capture_output=True, timeout=30, check=False
    )
    return done.returncode


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_containerfile_healthcheck_passes_against_a_running_server(
    server: RunningServer,
) -> None:
    [check] = [rest for word, rest in _instructions() if word == "HEALTHCHECK"]
    command = json.loads(check.partition("CMD ")[2])
    assert command[0] == "python" and "/healthz" in command[-1]
    assert await asyncio.to_thread(_healthcheck, command, server.port) == 0
    # Nothing listens on port 1: the check fails.
    assert await asyncio.to_thread(_healthcheck, command, 1) != 0


def test_example_environment_is_valid_settings_for_the_unit_and_the_image() -> None:
    values = _env_file()
    fields = {f"OBROLAN_{name.upper()}" for name in Settings.model_fields}
    assert set(values) <= fields, set(values) - fields
    settings = Settings(_env_file=DEPLOY / "obrolan.env")  # type: ignore[call-arg]
    assert str(settings.data_dir) == DATA_DIR == _unit()["Service"]["ReadWritePaths"]
    assert settings.trusted_proxies == "127.0.0.1"
