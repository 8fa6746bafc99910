"""The export job and the download (R1): build a person's ZIP, seal it, hand it to them only.

The `privacy.export` job (queued by an access request) reads everything held about the
person in one snapshot, page by page (collect.py), writes export.json, index.html and
their photo into a ZIP as it reads, and stores the ZIP in sealed parts as they fill up:
no more than a page of data and a part of the ZIP are ever in memory, and nothing of it
touches a node's disk. The export's row, the request's completion and the audit entry
are written last, in one transaction: an export exists exactly when it is whole.
"""

from __future__ import annotations

import asyncio
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from obrolan.accounts.keys import DataKeys, aad
from obrolan.accounts.principal import Principal
from obrolan.clock import Clock
from obrolan.config import Settings
from obrolan.crypto import DecryptionError, open_sealed, seal
from obrolan.crypto.envelope import new_key
from obrolan.db import Database
from obrolan.errors import NotFound, ObrolanError
from obrolan.ids import new_id
from obrolan.jobs import Job, Worker
from obrolan.privacy.audit import ActorRole, AuditEvent, AuditLog
from obrolan.privacy.export import store
from obrolan.privacy.export.collect import PHOTO_FILE, Collector
from obrolan.privacy.export.render import HtmlRenderer, JsonRenderer, Renderer
from obrolan.privacy.export.store import ExportRequest, ExportRow
from obrolan.privacy.requests import PrivacyRequests
from obrolan.privacy.rules import RequestKind
from obrolan.realtime.stream import EventStream

EXPORT_KIND = "privacy.export"
# Plaintext bytes per sealed part: a part is what a download holds in memory at once.
PART_BYTES = 1 << 20
PAGE_SIZE = 500
# The request's progress while the two files are written; 100 once the export is stored.
_WRITTEN = 95

log = structlog.get_logger("obrolan.privacy.export")


class ExportExpired(ObrolanError):
    status = 410
    type_slug = "export-expired"
    title = "Gone"


@dataclass(frozen=True, slots=True)
class ExportInfo:
    id: str
    request_id: str
    size: int
    created_at: datetime
    expires_at: datetime
    downloaded_at: datetime | None
    expired: bool


@dataclass(frozen=True, slots=True)
class Download:
    filename: str
    size: int
    chunks: AsyncIterator[bytes]


def _key_aad(export_id: str) -> bytes:
    return aad("privacy_exports", "key_enc", export_id)


def _part_aad(export_id: str, seq: int) -> bytes:
    return aad("privacy_export_parts", "data", f"{export_id}:{seq}")


class _SealedParts:
    """The file the ZIP is written to: fills a buffer, which `drain` seals and stores.

    Not seekable on purpose (no `seek`), so zipfile writes each member as it comes,
    with a data descriptor after it, and never goes back.
    """

    def __init__(self, stream: EventStream, export_id: str, key: bytes, part_bytes: int) -> None:
        self.stream = stream
        self.export_id = export_id
        self.key = key
        self.part_bytes = part_bytes
        self.buffer = bytearray()
        self.size = 0
        self.parts = 0

    def write(self, data: bytes) -> int:
        self.buffer += data
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    async def drain(self, *, final: bool = False) -> None:
        while len(self.buffer) >= self.part_bytes or (final and self.buffer):
            chunk = bytes(self.buffer[: self.part_bytes])
            del self.buffer[: self.part_bytes]
            sealed = seal(self.key, chunk, _part_aad(self.export_id, self.parts))
            # One short transaction per part: a chat send waits for a part, not the export.
            async with self.stream.transaction() as tx:
                await store.insert_part(tx.conn, self.export_id, self.parts, sealed, tx.now)
            self.parts += 1


