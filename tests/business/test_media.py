"""F9: the Cloud API's media — upload, details, download with the token, delete — kept
encrypted at rest, and downloaded by the people in the rooms a business sent it into."""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from obrolan.api.limits import RequestSizeLimit
from obrolan.business.media_api import UPLOAD_PATH_PATTERN
from obrolan.business.media_types import looks_like
from obrolan.clock import FakeClock
from obrolan.crypto.files import MAGIC
from tests.business.conftest import GRAPH, Business, make_business
from tests.support.factories import make_room, make_user
from tests.support.server import RunningServer, start_server


def jpeg(width: int = 32, height: int = 24, seed: int = 1) -> bytes:
    """A real JPEG of noise (which compresses badly, so its size follows its pixels)."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=95)
    return out.getvalue()


async def upload(
    business: Business,
    content: bytes,
    mime_type: str = "image/jpeg",
    filename: str = "foto.jpg",
    **fields: str,
) -> httpx.Response:
    return await business.graph.post(
        f"{GRAPH}/{business.number_id}/media",
        files={"file": (filename, content, mime_type)},
        data={"messaging_product": "whatsapp", "type": mime_type, **fields},
    )


async def uploaded(
    business: Business, content: bytes, mime_type: str = "image/jpeg", filename: str = "foto.jpg"
) -> str:
    resp = await upload(business, content, mime_type, filename)
    assert resp.status_code == 200, resp.text
    media_id: str = resp.json()["id"]
    return media_id


def graph_error(resp: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = resp.json()["error"]
    return error


def media_files(server: RunningServer) -> list[Path]:
    root = server.settings.resolved_business_media_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def test_f9_media_uploaded_is_described_and_downloaded_with_the_token(
    business_server: RunningServer,
) -> None:
    server = business_server
    business = await make_business(server)
    photo = jpeg()
    media_id = await uploaded(business, photo)

    details = await business.graph.get(f"{GRAPH}/{media_id}")
    assert details.status_code == 200, details.text
    body = details.json()
    assert body == {
        "messaging_product": "whatsapp",
        "url": body["url"],
        "mime_type": "image/jpeg",
        "sha256": hashlib.sha256(photo).hexdigest(),
        "file_size": len(photo),
        "id": media_id,
    }
    # Absolute, on this server's host (no OBROLAN_PUBLIC_URL here: the request's).
    assert body["url"].startswith(server.base_url + "/")

    got = await business.graph.get(body["url"])
    assert got.status_code == 200, got.text
    assert got.content == photo and got.headers["content-type"] == "image/jpeg"

    # Without a token, or with another business's, neither the bytes nor the details.
    anonymous = await server.http().get(body["url"])
    assert anonymous.status_code == 401 and graph_error(anonymous)["code"] == 190
    other = await make_business(server, name="Toko Lain", phone="+6281100002222")
    for resp in (await other.graph.get(body["url"]), await other.graph.get(f"{GRAPH}/{media_id}")):
        assert resp.status_code == 400, resp.text
        assert (graph_error(resp)["code"], graph_error(resp)["error_subcode"]) == (100, 33)
    # Nor can it upload for a number that is not its own.
    foreign = await other.graph.post(
        f"{GRAPH}/{business.number_id}/media",
        files={"file": ("f.jpg", photo, "image/jpeg")},
        data={"messaging_product": "whatsapp", "type": "image/jpeg"},
    )
    assert foreign.status_code == 400 and graph_error(foreign)["code"] == 100


async def test_f9_media_upload_takes_a_document_larger_than_the_request_bound(
    business_server: RunningServer,
) -> None:
    """The upload path has its own bound (OBROLAN_BUSINESS_MEDIA_MAX_BYTES), not 1 MiB."""
    server = business_server
    business = await make_business(server)
    pdf = b"%PDF-1.7\n" + random.Random(2).randbytes(3 * 1024 * 1024)
    assert len(pdf) > server.settings.max_request_bytes
    media_id = await uploaded(business, pdf, "application/pdf", "Tagihan Budi ü.pdf")
    url = (await business.graph.get(f"{GRAPH}/{media_id}")).json()["url"]
    got = await business.graph.get(url)
    assert got.status_code == 200 and got.content == pdf
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"] == (
        "attachment; filename=\"Tagihan Budi _.pdf\"; filename*=UTF-8''Tagihan%20Budi%20%C3%BC.pdf"
    )


async def test_f9_media_upload_refuses_bytes_not_of_the_declared_type(
    business_server: RunningServer,
) -> None:
    business = await make_business(business_server)
    for content, mime_type in (
        (jpeg(), "image/png"),  # a JPEG declared as PNG
        (b"just some text", "application/pdf"),
        (b"%PDF-1.7\n", "video/mp4"),
        (b"\x00\x01binary", "text/plain"),
        (b"PK\x03\x04zip", "application/zip"),  # not a type the Cloud API takes
        (b"", "text/plain"),
    ):
        resp = await upload(business, content, mime_type)
        assert resp.status_code == 400, (mime_type, resp.text)
        assert graph_error(resp)["code"] == 131053, (mime_type, resp.text)
    assert media_files(business_server) == []

    missing = await business.graph.post(
        f"{GRAPH}/{business.number_id}/media",
        data={"messaging_product": "whatsapp", "type": "image/jpeg"},
    )
    assert missing.status_code == 400 and graph_error(missing)["code"] == 131008
    not_whatsapp = await upload(business, jpeg(), messaging_product="sms")
    assert not_whatsapp.status_code == 400 and graph_error(not_whatsapp)["code"] == 100


async def test_f9_media_upload_refuses_a_file_over_its_types_limit(
    business_server: RunningServer,
) -> None:
    business = await make_business(business_server)
    # A sticker (image/webp) is at most 500 KB; an image 5 MB.
    resp = await upload(business, b"RIFF" + bytes(500 * 1024), "image/webp", "s.webp")
    assert resp.status_code == 413, resp.text
    assert graph_error(resp)["code"] == 131052
    # (Its size is refused before its bytes are looked at.)
    resp = await upload(business, jpeg() + bytes(5 * 1024 * 1024))
    assert resp.status_code == 413 and graph_error(resp)["code"] == 131052
    assert media_files(business_server) == []


@pytest.fixture
async def capped_server(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[RunningServer]:
    running = await start_server(
        database_url, tmp_path, clock=clock, business_media_max_bytes=100 * 1024
    )
    try:
        yield running
    finally:
        await running.shutdown()


async def test_f9_media_upload_over_the_servers_cap_is_refused_in_graph_shape(
    capped_server: RunningServer,
) -> None:
    business = await make_business(capped_server)
    # Under the request bound (cap + multipart) but over the cap: the route refuses it.
    resp = await upload(business, b"%PDF-1.7\n" + bytes(110 * 1024), "application/pdf", "a.pdf")
    assert resp.status_code == 413 and graph_error(resp)["code"] == 131052
    # Over the request bound: refused before the body is read, still in Graph shape.
    resp = await upload(business, b"%PDF-1.7\n" + bytes(400 * 1024), "application/pdf", "a.pdf")
    assert resp.status_code == 413 and graph_error(resp)["code"] == 131052
    assert (await upload(business, jpeg())).status_code == 200


def test_f9_request_bound_of_the_upload_path_is_matched_by_pattern() -> None:
    limit = RequestSizeLimit(
        app=None,  # type: ignore[arg-type]
        max_bytes=1000,
        max_bytes_by_path={"/api/v1/me/photo": 5000},
        max_bytes_by_pattern=[(UPLOAD_PATH_PATTERN, 9000)],
    )
    assert limit.limit_for("/v25.0/123/media") == 9000
    assert limit.limit_for("/v15/123/media") == 9000
    assert limit.limit_for("/api/v1/me/photo") == 5000
    for other in ("/v25.0/123/messages", "/v25.0/123/media/x", "/x/v25.0/1/media", "/v25.0/media"):
        assert limit.limit_for(other) == 1000, other


async def test_f9_media_deleted_is_gone_with_its_file(business_server: RunningServer) -> None:
    business = await make_business(business_server)
    media_id = await uploaded(business, jpeg())
    url = (await business.graph.get(f"{GRAPH}/{media_id}")).json()["url"]
    assert len(media_files(business_server)) == 1

    deleted = await business.graph.delete(f"{GRAPH}/{media_id}")
    assert deleted.status_code == 200 and deleted.json() == {"success": True}
    for resp in (
        await business.graph.get(f"{GRAPH}/{media_id}"),
        await business.graph.get(url),
        await business.graph.delete(f"{GRAPH}/{media_id}"),
    ):
        assert resp.status_code == 400, resp.text
        assert (graph_error(resp)["code"], graph_error(resp)["error_subcode"]) == (100, 33)
    assert media_files(business_server) == []


async def test_f9_media_is_encrypted_at_rest(business_server: RunningServer) -> None:
    business = await make_business(business_server)
    text = b"Pesanan Budi Santoso, Jl. Melati 7, 0812-3456-7890\n" * 50
    media_id = await uploaded(business, text, "text/plain", "pesanan-budi.txt")
    [stored] = media_files(business_server)
    on_disk = stored.read_bytes()
    assert on_disk.startswith(MAGIC)
    assert b"Budi" not in on_disk and b"Melati" not in on_disk
    # The name, which may name a person, is sealed too; the bytes come back whole.
    url = (await business.graph.get(f"{GRAPH}/{media_id}")).json()["url"]
    got = await business.graph.get(url)
    assert got.content == text and got.headers["content-type"].startswith("text/plain")
    assert 'filename="pesanan-budi.txt"' in got.headers["content-disposition"]


async def test_f9_media_sent_into_a_room_is_downloaded_by_its_joined_members(
    business_server: RunningServer,
) -> None:
    server = business_server
    business = await make_business(server)
    photo = jpeg(seed=3)
    media_id = await uploaded(business, photo)
    owner, member, outsider = [await make_user(server) for _ in range(3)]
    room = await make_room(owner, "private", "Pesanan", members=[member])
    path = f"/api/v1/business-media/{media_id}"

    # Not yet sent anywhere: nobody but the business downloads it.
    assert (await owner.http.get(path)).status_code == 404
    services = server.services
    async with services.stream.transaction() as tx:
        await services.business_media.grant(tx, media_id, room["id"])

    got = await owner.http.get(path)
    assert got.status_code == 200 and got.content == photo
    assert got.headers["content-type"] == "image/jpeg"
    # Invited, not joined: not yet; joined: yes.
    assert (await member.http.get(path)).status_code == 404
    assert (await member.http.post(f"/api/v1/rooms/{room['id']}/join")).status_code == 200
    assert (await member.http.get(path)).content == photo
    refused = await outsider.http.get(path)
    assert refused.status_code == 404
    assert refused.headers["content-type"] == "application/problem+json"
    assert (await server.http().get(path)).status_code == 401
    # A business token is no person's session.
    assert (await server.http(business.token).get(path)).status_code == 401


async def test_f9_media_older_than_the_retention_is_deleted(
    business_server: RunningServer, clock: FakeClock
) -> None:
    business = await make_business(business_server)
    old = await uploaded(business, jpeg(seed=4))
    clock.advance(3600)
    recent = await uploaded(business, jpeg(seed=5))
    media = business_server.services.business_media
    assert await media.delete_older_than(clock.now(), 100) == 1
    assert graph_error(await business.graph.get(f"{GRAPH}/{old}"))["code"] == 100
    assert (await business.graph.get(f"{GRAPH}/{recent}")).status_code == 200
    assert len(media_files(business_server)) == 1
    assert await media.delete_older_than(clock.now(), 100) == 0


async def test_f9_media_for_send_is_the_business_own(business_server: RunningServer) -> None:
    business = await make_business(business_server)
    media_id = await uploaded(business, jpeg(), filename="katalog.jpg")
    media = business_server.services.business_media
    row = await media.for_send(business.id, media_id)
    assert (row.id, row.mime_type, row.kind, row.filename) == (
        media_id,
        "image/jpeg",
        "image",
        "katalog.jpg",
    )
    other = await make_business(business_server, name="Toko Lain", phone="+6281100002222")
    from obrolan.business.graph import GraphError

    with pytest.raises(GraphError) as refused:
        await media.for_send(other.id, media_id)
    assert refused.value.code == 131053


def test_media_types_are_told_by_their_bytes() -> None:
    def like(mime_type: str, head: bytes) -> bool:
        return looks_like(mime_type, io.BytesIO(head))

    assert like("image/jpeg", jpeg()) and not like("image/jpeg", b"\xff\xd8\xffnot really")
    assert like("audio/ogg", b"OggS\x00\x02") and not like("audio/ogg", b"ID3")
    assert like("audio/mpeg", b"ID3\x04") and like("audio/mpeg", b"\xff\xfb\x90\x00")
    assert like("audio/aac", b"\xff\xf1\x50\x80") and not like("audio/mpeg", b"\xff\xf1\x50\x80")
    assert like("audio/amr", b"#!AMR\n\x00")
    assert like("video/mp4", b"\x00\x00\x00\x18ftypmp42") and like(
        "audio/mp4", b"\x00\x00\x00\x18ftypM4A "
    )
    assert like("video/3gpp", b"\x00\x00\x00\x18ftyp3gp4") and not like(
        "video/3gpp", b"\x00\x00\x00\x18ftypmp42"
    )
    assert like("application/msword", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    assert like(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", b"PK\x03\x04"
    )
    assert like("text/plain", "halo dünia".encode()[:-1]) and not like("text/plain", b"\xff\xfe")


async def test_f9_media_round_trip_with_pywa(business_server: RunningServer) -> None:
    """pywa uploads, reads the URL, downloads (sending its Bearer header) and deletes."""
    from pywa_async import WhatsApp

    server = business_server
    business = await make_business(server)

    async def to_this_server(request: httpx.Request) -> None:
        # pywa speaks to graph.facebook.com: the connection goes here, the Host stays.
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=server.port)

    session = httpx.AsyncClient(event_hooks={"request": [to_this_server]}, timeout=30)
    try:
        wa = WhatsApp(phone_id=business.number_id, token=business.token, session=session)
        photo = jpeg(seed=6)
        media = await wa.upload_media(photo, mime_type="image/jpeg", filename="foto.jpg")
        found = await wa.get_media_url(media.id)
        assert (found.mime_type, found.file_size) == ("image/jpeg", len(photo))
        assert found.sha256 == hashlib.sha256(photo).hexdigest()
        assert await wa.get_media_bytes(found.url) == photo
        assert (await wa.delete_media(media.id)).success
    finally:
        await session.aclose()
