"""Profile photos: kept and served without metadata, sealed, shown as chosen (F1, R6)."""

from __future__ import annotations

import io
import os

from PIL import Image
from sqlalchemy import select

from obrolan.profile.models import profile_photos
from tests.support.factories import User, make_user
from tests.support.server import RunningServer

GPS_IFD = 0x8825
ORIENTATION = 0x0112
JAKARTA = {1: "S", 2: (6.0, 10.0, 30.0), 3: "E", 4: (106.0, 49.0, 40.0)}


def _jpeg_with_gps() -> bytes:
    """A 60x30 phone-like JPEG: GPS position, camera make, and 'rotate 90° clockwise'."""
    image = Image.new("RGB", (60, 30), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "KameraHP"  # Make
    exif[ORIENTATION] = 6
    exif[GPS_IFD] = JAKARTA
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=b"dibuat di rumah")
    return out.getvalue()


async def _put(user: User, body: bytes, content_type: str = "image/jpeg") -> int:
    resp = await user.http.put(
        "/api/v1/me/photo", content=body, headers={"content-type": content_type}
    )
    return resp.status_code


async def test_r6_photo_is_served_without_exif_or_gps_and_stored_sealed(
    server: RunningServer,
) -> None:
    ani, budi = await make_user(server), await make_user(server)
    original = _jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the test's premise

    assert await _put(ani, original) == 204
    assert (await ani.http.get("/api/v1/me")).json()["photo"] is True
    assert (await budi.http.get(f"/api/v1/users/{ani.id}")).json()["photo"] is True

    served = await budi.http.get(f"/api/v1/users/{ani.id}/photo")
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/webp"
    assert served.headers["cache-control"] == "private"
    image = Image.open(io.BytesIO(served.content))
    assert image.format == "WEBP"
    exif = image.getexif()
    assert len(exif) == 0 and not exif.get_ifd(GPS_IFD)
    assert not {"exif", "xmp", "icc_profile", "comment"} & image.info.keys()
    assert b"KameraHP" not in served.content and b"dibuat" not in served.content
    assert image.size == (30, 60)  # turned upright by its orientation before the tag went

    async with server.services.db.read() as conn:
        stored = (
            await conn.execute(
                select(profile_photos.c.image_enc).where(profile_photos.c.user_id == ani.id)
            )
        ).scalar_one()
    assert served.content not in stored and original not in stored
    assert b"WEBP" not in stored and b"\xff\xd8" not in stored[:2]


async def test_f1_hidden_photo_answers_as_no_photo(server: RunningServer) -> None:
    ani, budi = await make_user(server), await make_user(server)
    nobody_yet = await budi.http.get(f"/api/v1/users/{ani.id}/photo")
    assert await _put(ani, _jpeg_with_gps()) == 204

    await ani.http.patch("/api/v1/me", json={"visibility": {"photo": "nobody"}})
    hidden = await budi.http.get(f"/api/v1/users/{ani.id}/photo")
    assert hidden.status_code == nobody_yet.status_code == 404
    assert hidden.json()["type"] == nobody_yet.json()["type"]
    assert "photo" not in (await budi.http.get(f"/api/v1/users/{ani.id}")).json()
    assert (await ani.http.get(f"/api/v1/users/{ani.id}/photo")).status_code == 200

    assert (await ani.http.delete("/api/v1/me/photo")).status_code == 204
    assert (await ani.http.get("/api/v1/me")).json()["photo"] is False
    assert (await ani.http.get(f"/api/v1/users/{ani.id}/photo")).status_code == 404


async def test_f1_a_large_photo_passes_the_json_body_limit_and_is_scaled_down(
    server: RunningServer,
) -> None:
    ani = await make_user(server)
    noise = Image.frombytes("RGB", (1200, 900), os.urandom(1200 * 900 * 3))
    out = io.BytesIO()
    noise.save(out, format="PNG")
    assert len(out.getvalue()) > server.settings.max_request_bytes

    assert await _put(ani, out.getvalue(), "image/png") == 204
    served = await ani.http.get(f"/api/v1/users/{ani.id}/photo")
    assert Image.open(io.BytesIO(served.content)).size == (1024, 768)


async def test_f1_bad_photos_are_refused_and_change_nothing(server: RunningServer) -> None:
    ani = await make_user(server)
    assert await _put(ani, _jpeg_with_gps()) == 204
    before = (await ani.http.get(f"/api/v1/users/{ani.id}/photo")).content

    bomb = io.BytesIO()
    Image.new("1", (10_000, 6_000)).save(bomb, format="PNG")  # 60 megapixels, a few KB
    oversized = b"\xff\xd8" + b"\x00" * server.settings.max_photo_bytes
    cases = [
        (b"halo, ini bukan foto", "image/jpeg", 422, "not-an-image"),
        (_jpeg_with_gps()[:200], "image/jpeg", 422, "not-an-image"),
        (b"halo", "text/plain", 415, "unsupported-media-type"),
        (_jpeg_with_gps(), "image/gif", 415, "unsupported-media-type"),
        (bomb.getvalue(), "image/png", 413, "too-many-pixels"),
        (oversized, "image/jpeg", 413, "too-large"),
    ]
    for body, content_type, status, slug in cases:
        resp = await ani.http.put(
            "/api/v1/me/photo", content=body, headers={"content-type": content_type}
        )
        assert resp.status_code == status, (content_type, resp.text)
        assert resp.json()["type"] == f"https://obrolan.dev/problems/{slug}"
    assert (await ani.http.get(f"/api/v1/users/{ani.id}/photo")).content == before
