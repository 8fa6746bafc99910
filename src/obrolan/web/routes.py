"""GET /, the service worker, the manifest and /assets/<version>/…: the web client."""

from __future__ import annotations

from fastapi import APIRouter, Response

from obrolan.errors import NotFound
from obrolan.web.assets import ASSETS_PATH, Bundle, load

# No inline script or style anywhere in the client, so none is allowed: markup that a
# message might smuggle into the page could not run even if it reached the DOM.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
NEVER_CACHED = "no-store"
# The shell files may be kept but must be asked for again each time.
REVALIDATE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"


def _answer(body: bytes, content_type: str, cache: str) -> Response:
    headers = {**SECURITY_HEADERS, "Cache-Control": cache}
    return Response(content=body, media_type=content_type, headers=headers)


def build_router(bundle: Bundle | None = None) -> APIRouter:
    bundle = bundle or load()
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def index() -> Response:
        return _answer(bundle.index, "text/html; charset=utf-8", NEVER_CACHED)

    @router.get("/sw.js")
    async def service_worker() -> Response:
        return _answer(bundle.service_worker, "text/javascript; charset=utf-8", REVALIDATE)

    @router.get("/manifest.webmanifest")
    async def manifest() -> Response:
        return _answer(bundle.manifest, "application/manifest+json", REVALIDATE)

    @router.get(ASSETS_PATH + "/{version}/{path:path}")
    async def asset(version: str, path: str) -> Response:
        found = bundle.assets.get(path) if version == bundle.version else None
        if found is None:
            # An older release's URL too: its content is gone, and a reload fetches the
            # page with the current version's URLs.
            raise NotFound("no such asset")
        return _answer(found.body, found.content_type, IMMUTABLE)

    return router
