"""Fixtures for account tests: a server on a fake clock with tight sign-in limits, and people."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from obrolan.clock import FakeClock
from tests.support.factories import User, make_user
from tests.support.outbound import SmsGatewayStandIn, SmtpServer
from tests.support.server import RunningServer, start_server

ACCOUNT_LIMIT = 3
IP_LIMIT = 2 * ACCOUNT_LIMIT + 1  # two accounts can be locked before the address is
WINDOW_SECONDS = 600

MakePerson = Callable[..., Awaitable[User]]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def clocked_server(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[RunningServer]:
    """A server whose time moves only when the test says, with small sign-in limits (R17)."""
    running = await start_server(
        database_url,
        tmp_path,
        clock=clock,
        login_max_failures_per_account=ACCOUNT_LIMIT,
        login_max_failures_per_ip=IP_LIMIT,
        login_window_seconds=WINDOW_SECONDS,
    )
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def person() -> AsyncIterator[MakePerson]:
    """`await person(server, "ani", email=...)`: a signed-in person, closed after the test."""
    made: list[User] = []

    async def build(server: RunningServer, username: str | None = None, **fields: Any) -> User:
        user = await make_user(server, username, **fields)
        made.append(user)
        return user

    yield build
    for user in made:
        await user.aclose()


class Argon2Calls:
    """Wraps a running server's argon2 hasher to count its work: it observes, never replaces.

    `most_at_once` is the largest number of computations that ran at the same time.
    """

    def __init__(self, hasher: Any) -> None:
        self.hasher = hasher
        self.hashes = 0
        self.verifies = 0
        self.most_hashes_at_once = 0
        self.most_at_once = 0
        self._hashing = 0
        self._running = 0
        self._lock = threading.Lock()

    def hash(self, password: str, **kwargs: Any) -> str:
        with self._lock:
            self.hashes += 1
            self._hashing += 1
            self._enter()
            self.most_hashes_at_once = max(self.most_hashes_at_once, self._hashing)
        try:
            return str(self.hasher.hash(password, **kwargs))
        finally:
            with self._lock:
                self._hashing -= 1
                self._running -= 1

    def verify(self, password_hash: str, password: str) -> bool:
        with self._lock:
            self.verifies += 1
            self._enter()
        try:
            return bool(self.hasher.verify(password_hash, password))
        finally:
            with self._lock:
                self._running -= 1

    def check_needs_rehash(self, password_hash: str) -> bool:
        return bool(self.hasher.check_needs_rehash(password_hash))

    def _enter(self) -> None:
        self._running += 1
        self.most_at_once = max(self.most_at_once, self._running)


def count_argon2(server: RunningServer) -> Argon2Calls:
    """From now on, count the argon2 work of the server's accounts service."""
    passwords = server.services.accounts.passwords
    calls = Argon2Calls(passwords.hasher)
    passwords.hasher = calls
    return calls


SMS_SECRET = "rahasia-gerbang-sms"


def outbound_settings(smtp: SmtpServer, sms: SmsGatewayStandIn) -> dict[str, Any]:
    """Settings that send mail to the local SMTP server and SMS to the gateway stand-in."""
    return {
        "mail_backend": "smtp",
        "mail_from": "obrolan <noreply@obrolan.test>",
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "smtp_security": "none",
        "sms_backend": "webhook",
        "sms_webhook_url": sms.url,
        "sms_webhook_secret": SMS_SECRET,
    }


@pytest.fixture
async def mailing_server(
    database_url: str,
    tmp_path: Path,
    clock: FakeClock,
    smtp: SmtpServer,
    sms_gateway: SmsGatewayStandIn,
) -> AsyncIterator[RunningServer]:
    """A server on a fake clock whose mail and SMS reach `smtp` and `sms_gateway`."""
    running = await start_server(
        database_url, tmp_path, clock=clock, **outbound_settings(smtp, sms_gateway)
    )
    try:
        yield running
    finally:
        await running.shutdown()
