"""Fan-out across nodes through Redis pub/sub; what Redis loses, the database fills in.

Each committed batch is published once, as one message, on `<channel>:events`. Every
node, the publishing one included, hands the batches it receives to its own hub in
position order. A batch names the newest position committed before it (`after`): a
node that has delivered less than that missed a batch on the way and reads the missing
events from the database first. After (re)subscribing, a node reads from the database
everything committed since what it delivered. So Redis is never the only copy
(ARCHITECTURE 1): losing a message costs latency, never an event.

Typing and presence are not stored and not ordered: they go on `<channel>:ephemeral`,
and one that is lost is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
import structlog
from redis.asyncio import Redis

from obrolan.ops.metrics import Metrics
from obrolan.realtime.hub import Hub
from obrolan.realtime.stream import EventStream, Published

log = structlog.get_logger("obrolan.broker")

# Events read from the database per query when filling a gap or catching up.
READ_BATCH = 500
# Between attempts to reach Redis again.
RECONNECT_SECONDS = 0.5
# A publish that takes longer is given up (the batch is committed; nodes fill it in
# from the database): every node's writer waits while it is under way.
PUBLISH_TIMEOUT_SECONDS = 2.0


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
        self, url: str, channel: str, hub: Hub, stream: EventStream, metrics: Metrics
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
        self.delivered_up_to = 0
        # Set while subscribed and caught up (cleared when Redis is lost).
        self.subscribed = asyncio.Event()
        self._ephemeral: asyncio.Queue[bytes] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        async with self.stream.db.read() as conn:
            self.delivered_up_to = await self.stream.head(conn)
        self._tasks = [
            asyncio.create_task(self._listen(), name="obrolan-broker-listen"),
            asyncio.create_task(self._send_ephemeral(), name="obrolan-broker-ephemeral"),
        ]
        # Serve as soon as subscribed; with Redis away, serve anyway (sends commit and
        # delivery follows once it is back).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.subscribed.wait(), 5.0)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._redis.aclose()
        await self._subscriber.aclose()

    async def publish(self, batch: Sequence[Published], after: int | None) -> None:
        try:
            await self._redis.publish(self.events_channel, encode_batch(batch, after))
        except Exception as exc:  # committed already: the next batch or reconnect fills in
            log.warning("could not publish to Redis", error=str(exc))

    def broadcast_ephemeral(
        self, room_ids: Iterable[str], frame: str, *, exclude_user: str | None = None
    ) -> None:
        message = {"rooms": list(room_ids), "frame": frame, "exclude_user": exclude_user}
        if message["rooms"]:
            self._ephemeral.put_nowait(orjson.dumps(message))

    async def _send_ephemeral(self) -> None:
        # One sender keeps one socket's typing on/off in the order it was sent.
        while True:
            raw = await self._ephemeral.get()
            try:
                await self._redis.publish(self.ephemeral_channel, raw)
            except Exception as exc:
                log.warning("could not publish to Redis", error=str(exc))

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
