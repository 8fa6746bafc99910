"""R4, R5: encrypted backups never hold the key store, and are kept only so long.

Every test runs the real `obrolan backup` command against a real server's database, on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from obrolan.accounts.keys import aad
from obrolan.accounts.models import users
from obrolan.chat.models import messages
from obrolan.chat.views import message_aad
from obrolan.cli import app
from obrolan.clock import FakeClock
from obrolan.config import Settings
from obrolan.crypto import DecryptionError, open_sealed
from obrolan.crypto.files import decrypt_file, read_kind
from obrolan.crypto.keystore import KeyStore
from obrolan.privacy import backups
from obrolan.privacy.backups import BackupKind, create_backup, prune_backups
from obrolan.services import keystore_location
from tests.privacy.conftest import DAY, finish_erasure, open_request, run_erasure
from tests.support.factories import User, make_direct, make_user
from tests.support.server import RunningServer

BY_SITI = "rahasia siti untuk budi"
BY_BUDI = "balasan budi untuk siti"


def _env(settings: Settings) -> dict[str, str | None]:
    """The server's own settings for a CLI run, and nothing from the caller's OBROLAN_*."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("OBROLAN_")}
    env.update(
        {
            "OBROLAN_DATABASE_URL": settings.resolved_database_url,
            "OBROLAN_DATA_DIR": str(settings.data_dir),
            "OBROLAN_KEK": settings.kek,
        }
    )
    return env


async def _cli(server: RunningServer, *args: str) -> Result:
    return await asyncio.to_thread(
        CliRunner().invoke, app, ["backup", *args], env=_env(server.settings)
    )


async def _create(server: RunningServer) -> tuple[Path, Path]:
    result = await _cli(server, "create")
    assert result.exit_code == 0, result.output
    [data] = sorted(server.settings.resolved_backup_dir.glob("data-*.obrbak"))
    [keys] = sorted((server.settings.resolved_backup_dir / "keys").glob("keys-*.obrbak"))
    return data, keys


async def _two_people_talk(server: RunningServer) -> tuple[User, User, str, dict[str, str]]:
    siti = await make_user(
        server, display_name="Siti Aminah", email="siti@contoh.co.id", phone="+6281234567890"
    )
    budi = await make_user(server, display_name="Budi Santoso", email="budi@contoh.co.id")
    room = await make_direct(siti, budi)
    url = f"/api/v1/rooms/{room['id']}/messages"
    sent = await siti.http.post(url, json={"client_msg_id": "s1", "body": BY_SITI})
    reply = await budi.http.post(url, json={"client_msg_id": "b1", "body": BY_BUDI})
    assert sent.status_code == reply.status_code == 201
    return siti, budi, room["id"], {"siti": sent.json()["id"], "budi": reply.json()["id"]}


async def _seen(siti: User, budi: User, room_id: str) -> dict[str, Any]:
    history = (await budi.http.get(f"/api/v1/rooms/{room_id}/messages")).json()["messages"]
    me = (await siti.http.get("/api/v1/me")).json()
    budi_me = (await budi.http.get("/api/v1/me")).json()
    return {
        "history": [(m["sender_id"], m["body"]) for m in history],
        "siti": (me["display_name"], me["email"], me["phone"]),
        "budi": (budi_me["display_name"], budi_me["email"]),
    }


