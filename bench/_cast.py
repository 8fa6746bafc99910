"""Who takes part: the users and rooms a server is prepared with.

obrolan learns them over REST (accounts, sessions, direct rooms, one group room); the
baseline takes them from `hello`, so for it they are only names.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

PASSWORD = "obrolan-bench-password-1"  # noqa: S105 (throwaway accounts)
# Enough to keep set-up fast, few enough not to starve the server.
REST_CONCURRENCY = 8


@dataclass(frozen=True, slots=True)
class BenchUser:
    id: str
    token: str


@dataclass(slots=True)
class Cast:
    """The users and rooms a server was prepared with.

    Users 2i and 2i+1 share `dm_rooms[i]`; the first `big_room_size` users are in
    `big_room`. `declare_rooms` means the server learns membership from `hello` (the
    baseline), not a database.
    """

    users: list[BenchUser]
    dm_rooms: list[str]
    big_room: str
    big_room_size: int
    declare_rooms: bool = False

    def hello(self, index: int) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "hello", "token": self.users[index].token}
        if self.declare_rooms:
            frame["rooms"] = [self.dm_rooms[index // 2]]
            if index < self.big_room_size:
                frame["rooms"].append(self.big_room)
        return frame


def baseline_cast(n_users: int, big_room_size: int) -> Cast:
    users = [BenchUser(f"u{i}", f"u{i}") for i in range(n_users)]
    dm_rooms = [f"dm{i}" for i in range(n_users // 2)]
    return Cast(users, dm_rooms, "big", big_room_size, declare_rooms=True)


async def _checked(response: httpx.Response, *ok: int) -> dict[str, Any]:
    if response.status_code not in ok:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: "
            f"{response.status_code} {response.text[:300]}"
        )
    body: dict[str, Any] = response.json()
    return body


async def bounded(coros: Sequence[Any], limit: int) -> list[Any]:
    """Run coroutines with at most `limit` at once, results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(coro: Any) -> Any:
        async with gate:
            return await coro

    return list(await asyncio.gather(*(one(c) for c in coros)))


async def register_users(
    http: httpx.AsyncClient, prefix: str, count: int, sessions_each: int = 1
) -> list[list[BenchUser]]:
    """Register `count` accounts and log each in `sessions_each` times.

    Returns one list per account: the same user id with one token per session.
    """

    async def account(i: int) -> list[BenchUser]:
        username = f"{prefix}{i:05d}"
        created = await _checked(
            await http.post(
                "/api/v1/accounts",
                json={"username": username, "password": PASSWORD, "display_name": username},
            ),
            201,
        )
        tokens = []
        for _ in range(sessions_each):
            session = await _checked(
                await http.post(
                    "/api/v1/sessions", json={"username": username, "password": PASSWORD}
                ),
                200,
                201,
            )
            tokens.append(session["token"])
        return [BenchUser(str(created["id"]), token) for token in tokens]

    result: list[list[BenchUser]] = await bounded(
        [account(i) for i in range(count)], REST_CONCURRENCY
    )
    return result


async def create_direct_rooms(http: httpx.AsyncClient, users: Sequence[BenchUser]) -> list[str]:
    """A direct room for each pair (2i, 2i+1), created by the first of the pair.

    The pair share no room yet, so the chat reaches the second as a message request,
    which they accept: both are joined, as in a conversation under way.
    """

    async def direct(a: BenchUser, b: BenchUser) -> str:
        headers = {"Authorization": f"Bearer {a.token}"}
        room = await _checked(
            await http.post("/api/v1/rooms/direct", json={"user_id": b.id}, headers=headers),
            200,
            201,
        )
        accept = f"/api/v1/rooms/{room['id']}/accept"
        await _checked(await http.post(accept, headers={"Authorization": f"Bearer {b.token}"}), 200)
        return str(room["id"])

    pairs = [direct(users[i], users[i + 1]) for i in range(0, len(users) - 1, 2)]
    rooms: list[str] = await bounded(pairs, REST_CONCURRENCY)
    return rooms


async def create_group_room(http: httpx.AsyncClient, users: Sequence[BenchUser], name: str) -> str:
    owner, members = users[0], users[1:]
    room = await _checked(
        await http.post(
            "/api/v1/rooms",
            json={"kind": "group", "name": name, "members": [m.id for m in members]},
            headers={"Authorization": f"Bearer {owner.token}"},
        ),
        201,
    )
    return str(room["id"])


async def prepare_obrolan(base_url: str, n_users: int, big_room_size: int) -> Cast:
    """Users, direct rooms and the big room on a running obrolan, over REST."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        users = [sessions[0] for sessions in await register_users(http, "bench", n_users)]
        dm_rooms = await create_direct_rooms(http, users)
        big_room = await create_group_room(http, users[:big_room_size], "bench")
    return Cast(users, dm_rooms, big_room, big_room_size)


async def prepare_idle_tokens(
    base_url: str, accounts: int, sessions_each: int
) -> tuple[list[str], int]:
    """Accounts in direct pairs, each signed in `sessions_each` times; (tokens, users)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        per_account = await register_users(http, "idle", accounts, sessions_each)
        await create_direct_rooms(http, [sessions[0] for sessions in per_account])
    return [u.token for sessions in per_account for u in sessions], len(per_account)
