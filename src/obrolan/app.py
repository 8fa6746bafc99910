"""create_app(settings): the ASGI application with every domain's routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from obrolan import __version__
from obrolan.accounts.api import router as accounts_router
from obrolan.api import problems
from obrolan.chat.api import router as chat_router
from obrolan.clock import Clock
from obrolan.config import Settings
from obrolan.ops.api import router as ops_router
from obrolan.ops.logging import RequestIdMiddleware
from obrolan.realtime.gateway import router as realtime_router
from obrolan.services import Services, build_services

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    services: Services = build_services(settings, clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await services.start()
        try:
            yield
        finally:
            await services.close()

    app = FastAPI(
        title="obrolan",
        version=__version__,
        summary="Self-hosted conversation platform with its privacy promises kept in code.",
        lifespan=lifespan,
    )
    app.state.services = services
    problems.install(app)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(ops_router)
    app.include_router(accounts_router, prefix=API_PREFIX)
    app.include_router(chat_router, prefix=API_PREFIX)
    app.include_router(realtime_router)
    return app
