"""Media of the Cloud API (F9): a business uploads a file, gets its id, and sends it in
messages; it can read the file's details and download it back with its token, and the
people in the rooms it was sent into can download it with their own session.

The bytes are kept in a file encrypted under the business's data key (obrolan.crypto.files:
chunks of AES-256-GCM, each checked as it is read); only the row names them. Destroying
the business's key makes every file of it unreadable, wherever copies went (R6).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, cast

from obrolan.accounts.keys import DataKeys, aad
from obrolan.business import media_store as store
from obrolan.business.graph import GraphError, parameter_value, unknown_object
from obrolan.business.media_types import MEDIA_TYPES, looks_like, max_bytes, normalise
from obrolan.business.service import BusinessPrincipal, BusinessService
from obrolan.config import Settings
from obrolan.crypto import open_sealed, seal
from obrolan.crypto.files import decrypt_chunks, encrypt_file
from obrolan.db import Database
from obrolan.errors import NotFound
from obrolan.ids import new_numeric_id
from obrolan.realtime.stream import EventStream, Transaction

# The kind a media file's header names (obrolan.crypto.files; backups use 1 to 3).
MEDIA_FILE_KIND = 16
# What a multipart body adds around the file: boundaries, part headers, the small fields.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
# Where a business's media is downloaded with its token (Bearer, as pywa and heyoo send).
DOWNLOAD_PATH = "/cloud-media/{media_id}"
MAX_FILENAME_CHARS = 240


@dataclass(frozen=True, slots=True)
class MediaRow:
    id: str
    business_id: str
    mime_type: str
    sha256: str  # hex, of the plaintext
    file_size: int
    filename: str | None
    created_at: datetime

    @property
    def kind(self) -> str:
        """The Cloud API message type it is sent as: image, sticker, audio, video, document."""
        return MEDIA_TYPES[self.mime_type].kind


@dataclass(frozen=True, slots=True)
class MediaDownload:
    media: MediaRow
    # The plaintext; DecryptionError at a chunk that does not open (the download is cut off).
    chunks: AsyncIterator[bytes]


class MediaService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        stream: EventStream,
        data_keys: DataKeys,
        business: BusinessService,
    ) -> None:
        self.db = db
        self.stream = stream
        self.data_keys = data_keys
        self.business = business
        self.directory = settings.resolved_business_media_dir
        self.max_bytes = settings.business_media_max_bytes

    @property
    def upload_request_bytes(self) -> int:
        """The request bound on the upload path: the largest file and its multipart."""
        return self.max_bytes + MULTIPART_OVERHEAD_BYTES

    # -- the Cloud API ------------------------------------------------------------------

    async def upload(
        self,
        principal: BusinessPrincipal,
        number_id: str,
        source: BinaryIO,
        declared_type: str,
        filename: str | None,
    ) -> MediaRow:
        """Keep the file `source` (read from its start) sent as `declared_type`."""
        number = await self.business.number_of(principal, number_id)
        mime_type = normalise(declared_type)
        if mime_type not in MEDIA_TYPES:
            raise _upload_error(f"type {mime_type or '(empty)'} is not a supported media type")
        if filename is not None and len(filename) > MAX_FILENAME_CHARS:
            raise parameter_value(f"file: its name is at most {MAX_FILENAME_CHARS} characters")
        limit = max_bytes(mime_type, self.max_bytes)
        size = await asyncio.to_thread(_size_of, source)
        if size > limit:
            raise GraphError(
                131052,
                "Media upload error",
                status=413,
                details=f"a {mime_type} file is at most {limit} bytes; this one is {size}",
            )
        if size == 0 or not await asyncio.to_thread(looks_like, mime_type, source):
            raise _upload_error(f"the file is not of type {mime_type}")
        business_id = number.business_id
        key = await self._key(business_id)
        media_id = new_numeric_id()
        relative = f"{business_id}/{media_id}.media"
        path = self.directory / relative
        sha256, written = await asyncio.to_thread(_write_encrypted, key, source, path)
        filename_enc = (
            seal(key, filename.encode(), aad("business_media", "filename_enc", media_id))
            if filename
            else None
        )
        try:
            async with self.stream.transaction() as tx:
                stored = store.StoredMedia(
                    media_id,
                    business_id,
                    mime_type,
                    sha256,
                    written,
                    filename_enc,
                    relative,
                    tx.now,
                )
                await store.insert_media(tx.conn, stored)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return _row(stored, filename)

    async def read(self, principal: BusinessPrincipal, media_id: str) -> dict[str, object] | None:
        """The Graph object of a media of the caller's business (None if not one)."""
        media = await self._stored(principal.business_id, media_id)
        if media is None:
            return None
        # A path here: the object route makes it an absolute URL on this server's host.
        return {
            "messaging_product": "whatsapp",
            "url": DOWNLOAD_PATH.format(media_id=media.id),
            "mime_type": media.mime_type,
            "sha256": media.sha256,
            "file_size": media.file_size,
            "id": media.id,
        }

    async def delete(self, principal: BusinessPrincipal, media_id: str) -> bool:
        """Delete a media of the caller's business, its file included (False if not one)."""
        async with self.stream.transaction() as tx:
            media = await store.media_by_id(tx.conn, media_id)
            if media is None or media.business_id != principal.business_id:
                return False
            await store.delete_media(tx.conn, media_id)
            tx.after_commit(self._unlinker([media]))
        return True

    async def download_for_business(
        self, principal: BusinessPrincipal, media_id: str
    ) -> MediaDownload:
        media = await self._stored(principal.business_id, media_id)
        if media is None:
            raise unknown_object(media_id)
        return await self._download(media, lambda: unknown_object(media_id))

    # -- for the send path and the people who receive it --------------------------------

    async def for_send(self, business_id: str, media_id: str) -> MediaRow:
        """A media of this business, to be sent (Graph 131053 if it is not one)."""
        media = await self._stored(business_id, media_id)
        if media is None:
            raise _upload_error(f"media {media_id} is not one of this business's media")
        return await self._row(media)

    async def grant(self, tx: Transaction, media_id: str, room_id: str) -> None:
        """Let the joined members of the room download the media (sent into it)."""
        await store.grant_room(tx.conn, media_id, room_id, tx.now)

    async def download_for_person(self, user_id: str, media_id: str) -> MediaDownload:
        """The media, if the person is a joined member of a room it was sent into."""
        async with self.db.read() as conn:
            media = await store.media_by_id(conn, media_id)
            allowed = media is not None and await store.member_may_download(conn, media_id, user_id)
        if media is None or not allowed:
            raise _no_such_media()
        return await self._download(media, _no_such_media)

    # -- retention (R2) -----------------------------------------------------------------

    async def delete_older_than(self, cutoff: datetime, limit: int) -> int:
        """Delete up to `limit` media uploaded before `cutoff`, their files included."""
        async with self.stream.transaction() as tx:
            old = await store.media_older_than(tx.conn, cutoff, limit)
            for media in old:
                await store.delete_media(tx.conn, media.id)
            if old:
                tx.after_commit(self._unlinker(old))
        return len(old)

    async def count_older_than(self, cutoff: datetime) -> int:
        async with self.db.read() as conn:
            return await store.count_older_than(conn, cutoff)

    async def oldest(self) -> datetime | None:
        async with self.db.read() as conn:
            return await store.oldest_media(conn)

    # -- inside -------------------------------------------------------------------------

    async def _stored(self, business_id: str, media_id: str) -> store.StoredMedia | None:
        async with self.db.read() as conn:
            media = await store.media_by_id(conn, media_id)
        if media is None or media.business_id != business_id:
            return None
        return media

    async def _download(
        self, media: store.StoredMedia, missing: Callable[[], Exception]
    ) -> MediaDownload:
        key = await self._key(media.business_id)
        try:
            # Opened now: a file deleted meanwhile is "no such media", not a broken stream.
            file = await asyncio.to_thread((self.directory / media.file_path).open, "rb")
        except FileNotFoundError as exc:
            raise missing() from exc
        return MediaDownload(await self._row(media), _decrypted(key, file))

    async def _row(self, media: store.StoredMedia) -> MediaRow:
        return _row(media, await self._filename(media))

    async def _filename(self, media: store.StoredMedia) -> str | None:
        if media.filename_enc is None:
            return None
        key = await self._key(media.business_id)
        return open_sealed(
            key, media.filename_enc, aad("business_media", "filename_enc", media.id)
        ).decode()

    async def _key(self, business_id: str) -> bytes:
        key = await self.data_keys.get(business_id)
        if key is None:  # the business was erased: its media with it
            raise GraphError(131000, "Something went wrong", status=500)
        return key

    def _unlinker(self, gone: Sequence[store.StoredMedia]) -> Callable[[], None]:
        paths = [self.directory / m.file_path for m in gone]

        def unlink() -> None:
            for path in paths:
                path.unlink(missing_ok=True)

        return unlink