async def test_r4_a_backup_from_before_the_erasure_restored_after_it_reads_nothing_of_the_person(
    privacy_server: RunningServer, clock: FakeClock
) -> None:
    server = privacy_server
    siti, budi, room_id, ids = await _two_people_talk(server)
    assert await _seen(siti, budi, room_id) == {
        "history": [(siti.id, BY_SITI), (budi.id, BY_BUDI)],
        "siti": ("Siti Aminah", "siti@contoh.co.id", "+6281234567890"),
        "budi": ("Budi Santoso", "budi@contoh.co.id"),
    }
    data, _keys = await _create(server)

    # Siti asks to be erased; the grace period passes and the erasure runs.
    await open_request(siti, "erasure")
    clock.advance(7 * DAY)
    await run_erasure(server, clock)
    await finish_erasure(server, clock, siti.id)
    history = (await budi.http.get(f"/api/v1/rooms/{room_id}/messages")).json()["messages"]
    assert [(m["sender_id"], m["body"]) for m in history] == [(siti.id, None), (budi.id, BY_BUDI)]

    # The backup from before goes back in place of the database.
    await server.stop()
    await asyncio.to_thread(backups.restore_data, server.settings, data)

    # Siti's rows are back, sealed as they were, and nothing of hers opens with any key
    # the key store holds: hers is in no key store and no data backup.
    async with server.services.db.read() as conn:
        person = (await conn.execute(select(users).where(users.c.id == siti.id))).one()
        bodies = dict((await conn.execute(select(messages.c.id, messages.c.body_enc))).all())
    sealed = {
        "message": (bodies[ids["siti"]], message_aad(ids["siti"])),
        "display name": (person.display_name_enc, aad("users", "display_name_enc", siti.id)),
        "email": (person.email_enc, aad("users", "email_enc", siti.id)),
        "phone": (person.phone_enc, aad("users", "phone_enc", siti.id)),
    }
    keyring = server.services.keyring
    keys = {uid: keyring.unwrap(uid, w) for uid, w, _ in await server.services.keystore.all()}
    assert sorted(keys) == [budi.id]
    for what, (value, where) in sealed.items():
        assert value, what
        for owner, key in keys.items():
            with pytest.raises(DecryptionError):
                open_sealed(key, value, where)
                pytest.fail(f"Siti's {what} opened with the key stored for {owner}")
    # The same search opens Budi's message: it would have found Siti's key.
    assert open_sealed(keys[budi.id], bodies[ids["budi"]], message_aad(ids["budi"])) == (
        BY_BUDI.encode()
    )

    # `obrolan backup restore` does the same and then erases her again at once: the
    # restored session and password no longer sign her in, her rows are tombstones.
    restored = await _cli(server, "restore", "--yes", data.name)
    assert restored.exit_code == 0, restored.output
    assert "erased again 1 people" in restored.stdout
    await server.start()
    assert (await siti.http.get("/api/v1/me")).status_code == 401
    history = (await budi.http.get(f"/api/v1/rooms/{room_id}/messages")).json()["messages"]
    assert [(m["sender_id"], m["body"]) for m in history] == [(siti.id, None), (budi.id, BY_BUDI)]
    async with server.services.db.read() as conn:
        person = (await conn.execute(select(users).where(users.c.id == siti.id))).one()
    assert person.erased_at is not None and person.email_enc is None


