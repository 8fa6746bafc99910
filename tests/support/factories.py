"""One-line builders so a test reads as the story it checks."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.server import RunningServer

_counter = itertools.count(1)
PASSWORD = "correct horse battery staple"


@dataclass
class User:
    id: str
    username: str
    token: str
    http: httpx.AsyncClient
    server: RunningServer

    async def aclose(self) -> None:
        await self.http.aclose()


async def register(
    server: RunningServer, username: str | None = None, **fields: Any
) -> dict[str, Any]:
    username = username or f"user{next(_counter)}"
    body = {"username": username, "password": PASSWORD, "display_name": username.title(), **fields}
    async with server.http() as http:
        resp = await http.post("/api/v1/accounts", json=body)
    assert resp.status_code == 201, resp.text
    account: dict[str, Any] = resp.json()
    return account


async def login(
    server: RunningServer, username: str, password: str = PASSWORD, **fields: Any
) -> str:
    async with server.http() as http:
        resp = await http.post(
            "/api/v1/sessions", json={"username": username, "password": password, **fields}
        )
    assert resp.status_code == 201, resp.text
    token: str = resp.json()["token"]
    return token


async def make_user(server: RunningServer, username: str | None = None, **fields: Any) -> User:
    """A registered, signed-in person with an authenticated HTTP client."""
    account = await register(server, username, **fields)
    token = await login(server, account["username"])
    return User(account["id"], account["username"], token, server.http(token), server)


async def make_room(
    owner: User, kind: str = "group", name: str = "Ruang", members: list[User] | None = None
) -> dict[str, Any]:
    resp = await owner.http.post(
        "/api/v1/rooms",
        json={"kind": kind, "name": name, "members": [m.id for m in members or []]},
    )
    assert resp.status_code == 201, resp.text
    room: dict[str, Any] = resp.json()
    return room


async def make_direct(a: User, b: User, *, accept: bool = True) -> dict[str, Any]:
    """The direct chat of the two; `b` accepts it when it reached them as a message request."""
    resp = await a.http.post("/api/v1/rooms/direct", json={"user_id": b.id})
    assert resp.status_code in (200, 201), resp.text
    room: dict[str, Any] = resp.json()
    if accept:
        accepted = await b.http.post(f"/api/v1/rooms/{room['id']}/accept")
        assert accepted.status_code == 200, accepted.text
    return room