class _Progress:
    """The request's `progress`, written when it moved by a step or more."""

    STEP = 5

    def __init__(self, stream: EventStream, request_id: str, expected_rows: int) -> None:
        self.stream = stream
        self.request_id = request_id
        self.expected = max(1, expected_rows)
        self.rows = 0
        self.written = 0

    async def advance(self, rows: int) -> None:
        self.rows += rows
        progress = min(_WRITTEN, _WRITTEN * self.rows // self.expected)
        if progress >= self.written + self.STEP:
            async with self.stream.transaction() as tx:
                await store.set_request_progress(tx.conn, self.request_id, progress)
            self.written = progress


class ExportService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        stream: EventStream,
        data_keys: DataKeys,
        audit: AuditLog,
        clock: Clock,
        requests: PrivacyRequests,
    ) -> None:
        self.settings = settings
        self.db = db
        self.stream = stream
        self.data_keys = data_keys
        self.audit = audit
        self.requests = requests
        self.clock = clock
        self.page_size = PAGE_SIZE
        self.part_bytes = PART_BYTES
        self.lifetime = timedelta(hours=settings.privacy_export_hours)

    def register(self, worker: Worker) -> None:
        worker.handle(EXPORT_KIND)(self.run)

    async def run(self, job: Job) -> None:
        await self.build(str(job.payload["request_id"]))

    # -- building -----------------------------------------------------------------------
    async def build(self, request_id: str) -> str | None:
        """Build the export that answers access request `request_id`; its id.

        Safe to run twice (jobs run at least once): a request already answered, closed
        or unknown builds nothing, and of two builds racing only one is stored.
        """
        async with self.db.read() as conn:
            request = await store.export_request(conn, request_id)
            done = await store.export_of_request(conn, request_id)
        if done is not None:
            return done.id
        if request is None or request.kind != RequestKind.access or not request.open:
            log.info("export not built: no open access request", request_id=request_id)
            return None
        async with self.stream.transaction() as tx:
            await store.set_request_progress(tx.conn, request_id, 0)
        export_id = new_id()
        export_key = new_key()
        parts = _SealedParts(self.stream, export_id, export_key, self.part_bytes)
        try:
            built = await self._write(request, export_id, parts)
            if built is None:
                return None
            person_key, counts = built
            return await self._store(request, export_id, person_key, export_key, parts, counts)
        except BaseException:
            async with self.stream.transaction() as tx:
                await store.delete_parts(tx.conn, export_id)
            raise

    async def _write(
        self, request: ExportRequest, export_id: str, parts: _SealedParts
    ) -> tuple[bytes, dict[str, int]] | None:
        """Write the ZIP into `parts`; the person's key and the count of each section."""
        async with self.db.read() as conn:
            person_key = await self.data_keys.get(request.user_id)
            if person_key is None:
                # Erased (R4): nothing of theirs can be opened, so nothing is exported.
                log.info("export not built: the person's key is gone", request_id=request.id)
                return None
            now = self.clock.now()
            collector = Collector(
                conn,
                self.data_keys,
                self.audit,
                request.user_id,
                person_key,
                now,
                self.settings.default_language,
                self.page_size,
            )
            messages = await store.count_messages(conn, request.user_id)
            # Both files read every section: twice the messages, and some for the rest.
            progress = _Progress(self.stream, request.id, 2 * (messages + self.page_size))
            archive = zipfile.ZipFile(parts, "w", compression=zipfile.ZIP_DEFLATED)
            json_file = JsonRenderer(
                export_id=export_id,
                request_id=request.id,
                user_id=request.user_id,
                generated_at=now,
            )
            counts = await self._write_file(
                archive, parts, _member("export.json", now), json_file, collector, progress
            )
            html_file = HtmlRenderer(await collector.language(), now)
            await self._write_file(
                archive, parts, _member("index.html", now), html_file, collector, progress
            )
            photo = await collector.photo()
            if photo is not None:
                # Already WebP: stored, not compressed again.
                member = _member(PHOTO_FILE, now, zipfile.ZIP_STORED)
                await asyncio.to_thread(archive.writestr, member, photo)
            await asyncio.to_thread(archive.close)
            await parts.drain(final=True)
        return person_key, counts

    async def _write_file(
        self,
        archive: zipfile.ZipFile,
        parts: _SealedParts,
        name: zipfile.ZipInfo,
        renderer: Renderer,
        collector: Collector,
        progress: _Progress,
    ) -> dict[str, int]:
        counts: dict[str, int] = {}
        # Compressing is CPU work: each piece goes to a thread, the loop stays free.
        member = archive.open(name, "w", force_zip64=True)

        async def put(data: bytes) -> None:
            await asyncio.to_thread(member.write, data)
            await parts.drain()

        await put(renderer.begin())
        async for section in collector.sections():
            if section.pages is None:
                await put(renderer.value(section.name, section.value or {}))
                continue
            count = 0
            await put(renderer.list_start(section.name))
            async for page in section.pages:
                await put(renderer.items(section.name, page, first=count == 0))
                count += len(page)
                await progress.advance(len(page))
            await put(renderer.list_end(section.name, count))
            counts[section.name] = count
        await put(renderer.end(counts))
        await asyncio.to_thread(member.close)
        await parts.drain()
        return counts

    async def _store(
        self,
        request: ExportRequest,
        export_id: str,
        person_key: bytes,
        export_key: bytes,
        parts: _SealedParts,
        counts: dict[str, int],
    ) -> str | None:
        async with self.stream.transaction() as tx:
            current = await store.export_request(tx.conn, request.id)
            other = await store.export_of_request(tx.conn, request.id)
            if other is not None or current is None or not current.open:
                # Another build stored first, or the request was closed meanwhile.
                await store.delete_parts(tx.conn, export_id)
                return other.id if other is not None else None
            row = ExportRow(
                id=export_id,
                request_id=request.id,
                user_id=request.user_id,
                # R4: the export's key is sealed under the person's data key; destroying
                # that key (erasure) leaves any export still stored, or in a backup,
                # unreadable.
                key_enc=seal(person_key, export_key, _key_aad(export_id)),
                size=parts.size,
                parts=parts.parts,
                created_at=tx.now,
                expires_at=tx.now + self.lifetime,
                downloaded_at=None,
            )
            await store.insert_export(tx.conn, row)
            await self.requests.complete_by_system(tx, request.id, "the export is ready")
            await self.audit.record(
                tx.conn,
                AuditEvent(
                    "privacy.export.built",
                    None,
                    ActorRole.system,
                    request.user_id,
                    {
                        "export_id": export_id,
                        "request_id": request.id,
                        "counts": counts,
                        "size": parts.size,
                    },
                ),
            )
        log.info("export built", export_id=export_id, size=parts.size, parts=parts.parts)
        return export_id

    # -- the person's side ------------------------------------------------------------------
    async def list_exports(self, principal: Principal) -> list[ExportInfo]:
        """The acting person's exports, newest first."""
        async with self.db.read() as conn:
            rows = await store.exports_of(conn, principal.user_id)
        now = self.clock.now()
        return [
            ExportInfo(
                r.id,
                r.request_id,
                r.size,
                r.created_at,
                r.expires_at,
                r.downloaded_at,
                expired=now >= r.expires_at,
            )
            for r in rows
        ]

    async def download(self, principal: Principal, export_id: str) -> Download:
        """The acting person's export as a stream of ZIP bytes.

        Someone else's export answers as a missing one (404): that it exists is theirs.
        Past `expires_at` it answers 410 export-expired, and its content is deleted at
        once; the row (ids and times) stays until `delete_expired_exports` removes it.
        """
        async with self.db.read() as conn:
            row = await store.export_by_id(conn, export_id)
            person_key = await self.data_keys.get(principal.user_id)
        if row is None or row.user_id != principal.user_id:
            raise NotFound("no such export of yours", field="id")
        if self.clock.now() >= row.expires_at:
            async with self.stream.transaction() as tx:
                await store.delete_parts(tx.conn, row.id)
            raise ExportExpired(
                "this export has expired and was deleted; ask for a new one",
                field="id",
                extra={"expired_at": row.expires_at.isoformat()},
            )
        export_key = _open_key(person_key, row)
        async with self.stream.transaction() as tx:
            await store.mark_downloaded(tx.conn, row.id, tx.now)
            await self.audit.record(
                tx.conn,
                AuditEvent(
                    "privacy.export.downloaded",
                    principal.user_id,
                    ActorRole.person,
                    principal.user_id,
                    {"export_id": row.id, "size": row.size},
                ),
            )
        return Download(f"obrolan-export-{row.id}.zip", row.size, self._chunks(row, export_key))

    async def _chunks(self, row: ExportRow, export_key: bytes) -> AsyncIterator[bytes]:
        for seq in range(row.parts):
            # One short read per part: a slow download holds no transaction open.
            async with self.db.read() as conn:
                sealed = await store.part(conn, row.id, seq)
            if sealed is None:
                raise RuntimeError("an export part is missing")
            yield open_sealed(export_key, sealed, _part_aad(row.id, seq))


def _member(name: str, at: datetime, compression: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    """A file in the ZIP, dated when the export was made (UTC)."""
    member = zipfile.ZipInfo(name, date_time=at.timetuple()[:6])
    member.compress_type = compression
    return member


def _open_key(person_key: bytes | None, row: ExportRow) -> bytes:
    """The export's own key; NotFound once the person's key is destroyed (R4)."""
    if person_key is None:
        raise NotFound("no such export of yours", field="id")
    try:
        return open_sealed(person_key, row.key_enc, _key_aad(row.id))
    except DecryptionError as exc:
        raise NotFound("no such export of yours", field="id") from exc
