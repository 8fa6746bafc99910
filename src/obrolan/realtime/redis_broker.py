"""Fan-out across nodes through Redis pub/sub; what Redis loses, the database fills in.

Each committed batch is published once, as one message, on `<channel>:events`. Every
node, the publishing one included, hands the batches it receives to its own hub in
position order. A batch names the newest position committed before it (`after`): a
node that has delivered less than that missed a batch on the way and reads the missing
events from the database first. After (re)subscribing, a node reads from the database
everything committed since what it delivered. So Redis is never the only copy
(ARCHITECTURE 1): losing a message costs latency, never an event.

Typing and presence are not stored and not ordered: they go on `<channel>:ephemeral`,
and one that is lost is lost. Whether a person's socket is their first or last across
nodes is decided in Redis (obrolan.realtime.presence).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import orjson
import structlog
from redis.asyncio import Redis

from obrolan.chat import store as chat_store
from obrolan.ops.metrics import Metrics
from obrolan.realtime.hub import Hub
from obrolan.realtime.presence import RedisPresence
from obrolan.realtime.stream import EventStream, Published

log = structlog.get_logger("obrolan.broker")

# Events read from the database per query when filling a gap or catching up.
READ_BATCH = 500
# Between attempts to reach Redis again.
RECONNECT_SECONDS = 0.5
# A publish that takes longer is given up (the batch is committed; nodes fill it in
# from the database): every node's writer waits while it is under way.
PUBLISH_TIMEOUT_SECONDS = 2.0
# After a batch could not be published, how long until a tick tells the nodes about it.
TICK_DELAY_SECONDS = 0.5
# How long a stopping node waits for its last presence changes to go out.
STOP_DRAIN_SECONDS = 2.0


def encode_batch(batch: Sequence[Published], after: int | None) -> bytes:
    return orjson.dumps(
        {
            "after": after,
            "events": [
                [ev.position, ev.kind, ev.room_id, ev.target_user_id, ev.frame, ev.data]
                for ev in batch
            ],
        }
    )


def decode_batch(raw: bytes) -> tuple[int | None, list[Published]]:
    message: dict[str, Any] = orjson.loads(raw)
    return message["after"], [Published(*fields) for fields in message["events"]]


def missed(after: int | None, delivered_up_to: int) -> bool:
    """Whether events committed before a batch have not been delivered here."""
    return after is not None and after > delivered_up_to


def undelivered(batch: Sequence[Published], delivered_up_to: int) -> list[Published]:
    """The events of a batch not delivered yet (the database may have filled some in)."""
    return [ev for ev in batch if ev.position > delivered_up_to]


class RedisBroker:
    # A node tells from `after` that it missed a batch (see the module docstring).
    needs_after = True

    def __init__(
        self,
        url: str,
        channel: str,
        hub: Hub,
        stream: EventStream,
        metrics: Metrics,
        presence_ttl_seconds: int = 30,
    ) -> None:
        self.hub = hub
        self.stream = stream
        self.metrics = metrics
        self.events_channel = f"{channel}:events"
        self.ephemeral_channel = f"{channel}:ephemeral"
        self._redis = Redis.from_url(
            url, socket_timeout=PUBLISH_TIMEOUT_SECONDS, socket_connect_timeout=2.0
        )
        # Subscriptions wait for messages as long as it takes: no read timeout. Named,
        # so that CLIENT LIST shows which connection is whose.
        self.subscriber_name = f"{channel}:subscriber"
        self._subscriber = Redis.from_url(
            url, socket_connect_timeout=2.0, client_name=self.subscriber_name
        )
        self.presence = RedisPresence(
            self._redis, channel, self.ephemeral_channel, hub, self._rooms_of, presence_ttl_seconds
        )
        self.heartbeat_seconds = presence_ttl_seconds / 3
        self.delivered_up_to = 0
        # Set while subscribed and caught up (cleared when Redis is lost).
        self.subscribed = asyncio.Event()
        # What this node sends to Redis besides batches, run one at a time in order: a
        # socket's typing on/off, a person's online/offline, the lease renewals.
        self._ephemeral: asyncio.Queue[Callable[[], Awaitable[object]]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._reaping: dict[str, asyncio.Task[None]] = {}
        self._tick: asyncio.Task[None] | None = None
        self._tick_due = False

    async def start(self) -> None:
        async with self.stream.db.read() as conn:
            self.delivered_up_to = await self.stream.head(conn)
        # The first renewal puts this node among the live ones before it holds anyone.
        self._ephemeral.put_nowait(self._renew)
        self._tasks = [
            asyncio.create_task(self._listen(), name="obrolan-broker-listen"),
            asyncio.create_task(self._send_ephemeral(), name="obrolan-broker-ephemeral"),
            asyncio.create_task(self._heartbeat(), name="obrolan-broker-heartbeat"),
        ]
        # Serve as soon as subscribed; with Redis away, serve anyway (sends commit and
        # delivery follows once it is back).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.subscribed.wait(), 5.0)

    async def stop(self) -> None:
        if self._tasks:
            # The sockets have closed: their offline goes out before this node leaves.
            left = asyncio.get_running_loop().create_future()
            self._ephemeral.put_nowait(functools.partial(self._leave, left))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(left), STOP_DRAIN_SECONDS)
        tasks = [*self._tasks, *self._reaping.values()]
        if self._tick is not None:
            tasks.append(self._tick)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._redis.aclose()
        await self._subscriber.aclose()

    async def publish(self, batch: Sequence[Published], after: int | None) -> None:
        if self._tick is not None and not self._tick.done():
            # A publish failed and the tick that follows it will cover this batch too.
            # Trying meanwhile would hold every node's writer for up to the timeout per
            # commit (the order lock is held while publishing) while Redis is away.
            self._tick_due = True
            return
        try:
            await self._redis.publish(self.events_channel, encode_batch(batch, after))
        except Exception as exc:  # committed already: the next batch or a tick fills in
            log.warning("could not publish to Redis", error=str(exc))
            self._schedule_tick()

    def _schedule_tick(self) -> None:
        """Tell the nodes soon that batches were committed, even if nothing else is.

        The next batch's `after` would show them what they missed, but on a quiet
        installation the next batch may be far off. So a tick follows: an empty batch
        whose `after` is the newest committed position, read once it is sent, and so
        covering every batch whose publish failed before it. One tick at a time: a
        failure while one waits is covered by it; one that fails is sent again.
        """
        self._tick_due = True
        if self._tick is None or self._tick.done():
            self._tick = asyncio.create_task(self._send_tick(), name="obrolan-broker-tick")

    async def _send_tick(self) -> None:
        while self._tick_due:
            await asyncio.sleep(TICK_DELAY_SECONDS)
            self._tick_due = False
            try:
                async with self.stream.db.read() as conn:
                    head = await self.stream.head(conn)
                await self._redis.publish(self.events_channel, encode_batch([], head))
            except Exception as exc:
                log.warning("could not publish a tick to Redis", error=str(exc))
                self._tick_due = True

    def broadcast_ephemeral(
        self, room_ids: Iterable[str], frame: str, *, exclude_user: str | None = None
    ) -> None:
        message = {"rooms": list(room_ids), "frame": frame, "exclude_user": exclude_user}
        if message["rooms"]:
            raw = orjson.dumps(message)
            self._ephemeral.put_nowait(
                functools.partial(self._redis.publish, self.ephemeral_channel, raw)
            )

    async def online(self, user_ids: Sequence[str]) -> set[str]:
        # Someone whose first socket here is not yet counted in Redis is online all the same.
        here = {u for u in user_ids if self.hub.is_online(u)}
        rest = [u for u in user_ids if u not in here]
        return here | (await self.presence.online(rest) if rest else set())

    def came_online(self, user_id: str, room_ids: Iterable[str]) -> None:
        rooms = list(room_ids)
        self._ephemeral.put_nowait(functools.partial(self.presence.came_online, user_id, rooms))

    def went_offline(self, user_id: str, room_ids: Iterable[str]) -> None:
        rooms = list(room_ids)
        self._ephemeral.put_nowait(functools.partial(self.presence.went_offline, user_id, rooms))

    async def _send_ephemeral(self) -> None:
        # One sender keeps one socket's typing on/off, and one person's online/offline
        # on this node, in the order they happened.
        while True:
            send = await self._ephemeral.get()
            try:
                await send()
            except Exception as exc:
                log.warning("could not send to Redis", error=str(exc))

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            self._ephemeral.put_nowait(self._renew)

    async def _renew(self) -> None:
        # In the sender's order: a reaped node's announcing again cannot overtake an
        # offline queued before it.
        for node_id in await self.presence.renew():
            if node_id not in self._reaping:
                # Apart from the sender: reaping reads the database.
                task = asyncio.create_task(self._reap(node_id), name="obrolan-broker-reap")
                self._reaping[node_id] = task

    async def _reap(self, node_id: str) -> None:
        try:
            await self.presence.reap(node_id)
        except Exception as exc:  # the next renewal finds the node again
            log.warning("could not reap a node", node=node_id, error=str(exc))
        finally:
            del self._reaping[node_id]

    async def _leave(self, left: asyncio.Future[None]) -> None:
        try:
            await self.presence.leave()
        finally:
            left.set_result(None)

    async def _rooms_of(self, user_ids: Sequence[str]) -> dict[str, list[str]]:
        async with self.stream.db.read() as conn:
            return await chat_store.joined_room_ids_of(conn, user_ids)

    async def _listen(self) -> None:
        while True:
            try:
                async with self._subscriber.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.events_channel, self.ephemeral_channel)
                    # Subscribed first, then read: a batch committed meanwhile arrives
                    # both ways and is delivered once (positions only grow).
                    await self._catch_up(None)
                    self.subscribed.set()
                    async for message in pubsub.listen():
                        await self._receive(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.subscribed.clear()
                log.warning("lost the Redis subscription; reconnecting", error=str(exc))
                await asyncio.sleep(RECONNECT_SECONDS)

    async def _receive(self, message: dict[str, Any]) -> None:
        channel = message["channel"].decode()
        if channel == self.ephemeral_channel:
            ephemeral = orjson.loads(message["data"])
            self.hub.broadcast_ephemeral(
                ephemeral["rooms"], ephemeral["frame"], exclude_user=ephemeral["exclude_user"]
            )
            return
        after, batch = decode_batch(message["data"])
        if missed(after, self.delivered_up_to):
            self.metrics.broker_catch_ups.inc()
            await self._catch_up(after)
        self._deliver(undelivered(batch, self.delivered_up_to))

    async def _catch_up(self, up_to: int | None) -> None:
        """Deliver from the database what is committed after `delivered_up_to`, up to
        `up_to` (everything when None)."""
        while True:
            async with self.stream.db.read() as conn:
                events = await self.stream.read_published(
                    conn, self.delivered_up_to, up_to, READ_BATCH
                )
            self._deliver(events)
            if len(events) < READ_BATCH:
                return

    def _deliver(self, events: list[Published]) -> None:
        if events:
            self.hub.deliver(events)
            self.delivered_up_to = events[-1].position