def _pg_restore_list(dump: Path) -> str:
    # The PostgreSQL client of the test machine, on a file this test wrote.
    return subprocess.run(  # noqa: S603
        ["pg_restore", "--list", str(dump)],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _digest(path: Path) -> bytes:
    return hashlib.sha256(path.read_bytes()).digest()


def _plain(settings: Settings, path: Path) -> bytes:
    out = io.BytesIO()
    with path.open("rb") as source:
        kind = read_kind(source)
        source.seek(0)
        decrypt_file(backups.backup_key(settings), kind, source, out)
    return out.getvalue()


async def test_r4_backup_holds_no_key_store_and_no_plaintext(
    server: RunningServer, tmp_path: Path
) -> None:
    siti, _budi, _room_id, _ids = await _two_people_talk(server)
    data, keys = await _create(server)
    stored = await server.services.keystore.all()
    assert {uid for uid, _, _ in stored} >= {siti.id}

    raw = data.read_bytes()
    for text in (BY_SITI, BY_BUDI, "siti@contoh.co.id", siti.username):
        assert text.encode() not in raw
    assert not raw.startswith((b"SQLite format 3", b"PGDMP"))
    assert b"data_keys" not in raw and b"obrolan_keys" not in raw
    for _uid, wrapped, _ in stored:
        assert wrapped not in raw and wrapped not in keys.read_bytes()

    # Opened with the backup key, it is the database without the key store (R4).
    plain = tmp_path / "opened"
    plain.write_bytes(_plain(server.settings, data))
    if server.settings.is_sqlite:
        with sqlite3.connect(plain) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "users" in tables and "messages" in tables
    else:
        listing = await asyncio.to_thread(_pg_restore_list, plain)
        tables = {line.split()[-2] for line in listing.splitlines() if " TABLE " in line}
        assert "users" in tables and "messages" in tables
        assert "obrolan_keys" not in listing
    assert "data_keys" not in tables and "user_keys" not in tables
    # The key-store copy holds exactly the stored (still wrapped) keys, apart.
    assert keys.parent.name == "keys"
    assert all(uid.encode() in _plain(server.settings, keys) for uid, _, _ in stored)


@pytest.mark.parametrize("damage", ["truncate", "flip", "append", "empty"])
async def test_r5_damaged_backup_is_refused_and_changes_nothing(
    server: RunningServer, damage: str
) -> None:
    siti, budi, room_id, _ids = await _two_people_talk(server)
    data, _keys = await _create(server)
    url = f"/api/v1/rooms/{room_id}/messages"
    later = await budi.http.post(url, json={"client_msg_id": "b2", "body": "setelah backup"})
    assert later.status_code == 201
    await server.stop()

    raw = bytearray(data.read_bytes())
    if damage == "truncate":
        raw = raw[: len(raw) - 100]
    elif damage == "flip":
        raw[len(raw) // 2] ^= 0x01
    elif damage == "append":
        raw += b"\x00" * 32
    else:
        raw = bytearray()
    data.write_bytes(bytes(raw))
    database = Path(server.settings.resolved_database_url.split("///", 1)[-1])
    before = _digest(database) if server.settings.is_sqlite else b""

    result = await _cli(server, "restore", "--yes", data.name)

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.startswith("error: ") and "nothing was changed" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    if server.settings.is_sqlite:
        assert _digest(database) == before
    await server.start()
    history = (await siti.http.get(url)).json()["messages"]
    assert [m["body"] for m in history] == [BY_SITI, BY_BUDI, "setelah backup"]


async def test_r4_a_key_store_copy_restores_keys_lost_with_the_key_store(
    server: RunningServer,
) -> None:
    """Disaster recovery: the key store is lost; its copy brings every key back."""
    siti, budi, room_id, _ids = await _two_people_talk(server)
    _data, keys = await _create(server)
    for uid in (siti.id, budi.id):
        await server.services.data_keys.destroy(uid)
    await server.stop()
    refused = await _cli(server, "restore", "--yes", keys.name)
    assert refused.exit_code == 1 and "--keys" in refused.stderr

    result = await _cli(server, "restore", "--yes", "--keys", keys.name)

    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr and "erased" in result.stderr
    await server.start()
    seen = await _seen(siti, budi, room_id)
    assert seen["history"] == [(siti.id, BY_SITI), (budi.id, BY_BUDI)]


def test_r4_r5_prune_deletes_data_backups_after_90_days_and_key_copies_before_23(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, kek=_KEK)  # type: ignore[call-arg]
    assert (settings.privacy_backup_days, settings.privacy_erasure_deadline_days) == (90, 30)
    assert settings.privacy_erasure_grace_days == 7
    assert CliRunner().invoke(app, ["migrate"], env=_env(settings)).exit_code == 0
    now = datetime.now(UTC)
    ages = [22, 23, 24, 89, 90, 91]
    # Newest first: each create also prunes the key copies expired at its own time.
    asyncio.run(_create_at(settings, [now - timedelta(days=d) for d in ages]))

    listed = CliRunner().invoke(app, ["backup", "list"], env=_env(settings))
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.count(" data ") == listed.stdout.count(" keys ") == len(ages)
    shown = backups.list_backups(settings)
    assert {(b.kind, b.expires_at - b.created_at) for b in shown} == {
        (BackupKind.data, timedelta(days=90)),
        # 30 - 7 days, less two hourly sweeps: the erasure and the prune after expiry.
        (BackupKind.keys, timedelta(days=23) - timedelta(hours=2)),
    }

    dry = CliRunner().invoke(app, ["backup", "prune", "--dry-run"], env=_env(settings))
    assert dry.exit_code == 0, dry.output
    assert "would delete" in dry.stdout
    assert len(backups.list_backups(settings)) == 2 * len(ages)

    result = prune_backups(settings, now)

    def age(backup: backups.Backup) -> tuple[str, int]:
        return (str(backup.kind), round((now - backup.created_at) / timedelta(days=1)))

    # Data: at most 90 days (R5). Key copies: under 30 - 7 = 23 days (R4).
    assert sorted(map(age, result.deleted)) == sorted(
        [("data", 91), ("data", 90)] + [("keys", d) for d in (91, 90, 89, 24, 23)]
    )
    assert sorted(map(age, backups.list_backups(settings))) == sorted(
        [("data", d) for d in (89, 24, 23, 22)] + [("keys", 22)]
    )
    assert sorted(map(age, result.kept)) == sorted(map(age, backups.list_backups(settings)))
    # Both come from the settings: a shorter deadline shortens the key copies' life.
    shorter = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path, kek=_KEK, privacy_erasure_deadline_days=20
    )
    assert [age(b) for b in prune_backups(shorter, now, dry_run=True).deleted] == [("keys", 22)]


_KEK = "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U="


async def _create_at(settings: Settings, times: list[datetime]) -> None:
    keystore = KeyStore(keystore_location(settings))
    try:
        for when in times:
            await create_backup(settings, keystore, when)
    finally:
        await keystore.dispose()
