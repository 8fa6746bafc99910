"""The in-process hub: subscriptions follow membership events; each frame goes out once."""

from __future__ import annotations

from typing import Any

from obrolan.realtime.hub import CLOSE_TOO_SLOW, CLOSE_UNAUTHENTICATED, Connection, Hub
from obrolan.realtime.stream import Published


def _event(
    position: int, kind: str, room_id: str | None, target: str | None = None, **data: Any
) -> Published:
    return Published(position, kind, room_id, target, f"frame-{position}", data)


def _drain(conn: Connection) -> list[str | None]:
    out = []
    while not conn.queue.empty():
        out.append(conn.queue.get_nowait())
    return out


def _live(user_id: str, session_id: str = "s") -> Connection:
    conn = Connection(user_id, session_id)
    conn.go_live()
    return conn


def test_members_get_room_events_and_outsiders_do_not() -> None:
    hub = Hub()
    ani, budi, citra = _live("ani"), _live("budi"), _live("citra")
    hub.register(ani, ["r1"])
    hub.register(budi, ["r1"])
    hub.register(citra, ["r2"])
    hub.deliver([_event(1, "message.created", "r1")])
    assert _drain(ani) == _drain(budi) == ["frame-1"]
    assert _drain(citra) == []


def test_join_subscribes_and_leave_unsubscribes_after_the_leave_itself() -> None:
    hub = Hub()
    budi = _live("budi")
    hub.register(budi, [])
    hub.deliver([_event(1, "membership", "r1", "budi", user_id="budi", state="join")])
    hub.deliver([_event(2, "message.created", "r1")])
    hub.deliver([_event(3, "membership", "r1", "budi", user_id="budi", state="leave")])
    hub.deliver([_event(4, "message.created", "r1")])
    # The membership frames reach budi once although he is both subscriber and target.
    assert _drain(budi) == ["frame-1", "frame-2", "frame-3"]


def test_events_held_during_replay_are_not_sent_twice() -> None:
    hub = Hub()
    conn = Connection("ani", "s")
    hub.register(conn, ["r1"])
    hub.deliver([_event(5, "message.created", "r1"), _event(6, "message.created", "r1")])
    assert _drain(conn) == []  # not live yet: held
    conn.last_position = 5  # replay already sent up to 5
    conn.go_live()
    assert _drain(conn) == ["frame-6"]


def test_revoked_session_closes_only_its_sockets() -> None:
    hub = Hub()
    phone, laptop = _live("ani", "phone"), _live("ani", "laptop")
    hub.register(phone, [])
    hub.register(laptop, [])
    hub.deliver([_event(1, "session.revoked", None, "ani", session_id="phone")])
    assert phone.closed and phone.close_code == CLOSE_UNAUTHENTICATED
    assert not laptop.closed


def test_presence_reaches_each_connection_once() -> None:
    hub = Hub()
    ani, budi = _live("ani"), _live("budi")
    assert hub.register(ani, ["r1", "r2"]) is True
    hub.register(budi, ["r1", "r2"])
    hub.broadcast_ephemeral(["r1", "r2"], "presence", exclude_user="ani")
    assert _drain(budi) == ["presence"]
    assert _drain(ani) == []
    assert hub.unregister(ani) is True


def test_a_kick_that_passed_while_the_rooms_were_read_is_applied_over_them() -> None:
    hub = Hub()
    conn = Connection("budi", "s")
    hub.register(conn)
    # Committed after the snapshot (as of position 9) that still shows budi in r1.
    hub.deliver([_event(10, "membership", "r1", "budi", user_id="budi", state="leave")])
    hub.subscribe(conn, ["r1"], as_of=9)
    conn.last_position = 9
    conn.go_live()
    hub.deliver([_event(11, "message.created", "r1")])
    assert _drain(conn) == ["frame-10"]
    assert "r1" not in conn.rooms


def test_a_membership_the_snapshot_already_shows_is_not_applied_again() -> None:
    hub = Hub()
    conn = Connection("budi", "s")
    hub.register(conn)
    hub.deliver([_event(8, "membership", "r1", "budi", user_id="budi", state="leave")])
    hub.deliver([_event(9, "membership", "r1", "budi", user_id="budi", state="join")])
    hub.subscribe(conn, ["r1"], as_of=9)  # the snapshot saw both: budi is in r1
    assert "r1" in conn.rooms


def test_a_replay_that_cannot_keep_up_closes_the_socket_as_too_slow() -> None:
    hub = Hub()
    conn = Connection("ani", "s", max_queued=3)
    hub.register(conn, ["r1"])
    hub.deliver([_event(p, "message.created", "r1") for p in range(1, 5)])
    assert conn.closed and conn.close_code == CLOSE_TOO_SLOW
    assert _drain(conn) == [None]
