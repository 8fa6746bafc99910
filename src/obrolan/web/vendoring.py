"""`make vendor`: fetch the web client's libraries and the tests' checker from npm, pinned.

The tarballs are checked against the integrity npm publishes for them (pinned here, so a
changed tarball is refused), the few files the client loads are copied out unchanged
with their licences, and VENDOR.json records name, version, tarball URL and the sha256
of every vendored file; tests/web/test_assets.py checks the files against it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

VENDOR_DIR = Path(__file__).parent / "static" / "vendor"
MANIFEST = VENDOR_DIR / "VENDOR.json"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str  # npm's dist.integrity of the tarball
    files: dict[str, str]  # path inside the tarball → name in the vendor folder
    licence: str = ""  # the SPDX id, recorded in VENDOR.json
    loaded: bool = True  # False: for the tests only, never loaded by the page

    @property
    def tarball(self) -> str:
        return f"https://registry.npmjs.org/{self.name}/-/{self.name}-{self.version}.tgz"


PACKAGES = [
    Package(
        "preact",
        "11.2.0",
        "sha512-/HfHI/7N84e6GrWBJ3J280z3mLaRJiDcSvj/A+y/4AbLnND/1UlGHe1sR6oYuTGwId0nP7dqDU9OnLxMPZ7xBg==",
        {"package/dist/preact.mjs": "preact.mjs", "package/LICENSE": "preact.LICENSE"},
    ),
    Package(
        "htm",
        "3.1.1",
        "sha512-983Vyg8NwUE7JkZ6NmOqpCZ+sh1bKv2iYTlUkzlWmA5JD2acKoxd4KVxbMmxX/85mtfdnDmTFoNKcg5DGAvxNQ==",
        {"package/dist/htm.mjs": "htm.mjs", "package/LICENSE": "htm.LICENSE"},
    ),
    # QR codes for setting up two-step sign-in (the Me screen); no imports of its own.
    Package(
        "uqr",
        "0.1.3",
        "sha512-0rjE8iEJe4YmT9TOhwsZtqCMRLc5DXZUI2UEYUUg63ikBkqqE5EYWaI0etFe/5KUcmcYwLih2RND1kq+hrUJXA==",
        {"package/dist/index.mjs": "uqr.mjs", "package/LICENSE": "uqr.LICENSE"},
    ),
    Package(
        "axe-core",
        "4.14.1",
        "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==",
        {"package/axe.min.js": "axe.min.js", "package/LICENSE": "axe.LICENSE"},
        licence="MPL-2.0",
        loaded=False,
    ),
]

# Vendored files the page never loads (the tests' accessibility checker), by file name.
NOT_LOADED = frozenset(
    target for package in PACKAGES if not package.loaded for target in package.files.values()
)
AXE = VENDOR_DIR / "axe.min.js"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(package: Package) -> bytes:
    tarball = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        ["curl", "-sSfL", "--max-time", "60", package.tarball],  # noqa: S607
        check=True,
        capture_output=True,
    ).stdout
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if digest != package.integrity:
        raise SystemExit(f"{package.tarball}: integrity {digest}, expected {package.integrity}")
    return tarball


def vendor() -> None:
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    records = []
    for package in PACKAGES:
        tarball = fetch(package)
        files = {}
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
            for member, target in package.files.items():
                extracted = archive.extractfile(member)
                if extracted is None:
                    raise SystemExit(f"{package.tarball}: {member} is not a file")
                data = extracted.read()
                (VENDOR_DIR / target).write_bytes(data)
                files[target] = sha256(data)
        record: dict[str, object] = {
            "name": package.name,
            "version": package.version,
            "tarball": package.tarball,
            "integrity": package.integrity,
            "files": files,
        }
        if package.licence:
            record["licence"] = package.licence
        if not package.loaded:
            record["loaded_by_the_page"] = False
        records.append(record)
    MANIFEST.write_text(json.dumps({"packages": records}, indent=2) + "\n")
    print(f"vendored {', '.join(p.name + '@' + p.version for p in PACKAGES)} into {VENDOR_DIR}")


if __name__ == "__main__":
    vendor()
