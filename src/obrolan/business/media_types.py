"""The media types a business may upload, their size limits, and what their bytes must
look like (pure rules; the Cloud API's own list and limits, COMPAT.md §1 "Media").

A declared type is believed only if the file's first bytes are of that type: images are
identified by Pillow from their header, the others by their magic numbers.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import BinaryIO, Final

from PIL import Image, UnidentifiedImageError

MB: Final = 1024 * 1024
KB: Final = 1024
# How much of a file the checks below read.
SNIFF_BYTES: Final = 8 * KB

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the legacy Office formats' container
_ZIP = b"PK\x03\x04"  # Office Open XML files are ZIP archives


@dataclass(frozen=True, slots=True)
class MediaType:
    kind: str  # the Cloud API's message type: image | sticker | audio | video | document
    max_bytes: int


MEDIA_TYPES: Final = {
    "image/jpeg": MediaType("image", 5 * MB),
    "image/png": MediaType("image", 5 * MB),
    "image/webp": MediaType("sticker", 500 * KB),
    "audio/aac": MediaType("audio", 16 * MB),
    "audio/mp4": MediaType("audio", 16 * MB),
    "audio/mpeg": MediaType("audio", 16 * MB),
    "audio/amr": MediaType("audio", 16 * MB),
    "audio/ogg": MediaType("audio", 16 * MB),
    "video/mp4": MediaType("video", 16 * MB),
    "video/3gpp": MediaType("video", 16 * MB),
    "application/pdf": MediaType("document", 100 * MB),
    "text/plain": MediaType("document", 100 * MB),
    "application/msword": MediaType("document", 100 * MB),
    "application/vnd.ms-excel": MediaType("document", 100 * MB),
    "application/vnd.ms-powerpoint": MediaType("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": MediaType(
        "document", 100 * MB
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": MediaType(
        "document", 100 * MB
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": MediaType(
        "document", 100 * MB
    ),
}

_PILLOW_FORMATS: Final = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


def normalise(declared: str) -> str:
    """`Image/JPEG; charset=x` → `image/jpeg`."""
    return declared.split(";")[0].strip().lower()


def max_bytes(mime_type: str, cap: int) -> int:
    """The largest file of this (allowed) type: the Cloud API's limit, or the server's cap."""
    return min(MEDIA_TYPES[mime_type].max_bytes, cap)


def looks_like(mime_type: str, source: BinaryIO) -> bool:
    """Whether the file `source` (read from its start, then rewound) is of `mime_type`."""
    source.seek(0)
    try:
        if mime_type in _PILLOW_FORMATS:
            return _is_image(_PILLOW_FORMATS[mime_type], source)
        return _starts_like(mime_type, source.read(SNIFF_BYTES))
    finally:
        source.seek(0)


def _starts_like(mime_type: str, head: bytes) -> bool:
    if mime_type == "audio/aac":  # ADTS: 12 sync bits, then layer 00
        return head.startswith(b"ADIF") or (
            len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0
        )
    if mime_type == "audio/mpeg":  # an ID3 tag, or an MPEG audio frame (layer not 00)
        return head.startswith(b"ID3") or (
            len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06 != 0
        )
    if mime_type == "audio/amr":
        return head.startswith((b"#!AMR\n", b"#!AMR-WB\n"))
    if mime_type == "audio/ogg":
        return head.startswith(b"OggS")
    if mime_type in ("audio/mp4", "video/mp4"):  # an ISO base media file: `ftyp` first
        return head[4:8] == b"ftyp"
    if mime_type == "video/3gpp":
        return head[4:8] == b"ftyp" and head[8:10] == b"3g"
    if mime_type == "application/pdf":
        return head.startswith(b"%PDF-")
    if mime_type == "text/plain":
        return _is_text(head)
    if mime_type.startswith("application/vnd.openxmlformats"):
        return head.startswith(_ZIP)
    if mime_type in ("application/msword", "application/vnd.ms-excel"):
        return head.startswith(_OLE2)
    return mime_type == "application/vnd.ms-powerpoint" and head.startswith(_OLE2)


def _is_image(pillow_format: str, source: BinaryIO) -> bool:
    try:
        # Opening reads the header only; the pixels are never decoded here.
        with Image.open(source, formats=[pillow_format]) as image:
            return image.format == pillow_format
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        return False


def _is_text(head: bytes) -> bool:
    """UTF-8 without NUL bytes (a character cut at the end of `head` is fine)."""
    if b"\x00" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True
