"""Presence counted across nodes in Redis: one `online` and one `offline` per person.

Each node announces a person's transitions on this node only (its hub knows when a
socket is their first or last here); whether that is also the first or last across
nodes is decided in Redis, inside one Lua script per transition:

- `<channel>:presence:<user_id>`, a sorted set of the nodes holding the person, each
  scored with the time its lease runs out;
- `<channel>:nodes`, every live node scored the same way;
- `<channel>:node:<id>:users`, the people a node holds, so a survivor can undo a dead
  node's part.

Times come from Redis (TIME inside the script), never from the nodes' clocks, so nodes
whose clocks disagree still agree on which lease has run out. A script PUBLISHes the
presence message itself, so the order in which nodes' transitions reach everyone is the
order in which Redis ran them: an `offline` decided after an `online` is seen after it.

Every node renews its leases every third of the TTL. A node that stops renewing (killed,
cut off) is reaped by the first survivor that sees its lease run out: the people it held
that no live node still holds are told `offline`. A node that was reaped while alive
(a pause longer than the TTL, or a Redis that lost its data) notices on its next renewal
and announces its people again.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import orjson
import structlog
from redis.asyncio import Redis

from obrolan.realtime.frames import presence_frame
from obrolan.realtime.hub import Hub

log = structlog.get_logger("obrolan.presence")

# The rooms each of these people is in now, from the database (for a dead node's people).
RoomsOf = Callable[[Sequence[str]], Awaitable[dict[str, list[str]]]]

# Keys are only left behind by nodes that died with no survivor to reap them: Redis
# drops them this many TTLs after their last renewal.
KEEP_TTLS = 10

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: the person's nodes, this node's people. ARGV: node, TTL ms, person, channel, message,
# how many TTLs the keys outlive their last renewal.
# Returns 1 when it announced the person online (no other live node held them).
_CAME_ONLINE = (
    _NOW
    + """
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREM', KEYS[1], ARGV[1])
local others = redis.call('ZCARD', KEYS[1])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl * tonumber(ARGV[6]))
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ttl * tonumber(ARGV[6]))
if others == 0 then
  redis.call('PUBLISH', ARGV[4], ARGV[5])
  return 1
end
return 0
"""
)

# KEYS and ARGV[1..5] as above (ARGV[2], the TTL, unread). Returns 1 when it announced
# the person offline: this node held them and no live node does now. A node reaped
# meanwhile holds nobody: the reaper has told everyone already.
_WENT_OFFLINE = (
    _NOW
    + """
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if removed == 1 and redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('PUBLISH', ARGV[4], ARGV[5])
  return 1
end
return 0
"""
)

# KEYS: the nodes, this node's people. ARGV: node, TTL ms, presence key prefix, keep TTLs.
# Returns {1 when this node was not among the live nodes (reaped, or Redis lost its data),
# the nodes whose lease has run out}.
_RENEW = (
    _NOW
    + """
local ttl = tonumber(ARGV[2])
local keep = ttl * tonumber(ARGV[4])
local lost = redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
for _, user in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local key = ARGV[3] .. user
  redis.call('ZADD', key, now + ttl, ARGV[1])
  redis.call('PEXPIRE', key, keep)
end
redis.call('PEXPIRE', KEYS[2], keep)
return {lost, redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)}
"""
)

# KEYS: the nodes, the dead node's people. ARGV: dead node, presence key prefix, channel,
# then a person and their offline message, pairwise. Only one node wins: the one that
# finds the lease still run out removes the node; a node that renewed meanwhile is left
# alone. Returns how many people it announced offline, or -1 when it did not reap.
_REAP = (
    _NOW
    + """
local lease = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not lease or tonumber(lease) > now then
  return -1
end
redis.call('ZREM', KEYS[1], ARGV[1])
local told = 0
for i = 4, #ARGV, 2 do
  local key = ARGV[2] .. ARGV[i]
  if redis.call('ZREM', key, ARGV[1]) == 1 then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    if redis.call('ZCARD', key) == 0 then
      redis.call('PUBLISH', ARGV[3], ARGV[i + 1])
      told = told + 1
    end
  end
end
redis.call('DEL', KEYS[2])
return told
"""
)


# KEYS: the people's node sets. Returns, for each, 1 when a lease on it has not run out.
_ONLINE = (
    _NOW
    + """
local found = {}
for i, key in ipairs(KEYS) do
  found[i] = redis.call('ZCOUNT', key, '(' .. now, '+inf') > 0 and 1 or 0
