"""Sending messages: many concurrent sends are committed together (group commit).

The hot path of obrolan. A send waits in a queue; one task takes everything waiting,
checks it, and writes all of it in one transaction: one lookup for the whole batch
(membership, blocks, restriction, retries; the messages retried or replied to only when
there are any), one insert of events and one of messages, then one commit, the hot
statements straight through the driver (obrolan.db.driver). Each sender is answered
only after that commit (ARCHITECTURE 1).
Batches form on their own: while one commits, the next accumulates, so a quiet server
commits each message at once and a busy one amortises the commit over many.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from obrolan.accounts.keys import DataKeys, seal_text
from obrolan.chat import store
from obrolan.chat.rules import Kind, repeats_message
from obrolan.chat.views import message_aad, message_views, new_message_view
from obrolan.chat.watchers import RoomWatcher, WatchedMessage
from obrolan.clock import Clock
from obrolan.db.driver import db_time
from obrolan.errors import Conflict, Forbidden, Invalid, NotFound, ObrolanError
from obrolan.ids import new_id
from obrolan.ops.metrics import Metrics
from obrolan.privacy.requests import restricted
from obrolan.realtime.frames import iso
from obrolan.realtime.stream import EventStream, NewEvent, Transaction

MAX_BATCH = 512
log = structlog.get_logger("obrolan.writer")


@dataclass(slots=True)
class SendRequest:
    sender_id: str
    room_id: str
    client_msg_id: str
    body: str
    reply_to: str | None
    submitted_at: float
    # Called once with the outcome, after the commit (or the failure).
    done: Done = field(repr=False)
    answered: bool = False


@dataclass(frozen=True, slots=True)
class SendResult:
    message: dict[str, Any]
    duplicate: bool

    @property
    def position(self) -> int:
        position: int = self.message["position"]
        return position


Done = Callable[[SendResult | BaseException], None]


class MessageWriter:
    def __init__(
        self, stream: EventStream, data_keys: DataKeys, clock: Clock, metrics: Metrics
    ) -> None:
        self.stream = stream
        self.data_keys = data_keys
        self.clock = clock
        self.metrics = metrics
        self._queue: asyncio.Queue[SendRequest | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        # Kinds of room another domain watches (ChatService.watch).
        self.watchers: dict[Kind, RoomWatcher] = {}

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="obrolan-message-writer")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task
            self._task = None

    async def send(
        self, sender_id: str, room_id: str, client_msg_id: str, body: str, reply_to: str | None
    ) -> SendResult:
        future: asyncio.Future[SendResult] = asyncio.get_running_loop().create_future()

        def done(outcome: SendResult | BaseException) -> None:
            if future.done():  # the caller went away
                return
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

        self.submit(sender_id, room_id, client_msg_id, body, reply_to, done)
        return await future

    def submit(
        self,
        sender_id: str,
        room_id: str,
        client_msg_id: str,
        body: str,
        reply_to: str | None,
        done: Done,
    ) -> None:
        """Queue a send; `done` gets its outcome once committed. For the socket, which
        answers from the callback: no task or future per message."""
        if self._task is None or self._task.done():
            raise RuntimeError("the message writer is not running")
        self._queue.put_nowait(
            SendRequest(
                sender_id, room_id, client_msg_id, body, reply_to, self.clock.monotonic(), done
            )
        )

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            await self._write_safely(batch)

    async def _write_safely(self, batch: list[SendRequest]) -> None:
        try:
            await self._write(batch)
        except Exception as exc:
            if len(batch) > 1:
                # One bad send (a race on PostgreSQL, say) must not fail the others.
                for request in batch:
                    await self._write_safely([request])
                return
            _tell(batch[0], exc)

    async def _write(self, batch: list[SendRequest]) -> None:
        results: dict[int, SendResult | ObrolanError] = {}
        async with self.stream.transaction() as tx:
            accepted, repeats, watched = await self._check(tx, batch, results)
            if accepted:
                await self._store(tx, accepted, results, watched)
        for i, first in repeats.items():
            outcome = results[first]
            results[i] = (
                SendResult(outcome.message, True) if isinstance(outcome, SendResult) else outcome
            )
        # Committed (and published): acknowledge.
        done = self.clock.monotonic()
        for i, request in enumerate(batch):
            outcome = results[i]
            _tell(request, outcome)
            if isinstance(outcome, SendResult) and not outcome.duplicate:
                self.metrics.send_to_commit.observe(done - request.submitted_at)
        stored = sum(1 for r in results.values() if isinstance(r, SendResult) and not r.duplicate)
        if stored:
            self.metrics.messages_sent.inc(stored)
            self.metrics.write_batch_size.observe(stored)

    async def _check(
        self,
        tx: Transaction,
        batch: list[SendRequest],
        results: dict[int, SendResult | ObrolanError],
    ) -> tuple[list[tuple[int, SendRequest]], dict[int, int], set[str]]:
        """Authorise the batch and answer retries.

        Returns the sends to store, the sends repeated within this batch (a client
        retrying before its first ack) with the index of the copy that is stored, and
        the batch's rooms of a watched kind.
        """
        conn = tx.conn
        sends = await store.senders_rooms(conn, (_send_key(r) for r in batch))
        # Retries and reply targets are rare: one more query only when there are any.
        wanted = {found.earlier_id for found in sends.values() if found.earlier_id}
        wanted.update(r.reply_to for r in batch if r.reply_to)
        stored = await store.messages_by_ids(conn, wanted)
        earlier: dict[str, dict[str, Any]] = {}
        retries = [row for found in sends.values() if (row := stored.get(found.earlier_id or ""))]
        if retries:
            keys = await self.data_keys.get_many(row.sender_id for row in retries)
            earlier = {view["id"]: view for view in message_views(retries, keys)}
        accepted: list[tuple[int, SendRequest]] = []
        watched: set[str] = set()
        first_in_batch: dict[tuple[str, str, str], int] = {}
        repeats: dict[int, int] = {}
        for i, r in enumerate(batch):
            # Who may send here is decided first: a retry key is no way into a room
            # the sender has left or been removed from.
            key = _send_key(r)
            found = sends.get(key)
            if found is None:
                results[i] = NotFound("room not found, or you are not in it", field="room_id")
                continue
            if found.blocked:  # a direct chat with a block between the two (R18)
                results[i] = Forbidden("you cannot message this person", type_slug="blocked")
                continue
            if found.earlier_id is not None and found.earlier_id in earlier:
                view = earlier[found.earlier_id]
                results[i] = (
                    SendResult(view, duplicate=True)
                    if repeats_message(view, r.body, r.reply_to)
                    else _reused(r)
                )
                continue
            # R8: a restricted sender stores nothing new (checked in the same query, in
            # the batch's transaction); a retry of what was stored before still answers.
            if found.restricted:
                results[i] = restricted()
                continue
            if key in first_in_batch:
                first = batch[first_in_batch[key]]
                if first.body == r.body and first.reply_to == r.reply_to:
                    repeats[i] = first_in_batch[key]
                else:
                    results[i] = _reused(r)
                continue
            if r.reply_to is not None:
                target = stored.get(r.reply_to)
                if target is None or target.room_id != r.room_id:
                    results[i] = Invalid("reply_to is not a message of this room", field="reply_to")
                    continue
            first_in_batch[key] = i
            accepted.append((i, r))
            if found.kind in self.watchers:
                watched.add(r.room_id)
        return accepted, repeats, watched

    async def _store(
        self,
        tx: Transaction,
        accepted: list[tuple[int, SendRequest]],
        results: dict[int, SendResult | ObrolanError],
        watched: set[str],
    ) -> None:
        keys = await self.data_keys.get_many((r.sender_id for _, r in accepted))
        created_at = iso(tx.now)
        ids: list[str] = []
        sealed: list[bytes] = []
        new_events: list[NewEvent] = []
        for _, r in accepted:
            message_id = new_id()
            key = keys.get(r.sender_id)
            if key is None:
                raise Forbidden("this account can no longer send")
            ids.append(message_id)
            sealed.append(seal_text(key, r.body, message_aad(message_id)))
            new_events.append(
                NewEvent(
                    kind="message.created",
                    room_id=r.room_id,
                    actor_id=r.sender_id,
                    message_id=message_id,
                    data=new_message_view(
                        message_id,
                        r.room_id,
                        r.sender_id,
                        r.client_msg_id,
                        r.body,
                        r.reply_to,
                        created_at,
                    ),
                    store_data=False,  # R6: the text lives only in the sealed message row
                )
            )
        tx.append(*new_events)
        if watched:
            await self._tell_watchers(tx, accepted, ids, watched)
        # The last statements: on PostgreSQL every node's writer waits from here to the
        # commit (see Transaction.write_events), so the rows are ready before.
        # The messages' events are the transaction's last (write_in's caller may have
        # appended others before, opening the room): theirs are the last positions.
        positions = (await tx.write_events())[-len(new_events) :]
        now = db_time(tx.conn.dialect, tx.now)
        rows = []
        for (_, r), message_id, body_enc, event, position in zip(
            accepted, ids, sealed, new_events, positions, strict=True
        ):
            event.data["position"] = position
            # In store.MESSAGE_COLUMNS order.
            rows.append(
                (
                    message_id,
                    r.room_id,
                    r.sender_id,
                    r.client_msg_id,
                    position,
                    body_enc,
                    r.reply_to,
                    now,
                    None,
                    None,
                )
            )
        await store.insert_messages(tx.conn, rows)
        for (i, _), event in zip(accepted, new_events, strict=True):
            results[i] = SendResult(event.data, duplicate=False)

    async def _tell_watchers(
        self,
        tx: Transaction,
        accepted: list[tuple[int, SendRequest]],
        ids: list[str],
        watched: set[str],
    ) -> None:
        rooms = await store.rooms_by_ids(tx.conn, watched)
        by_kind: dict[Kind, list[WatchedMessage]] = {}
        for (_, r), message_id in zip(accepted, ids, strict=True):
            room = rooms.get(r.room_id)
            if room is not None:
                by_kind.setdefault(room.kind, []).append(
                    WatchedMessage(room, message_id, r.sender_id, r.body, r.reply_to, tx.now)
                )
        for kind, sent in by_kind.items():
            await self.watchers[kind].messages(tx, sent)

    async def write_in(
        self,
        tx: Transaction,
        sender_id: str,
        room_id: str,
        client_msg_id: str,
        body: str,
        reply_to: str | None = None,
    ) -> dict[str, Any]:
        """Store one message in the caller's transaction, whose authorisation the caller
        did (a business's number writing to its own conversation). Its events are
        written here, so this is the transaction's last event; the view has its position.
        Watchers are not told: the caller is the one who would be."""
        request = SendRequest(
            sender_id, room_id, client_msg_id, body, reply_to, self.clock.monotonic(), _unused
        )
        results: dict[int, SendResult | ObrolanError] = {}
        await self._store(tx, [(0, request)], results, set())
        outcome = results[0]
        assert isinstance(outcome, SendResult)
        return outcome.message


def _tell(request: SendRequest, outcome: SendResult | BaseException) -> None:
    # Once only: a batch that fails after answering is retried send by send, and the
    # socket's callback gives back an in-flight slot per answer.
    if request.answered:
        return
    request.answered = True
    try:
        request.done(outcome)
    except Exception:  # one sender's callback must not keep the others' answers
        log.exception("a send's outcome could not be delivered")


def _unused(_outcome: SendResult | BaseException) -> None:
    pass


def _send_key(r: SendRequest) -> tuple[str, str, str]:
    return (r.room_id, r.sender_id, r.client_msg_id)


def _reused(r: SendRequest) -> Conflict:
    return Conflict(
        f"client_msg_id {r.client_msg_id!r} is already the id of another message in this room",
        field="client_msg_id",
        type_slug="client-msg-id-reused",
    )