def _row(media: store.StoredMedia, filename: str | None) -> MediaRow:
    return MediaRow(
        media.id,
        media.business_id,
        media.mime_type,
        media.sha256,
        media.file_size,
        filename,
        media.created_at,
    )


def _upload_error(details: str) -> GraphError:
    return GraphError(131053, "Media upload error", details=details)


def _no_such_media() -> NotFound:
    return NotFound("no such media, or not sent to you")


def _size_of(source: BinaryIO) -> int:
    size = source.seek(0, os.SEEK_END)
    source.seek(0)
    return size


class _Hashing:
    """A reader that hashes and counts what is read through it."""

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.source.read(size)
        self.sha256.update(chunk)
        self.size += len(chunk)
        return chunk


def _write_encrypted(key: bytes, source: BinaryIO, path: Path) -> tuple[str, int]:
    """Encrypt `source` into `path` (whole or not at all); its plaintext's sha256 and size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    source.seek(0)
    reader = _Hashing(source)
    try:
        with partial.open("xb") as target:
            encrypt_file(key, MEDIA_FILE_KIND, cast(BinaryIO, reader), target)
            target.flush()
            os.fsync(target.fileno())
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return reader.sha256.hexdigest(), reader.size


async def _decrypted(key: bytes, file: BinaryIO) -> AsyncIterator[bytes]:
    try:
        chunks = decrypt_chunks(key, MEDIA_FILE_KIND, file)
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            if chunk:
                yield chunk
    finally:
        file.close()