end
return found
"""
)


def presence_message(user_id: str, room_ids: Iterable[str], status: str) -> bytes:
    """What goes on the ephemeral channel (RedisBroker reads it back)."""
    return orjson.dumps(
        {
            "rooms": list(room_ids),
            "frame": presence_frame(user_id, status),
            "exclude_user": user_id,
        }
    )


class RedisPresence:
    """This node's part in the shared count. Its calls that change the count are made
    one at a time, in the order of the transitions (RedisBroker's ephemeral sender)."""

    def __init__(
        self,
        redis: Redis,
        channel: str,
        ephemeral_channel: str,
        hub: Hub,
        rooms_of: RoomsOf,
        ttl_seconds: int,
    ) -> None:
        self.redis = redis
        self.hub = hub
        self.rooms_of = rooms_of
        self.node_id = uuid.uuid4().hex
        self.ttl_ms = ttl_seconds * 1000
        self.ephemeral_channel = ephemeral_channel
        self.nodes_key = f"{channel}:nodes"
        self.prefix = f"{channel}:presence:"
        self._node_users_prefix = f"{channel}:node:"
        self.users_key = self._users_key(self.node_id)
        # The people announced here and not gone since: what a reaped node announces again.
        self.here: set[str] = set()
        self._came_online = redis.register_script(_CAME_ONLINE)
        self._went_offline = redis.register_script(_WENT_OFFLINE)
        self._renew = redis.register_script(_RENEW)
        self._reap = redis.register_script(_REAP)
        self._online = redis.register_script(_ONLINE)

    def _users_key(self, node_id: str) -> str:
        return f"{self._node_users_prefix}{node_id}:users"

    async def came_online(self, user_id: str, room_ids: Iterable[str]) -> None:
        self.here.add(user_id)
        await self._came_online(
            keys=[self.prefix + user_id, self.users_key],
            args=[
                self.node_id,
                self.ttl_ms,
                user_id,
                self.ephemeral_channel,
                presence_message(user_id, room_ids, "online"),
                KEEP_TTLS,
            ],
        )

    async def went_offline(self, user_id: str, room_ids: Iterable[str]) -> None:
        self.here.discard(user_id)
        await self._went_offline(
            keys=[self.prefix + user_id, self.users_key],
            args=[
                self.node_id,
                self.ttl_ms,
                user_id,
                self.ephemeral_channel,
                presence_message(user_id, room_ids, "offline"),
            ],
        )

    async def online(self, user_ids: Sequence[str]) -> set[str]:
        """Those of `user_ids` some live node holds, in one round trip; a lease that has
        run out (its node died and was not reaped yet) counts as offline."""
        if not user_ids:
            return set()
        found: Any = await self._online(keys=[self.prefix + u for u in user_ids], args=[])
        return {u for u, held in zip(user_ids, found, strict=True) if int(held)}

    async def renew(self) -> list[str]:
        """Extend this node's leases; the other nodes whose lease has run out."""
        result: Any = await self._renew(
            keys=[self.nodes_key, self.users_key],
            args=[self.node_id, self.ttl_ms, self.prefix, KEEP_TTLS],
        )
        lost, expired = int(result[0]), [_text(n) for n in result[1]]
        if lost and self.here:
            # Others were told these people went offline: they have not.
            log.warning("this node's presence had expired; announcing it again")
            for user_id in list(self.here):
                await self.came_online(user_id, self._rooms_here(user_id))
        return [n for n in expired if n != self.node_id]

    async def reap(self, node_id: str) -> None:
        """Undo a dead node's part: offline for whom no live node holds any more."""
        users = sorted(_text(m) for m in await self.redis.smembers(self._users_key(node_id)))
        rooms = await self.rooms_of(users)
        args: list[str | bytes] = [node_id, self.prefix, self.ephemeral_channel]
        for user_id in users:
            args += [user_id, presence_message(user_id, rooms.get(user_id, []), "offline")]
        told = await self._reap(keys=[self.nodes_key, self._users_key(node_id)], args=args)
        if int(told) >= 0:
            log.info("reaped a node whose lease ran out", node=node_id, offline=int(told))

    async def leave(self) -> None:
        """Stopping: say goodbye for whoever is still here, and leave the nodes."""
        for user_id in list(self.here):
            await self.went_offline(user_id, self._rooms_here(user_id))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.nodes_key, self.node_id)
            pipe.delete(self.users_key)
            await pipe.execute()

    def _rooms_here(self, user_id: str) -> set[str]:
        return {room for conn in self.hub.connections_of(user_id) for room in conn.rooms}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
