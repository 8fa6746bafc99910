"""The web client's files, read once at start and named by their content.

Everything under static/ except the three shell files is served under
`/assets/<version>/…`, where the version is a hash of every file's content: a new
release gets new URLs, so those answers may be cached for ever, and the ES modules'
relative imports stay inside one version. The shell files (index.html, the service
worker and the manifest) keep fixed URLs, are never cached, and have the asset prefix
filled in here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from obrolan.web.vendoring import NOT_LOADED

STATIC = Path(__file__).parent / "static"
SHELL_FILES = frozenset({"index.html", "sw.js", "manifest.webmanifest"})
ASSETS_PATH = "/assets"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".LICENSE": "text/plain; charset=utf-8",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Bundle:
    version: str
    assets: dict[str, Asset]  # path below static/ → file, shell files left out
    index: bytes
    service_worker: bytes
    manifest: bytes


def content_type(path: str) -> str:
    return CONTENT_TYPES.get(PurePosixPath(path).suffix, "application/octet-stream")


def load(root: Path = STATIC) -> Bundle:
    files = {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
    digest = hashlib.sha256()
    for name, body in files.items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(body).digest())
    version = digest.hexdigest()[:16]
    prefix = f"{ASSETS_PATH}/{version}"
    assets = {
        name: Asset(body, content_type(name))
        for name, body in files.items()
        if name not in SHELL_FILES
    }
    # What the service worker keeps so that the app opens offline: the page and every
    # asset but the licences, the vendoring record and the tests' accessibility checker,
    # which the page never loads.
    shell = ["/", *(f"{prefix}/{name}" for name in assets if not _not_loaded(name))]

    def fill(name: str) -> bytes:
        text = files[name].decode()
        text = text.replace("{{assets}}", prefix).replace("{{version}}", version)
        return text.replace("{{shell}}", json.dumps(shell)).encode()

    return Bundle(
        version=version,
        assets=assets,
        index=fill("index.html"),
        service_worker=fill("sw.js"),
        manifest=fill("manifest.webmanifest"),
    )


def _not_loaded(name: str) -> bool:
    if name.endswith(".LICENSE") or name.endswith("VENDOR.json"):
        return True
    path = PurePosixPath(name)
    return path.parent == PurePosixPath("vendor") and path.name in NOT_LOADED
