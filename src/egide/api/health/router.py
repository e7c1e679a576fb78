"""`GET /healthz` (the process answers), `/readyz` (database and models ready), `/metrics`."""

from __future__ import annotations

from anyio import to_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from egide.api.errors import error_body
from egide.serving.metrics import CONTENT_TYPE
from egide.streams.metrics import StreamTotals

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process serves HTTP."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers and every model is loaded and healthy."""
    gateway = getattr(request.app.state, "gateway", None)
    problems: list[str] = []
    if gateway is None:
        problems.append("models are still loading")
    else:
        try:
            await to_thread.run_sync(_ping, gateway.platform)
        except Exception as error:
            problems.append(f"database unreachable: {error}")
        for deployment in gateway.deployments:
            if not deployment.backend.describe().healthy:
                problems.append(f"model {deployment.name!r} is not healthy")
        if not len(gateway.deployments):
            problems.append("no model is loaded; import one with `egide models import`")
    if problems or gateway is None:
        body = error_body(503, "; ".join(problems), "not_ready")
        return JSONResponse(body, status_code=503)
    models = sorted(d.name for d in gateway.deployments)
    return JSONResponse({"status": "ready", "models": models})


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus text exposition of this process's metrics, and the stream totals."""
    body = request.app.state.metrics.render()
    platform = getattr(request.app.state, "platform", None)
    if platform is not None:
        totals = getattr(request.app.state, "stream_totals", None)
        if totals is None:
            totals = request.app.state.stream_totals = StreamTotals(platform.database)
        # Counted in the database (at most every few seconds): off the event loop.
        body += await to_thread.run_sync(totals.render)
    return Response(body, media_type=CONTENT_TYPE)


def _ping(platform: object) -> None:
    database = platform.database  # type: ignore[attr-defined]
    with database.transaction() as session:
        session.execute(text("SELECT 1"))
