"""The export's two files, written piece by piece: export.json and index.html (R1).

Pure text: each renderer turns one section's value or one page of its items into bytes
as they come, so neither file is ever held whole. export.json is the machine-readable
copy (docs/export.schema.json describes it); index.html shows the same data to a person,
as plain HTML: every value escaped, no scripts (its Content-Security-Policy allows none),
in their language.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, Protocol

import orjson

from obrolan.profile.rules import Language
from obrolan.realtime.frames import iso

SCHEMA_NAME: Final = "obrolan-export"
# Bump on any change of export.json's shape, with docs/export.schema.json.
SCHEMA_VERSION: Final = 1
SCHEMA_PATH: Final = "docs/export.schema.json"


class Renderer(Protocol):
    def begin(self) -> bytes: ...

    def value(self, name: str, value: Mapping[str, Any]) -> bytes: ...

    def list_start(self, name: str) -> bytes: ...

    def items(self, name: str, items: list[dict[str, Any]], *, first: bool) -> bytes: ...

    def list_end(self, name: str, count: int) -> bytes: ...

    def end(self, counts: Mapping[str, int]) -> bytes: ...


class JsonRenderer:
    """One JSON object; lists are streamed, an item at a time."""

    def __init__(
        self, *, export_id: str, request_id: str, user_id: str, generated_at: datetime
    ) -> None:
        self.head = {
            "schema": {
                "name": SCHEMA_NAME,
                "version": SCHEMA_VERSION,
                "generated_at": iso(generated_at),
                "description": SCHEMA_PATH,
            },
            "export_id": export_id,
            "request_id": request_id,
            "user_id": user_id,
        }

    def begin(self) -> bytes:
        # The head's own closing brace is left off: the sections follow inside it.
        return orjson.dumps(self.head)[:-1]

    def value(self, name: str, value: Mapping[str, Any]) -> bytes:
        return b"," + orjson.dumps(name) + b":" + orjson.dumps(value)

    def list_start(self, name: str) -> bytes:
        return b"," + orjson.dumps(name) + b":["

    def items(self, name: str, items: list[dict[str, Any]], *, first: bool) -> bytes:
        body = b",".join(orjson.dumps(item) for item in items)
        return body if first else b"," + body

    def list_end(self, name: str, count: int) -> bytes:
        return b"]"

    def end(self, counts: Mapping[str, int]) -> bytes:
        return b',"counts":' + orjson.dumps(dict(counts)) + b"}\n"


_TEXT: Final[dict[Language, dict[str, str]]] = {
    "en": {
        "title": "Your data on obrolan",
        "intro": "Everything this obrolan server holds about you, as of {at} (UTC). The same"
        " data, machine-readable, is in export.json in this archive.",
        "none": "None.",
        "yes": "yes",
        "no": "no",
        "photo": "Your photo is the file {file} in this archive.",
        "counts": "In this export",
        "account": "Account",
        "profile": "Profile",
        "addresses": "Email addresses and phone numbers",
        "contact_settings": "Who can find and message you",
        "sessions": "Sessions (where your account signed in)",
        "rooms": "Rooms and memberships",
        "receipts": "Receipts (how far you received and read each room)",
        "message_requests": "Message requests you received",
        "messages": "Messages you wrote",
        "reactions": "Your reactions",
        "blocks": "People you blocked",
        "business_opt_ins": "Businesses that may message you (your opt-ins, with their proof)",
        "data_requests": "Your data requests",
        "exports": "Earlier exports",
        "audit": "The audit log about you",
        "people": "Other people named above (id and display name only)",
    },
    "id": {
        "title": "Data Anda di obrolan",
        "intro": "Semua yang disimpan server obrolan ini tentang Anda, per {at} (UTC). Data"
        " yang sama, dalam bentuk yang dapat dibaca mesin, ada di export.json dalam arsip"
        " ini.",
        "none": "Tidak ada.",
        "yes": "ya",
        "no": "tidak",
        "photo": "Foto Anda adalah berkas {file} dalam arsip ini.",
        "counts": "Isi ekspor ini",
        "account": "Akun",
        "profile": "Profil",
        "addresses": "Alamat email dan nomor telepon",
        "contact_settings": "Siapa yang dapat menemukan dan mengirimi Anda pesan",
        "sessions": "Sesi (tempat akun Anda masuk)",
        "rooms": "Ruang dan keanggotaan",
        "receipts": "Tanda terima (sejauh mana Anda menerima dan membaca tiap ruang)",
        "message_requests": "Permintaan pesan yang Anda terima",
        "messages": "Pesan yang Anda tulis",
        "reactions": "Reaksi Anda",
        "blocks": "Orang yang Anda blokir",
        "business_opt_ins": "Bisnis yang boleh mengirimi Anda pesan (persetujuan Anda, dengan"
        " buktinya)",
        "data_requests": "Permintaan data Anda",
        "exports": "Ekspor sebelumnya",
        "audit": "Catatan audit tentang Anda",
        "people": "Orang lain yang disebut di atas (hanya id dan nama tampilan)",
    },
}

# Content-Security-Policy: nothing runs, nothing loads from anywhere.
_HEAD = (
    '<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8">'
    '<meta http-equiv="Content-Security-Policy"'
    " content=\"default-src 'none'; style-src 'unsafe-inline'\">"
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>{title}</title><style>"
    "body{{font-family:sans-serif;margin:2em;max-width:80em}}"
    "table{{border-collapse:collapse;margin-bottom:1em}}"
    "td,th{{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}}"
    "td{{white-space:pre-wrap}}dt{{font-weight:bold}}"
    "</style></head><body>\n<h1>{title}</h1>\n<p>{intro}</p>\n"
)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


class HtmlRenderer:
    """A readable page: a definition list per object, a table per list."""

    def __init__(self, language: Language, generated_at: datetime) -> None:
        self.text = _TEXT[language]
        self.language = language
        self.generated_at = generated_at

    def begin(self) -> bytes:
        at = self.generated_at.strftime("%Y-%m-%d %H:%M")
        return _HEAD.format(
            lang=self.language,
            title=_e(self.text["title"]),
            intro=_e(self.text["intro"].format(at=at)),
        ).encode()

    def _heading(self, name: str) -> str:
        return f'<section id="{_e(name)}"><h2>{_e(self.text.get(name, name))}</h2>\n'

    def _cell(self, value: Any) -> str:
        if value is None:
            return "—"
        if isinstance(value, bool):
            return self.text["yes"] if value else self.text["no"]
        if isinstance(value, Mapping):
            return "; ".join(f"{_e(str(k))}: {self._cell(v)}" for k, v in value.items())
        if isinstance(value, list):
            return ", ".join(self._cell(v) for v in value)
        return _e(str(value))

    def value(self, name: str, value: Mapping[str, Any]) -> bytes:
        rows = "".join(f"<dt>{_e(str(k))}</dt><dd>{self._cell(v)}</dd>" for k, v in value.items())
        extra = ""
        photo = value.get("photo")
        if name == "profile" and isinstance(photo, Mapping) and photo.get("file"):
            extra = f"<p>{_e(self.text['photo'].format(file=photo['file']))}</p>"
        return (self._heading(name) + f"<dl>{rows}</dl>{extra}</section>\n").encode()

    def list_start(self, name: str) -> bytes:
        return self._heading(name).encode()

    def items(self, name: str, items: list[dict[str, Any]], *, first: bool) -> bytes:
        out = []
        if first:
            header = "".join(f"<th>{_e(k)}</th>" for k in items[0])
            out.append(f"<table><thead><tr>{header}</tr></thead><tbody>\n")
        for item in items:
            cells = "".join(f"<td>{self._cell(v)}</td>" for v in item.values())
            out.append(f"<tr>{cells}</tr>\n")
        return "".join(out).encode()

    def list_end(self, name: str, count: int) -> bytes:
        if count == 0:
            return f"<p>{_e(self.text['none'])}</p></section>\n".encode()
        return b"</tbody></table></section>\n"

    def end(self, counts: Mapping[str, int]) -> bytes:
        rows = "".join(
            f"<tr><th>{_e(self.text.get(k, k))}</th><td>{n}</td></tr>" for k, n in counts.items()
        )
        return (
            f'<section id="counts"><h2>{_e(self.text["counts"])}</h2>'
            f"<table>{rows}</table></section>\n</body></html>\n"
        ).encode()
