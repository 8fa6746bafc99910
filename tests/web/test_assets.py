"""How the web client is shipped and served: vendored files, languages, headers, caching."""

from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser

from obrolan.web.assets import STATIC, load
from obrolan.web.routes import CONTENT_SECURITY_POLICY
from obrolan.web.vendoring import MANIFEST, PACKAGES, VENDOR_DIR
from tests.support.server import RunningServer

I18N = STATIC / "i18n"


def test_the_vendored_files_match_their_recorded_hashes() -> None:
    recorded = json.loads(MANIFEST.read_text())["packages"]
    assert [(p["name"], p["version"]) for p in recorded] == [(p.name, p.version) for p in PACKAGES]
    files: dict[str, str] = {}
    for package in recorded:
        assert package["tarball"].startswith("https://registry.npmjs.org/")
        assert any(name.endswith(".LICENSE") for name in package["files"]), package["name"]
        files.update(package["files"])
    for name, digest in files.items():
        assert hashlib.sha256((VENDOR_DIR / name).read_bytes()).hexdigest() == digest, name
    # Nothing in the vendor folder that the record does not vouch for.
    present = {path.name for path in VENDOR_DIR.iterdir()} - {MANIFEST.name}
    assert present == set(files)


def test_every_string_exists_in_english_and_bahasa_indonesia() -> None:
    dictionaries = {path.stem: json.loads(path.read_text()) for path in I18N.glob("*.json")}
    assert set(dictionaries) == {"en", "id"}
    # Bahasa Indonesia has no plural forms: only English has the counts' "one" texts.
    english = {key for key in dictionaries["en"] if not key.endswith(".one")}
    assert english == set(dictionaries["id"])
    assert all(text.strip() for d in dictionaries.values() for text in d.values())
    # Every key the client asks for is there, the ones it builds from a state included.
    source = "\n".join(
        path.read_text() for path in STATIC.rglob("*.js") if "vendor" not in path.parts
    )
    used = set(re.findall(r'\bt\("([\w.]+)"', source))
    # A count's text: the "other" form in every language, "one" too in English.
    counted = re.findall(r'\btn\("([\w.]+)"', source)
    used |= {f"{key}.other" for key in counted} | {f"{key}.one" for key in counted}
    used |= {f"conn.{s}" for s in ("online", "connecting", "offline")}
    used |= {f"status.{s}" for s in ("sent", "delivered", "read")}
    assert used - set(dictionaries["en"]) == set()
    # Placeholders such as {name} are the same in both languages.
    for key, text in dictionaries["en"].items():
        indonesian = dictionaries["id"][
            key.removesuffix(".one") + ".other" if key.endswith(".one") else key
        ]
        assert set(re.findall(r"\{\w+\}", text)) == set(re.findall(r"\{\w+\}", indonesian)), key


class _Inline(HTMLParser):
    """Finds what a strict CSP would refuse: inline scripts, styles and handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script":
            self.scripts.append(dict(attrs))
            self._in_script = True
        if tag == "style" or "style" in names or any(n.startswith("on") for n in names):
            self.inline.append(tag)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append("script")


async def test_the_page_is_served_with_a_strict_policy_and_never_cached(
    server: RunningServer,
) -> None:
    http = server.http()
    page = await http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    header = page.headers["content-security-policy"]
    assert header == CONTENT_SECURITY_POLICY
    policy = dict(directive.split(" ", 1) for directive in header.split("; "))
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    found = _Inline()
    found.feed(page.text)
    assert found.inline == []
    assert found.scripts and all(s.get("src") for s in found.scripts)


async def test_assets_are_named_by_their_content_and_cached_for_ever(
    server: RunningServer,
) -> None:
    bundle = load()
    http = server.http()
    page = (await http.get("/")).text
    assert f'src="/assets/{bundle.version}/app.js"' in page
    for name, content_type in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("vendor/preact.mjs", "text/javascript; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("i18n/id.json", "application/json"),
    ]:
        answer = await http.get(f"/assets/{bundle.version}/{name}")
        assert answer.status_code == 200, name
        assert answer.headers["content-type"] == content_type
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.content == (STATIC / name).read_bytes()
    # Another version's URL, or a path outside the assets, is not served.
    for path in [
        "/assets/0000000000000000/app.js",
        f"/assets/{bundle.version}/%2e%2e/%2e%2e/pyproject.toml",
        f"/assets/{bundle.version}/index.html",
        f"/assets/{bundle.version}/nothing.js",
    ]:
        answer = await http.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == "application/problem+json"


async def test_the_app_installs_and_keeps_its_shell_for_offline_use(
    server: RunningServer,
) -> None:
    bundle = load()
    http = server.http()
    manifest = await http.get("/manifest.webmanifest")
    assert manifest.headers["content-type"] == "application/manifest+json"
    assert manifest.headers["cache-control"] == "no-cache"
    icon = manifest.json()["icons"][0]["src"]
    assert (await http.get(icon)).status_code == 200
    worker = await http.get("/sw.js")
    assert worker.headers["cache-control"] == "no-cache"
    assert f'const VERSION = "{bundle.version}";' in worker.text
    shell = json.loads(re.search(r"const SHELL = (\[.*\]);", worker.text).group(1))  # type: ignore[union-attr]
    assert "/" in shell and f"/assets/{bundle.version}/app.js" in shell
    for url in shell:
        assert (await http.get(url)).status_code == 200, url
