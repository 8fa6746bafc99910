"""create_app(settings): the ASGI application with every domain's routes."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from starlette.types import Receive, Scope, Send

from obrolan import __version__
from obrolan.accounts.api import router as accounts_router
from obrolan.admin.api import router as admin_router
from obrolan.api import problems
from obrolan.api.deps import refuse_nul_in_url
from obrolan.api.limits import RequestSizeLimit
from obrolan.business.api import router as business_router
from obrolan.business.cloud_api import object_router as cloud_objects_router
from obrolan.business.cloud_api import router as cloud_api_router
from obrolan.business.graph import refusal_for_path
from obrolan.business.media_api import UPLOAD_PATH_PATTERN
from obrolan.business.media_api import person_router as business_media_router
from obrolan.business.media_api import router as cloud_media_router
from obrolan.business.message_api import me_router as business_me_router
from obrolan.business.message_api import router as cloud_messages_router
from obrolan.business.template_api import review_router as template_review_router
from obrolan.business.template_api import router as template_router
from obrolan.business.webhook_api import graph_router as webhook_graph_router
from obrolan.business.webhook_api import router as webhook_router
from obrolan.chat.api import router as chat_router
from obrolan.clock import Clock
from obrolan.config import Settings
from obrolan.ops.api import router as ops_router
from obrolan.ops.logging import RequestIdMiddleware
from obrolan.privacy.api import router as privacy_router
from obrolan.privacy.audit_api import router as privacy_audit_router
from obrolan.privacy.export.api import router as export_router
from obrolan.privacy.lawful_access_api import router as lawful_access_router
from obrolan.profile.api import PHOTO_PATH
from obrolan.profile.api import router as profile_router
from obrolan.realtime import gateway
from obrolan.services import Services, build_services
from obrolan.web.routes import build_router as build_web_router

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    services: Services = build_services(settings, clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await services.start()
        # Everything loaded so far lives as long as the process: keep it out of the
        # cyclic collector's full passes, which otherwise pause a busy server for 100 ms+.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await services.close()

    app = ObrolanApp(
        title="obrolan",
        version=__version__,
        summary="Self-hosted conversation platform with its privacy promises kept in code.",
        lifespan=lifespan,
    )
    app.state.services = services
    problems.install(app)
    # Added first, so it runs inside RequestIdMiddleware: a refusal is logged like any answer.
    app.add_middleware(
        RequestSizeLimit,
        max_bytes=settings.max_request_bytes,
        max_bytes_by_path={API_PREFIX + PHOTO_PATH: settings.max_photo_bytes},
        max_bytes_by_pattern=[(UPLOAD_PATH_PATTERN, services.business_media.upload_request_bytes)],
        refusal=refusal_for_path,
    )
    app.add_middleware(RequestIdMiddleware)
    app.include_router(ops_router)
    api_checks = [Depends(refuse_nul_in_url)]
    app.include_router(accounts_router, prefix=API_PREFIX, dependencies=api_checks)
    app.include_router(profile_router, prefix=API_PREFIX, dependencies=api_checks)
    app.include_router(chat_router, prefix=API_PREFIX, dependencies=api_checks)
    app.include_router(admin_router, prefix=API_PREFIX, dependencies=api_checks)
    app.include_router(lawful_access_router, prefix=API_PREFIX, dependencies=api_checks)
    app.include_router(privacy_audit_router, prefix=API_PREFIX, dependencies=api_checks)
    app.include_router(export_router, prefix=API_PREFIX, dependencies=api_checks)
    app.include_router(privacy_router, prefix=API_PREFIX, dependencies=api_checks)
    app.include_router(business_router, prefix=API_PREFIX, dependencies=api_checks)
    app.include_router(business_me_router, prefix=API_PREFIX, dependencies=api_checks)
    app.include_router(business_media_router, prefix=API_PREFIX, dependencies=api_checks)
    app.include_router(webhook_router, prefix=API_PREFIX, dependencies=api_checks)
    app.include_router(template_review_router, prefix=API_PREFIX, dependencies=api_checks)
    # The Cloud API surface, at the root as graph.facebook.com has it (/v25.0/...).
    app.include_router(cloud_api_router)
    app.include_router(template_router)
    app.include_router(cloud_messages_router)
    app.include_router(cloud_media_router)
    app.include_router(webhook_graph_router)
    # Objects by id alone (/v25.0/{media or template id}): after every /{id}/edge route.
    app.include_router(cloud_objects_router)
    app.include_router(build_web_router())
    return app


class ObrolanApp(FastAPI):
    """FastAPI for HTTP; the WebSocket gateway, spoken to directly, for `/ws`."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == gateway.PATH:
            await gateway.serve_websocket(self.state.services, scope, receive, send)
        else:
            await super().__call__(scope, receive, send)
