"""/healthz, /readyz and /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from obrolan.api.deps import ServicesDep
from obrolan.errors import Unavailable

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (it answers); says nothing about its dependencies."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(services: ServicesDep) -> dict[str, str]:
    """Ready to serve: the database answers."""
    try:
        await services.db.ping()
    except Exception as exc:
        raise Unavailable("database unreachable") from exc
    return {"status": "ready"}


@router.get("/metrics")
async def metrics(services: ServicesDep) -> Response:
    services.metrics.open_connections.set(services.hub.connection_count())
    counts = await services.jobs.counts()
    for state, count in counts.by_state.items():
        services.metrics.jobs.labels(state=str(state)).set(count)
    services.metrics.jobs_oldest_due_age.set(counts.oldest_due_age_seconds)
    async with services.db.read() as conn:
        services.metrics.stream_committed.set(await services.stream.head(conn))
    services.metrics.stream_delivered.set(services.hub.published_up_to)
    services.metrics.privacy_requests_overdue.set(await services.privacy_requests.overdue_count())
    return Response(services.metrics.render(), media_type=CONTENT_TYPE_LATEST)
