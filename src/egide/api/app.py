"""The API app factory: `create_app(platform)` builds one FastAPI app and all it needs.

Nothing is created at import time. Model backends are built at start-up (the
lifespan) from the platform's registry and settings — or handed in by a test
as a ready `Deployments` — and released at shutdown. `egide serve --workers N`
runs `egide.api.app:app_from_environment` as an import-string factory, so each
worker process builds its own app from the environment.
"""

from __future__ import annotations

import gc
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI

from egide import console
from egide.api.audit.router import router as audit_router
from egide.api.auth import Authenticator
from egide.api.chat.router import router as chat_router
from egide.api.documents.router import router as documents_router
from egide.api.embeddings.router import router as embeddings_router
from egide.api.errors import install_error_handlers
from egide.api.health.router import router as health_router
from egide.api.knowledge.router import router as knowledge_router
from egide.api.limits import BodyLimitMiddleware
from egide.api.maintenance.router import router as maintenance_router
from egide.api.models.router import router as models_router
from egide.api.oidc import OidcVerifier
from egide.api.planning.router import router as planning_router
from egide.api.proposals.router import router as proposals_router
from egide.api.proxy import TrustedProxy, trusted_networks
from egide.api.streams.router import router as streams_router
from egide.api.synthesis.router import router as synthesis_router
from egide.app import Platform
from egide.inference import BackendInfo
from egide.serving.deployments import Deployments
from egide.serving.gateway import Gateway
from egide.serving.loading import load_deployments
from egide.serving.metrics import Metrics
from egide.settings import Settings


def create_app(
    platform: Platform, *, deployments: Deployments | None = None, server: bool = False
) -> FastAPI:
    """The Égide API over `platform`.

    Args:
        platform: The installation's services (settings, database, journal, registry).
        deployments: Ready backends (tests); None loads them at start-up from the
            registry and settings.
        server: The app is the whole process (`egide serve`): once started, the
            objects built so far are frozen out of garbage collection.
    """
    owned = deployments is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Built now, so a bad approvals table stops start-up rather than a request.
        await to_thread.run_sync(lambda: platform.proposals)
        if getattr(app.state, "gateway", None) is None:
            loaded = await to_thread.run_sync(load_deployments, platform)
            app.state.gateway = _gateway(platform, loaded, app.state.metrics)
        if server:
            _freeze_startup_objects()
        try:
            yield
        finally:
            gateway = getattr(app.state, "gateway", None)
            if gateway is not None:
                await to_thread.run_sync(gateway.close)
                if owned:
                    await gateway.deployments.close()

    app = FastAPI(
        title="Égide API",
        summary="OpenAI-compatible, label-aware access to sovereign models",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.started = int(time.time())
    app.state.gateway = None
    app.state.metrics = Metrics(lambda: _describe(app))
    if deployments is not None:
        app.state.gateway = _gateway(platform, deployments, app.state.metrics)
    install_error_handlers(app)
    settings = platform.settings
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.api_max_body_bytes,
        # An upload carries a whole document, plus the multipart envelope and fields.
        routes={
            path: (settings.max_document_bytes + (1 << 20), "EGIDE_MAX_DOCUMENT_BYTES")
            for path in ("/v1/documents", console.UPLOAD_PATH)
        },
    )
    app.state.platform = platform
    # Checked now: a user header without trusted addresses stops start-up.
    trusted = trusted_networks(settings)
    app.state.proxy_header = trusted[0] if trusted else None
    routers = (
        chat_router,
        embeddings_router,
        models_router,
        health_router,
        knowledge_router,
        documents_router,
        proposals_router,
        synthesis_router,
        audit_router,
        streams_router,
        planning_router,
        maintenance_router,
    )
    for router in routers:
        app.include_router(router)
    # The console's pages, on the same app and the same services (docs/console.md).
    console.install_console(app, platform)
    return app


def _freeze_startup_objects() -> None:
    """Keep the garbage collector off everything built at start-up.

    Modules, the app, models and settings live as long as the process, yet every
    full collection would walk them again; frozen, they are never scanned, which
    takes most of the collector's work off each request (docs/inference.md). Only
    for a server process: in one that builds many apps (tests), frozen cycles
    would never be freed.
    """
    gc.collect()
    gc.freeze()


def _gateway(platform: Platform, deployments: Deployments, metrics: Metrics) -> Gateway:
    settings = platform.settings
    oidc = (
        OidcVerifier(settings, platform.policies, platform.identity) if settings.oidc_jwks else None
    )
    trusted = trusted_networks(settings)
    proxy = TrustedProxy(*trusted, platform.identity) if trusted else None
    return Gateway(
        platform,
        deployments,
        Authenticator(platform.identity, oidc, proxy),
        platform.limiter,
        metrics,
        platform.models,
    )


def _describe(app: FastAPI) -> Iterable[BackendInfo]:
    gateway = getattr(app.state, "gateway", None)
    if gateway is None:
        return []
    return [d.backend.describe() for d in gateway.deployments]


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory`: an app over the installation the environment names."""
    platform = Platform(Settings())
    platform.check_initialised()
    return create_app(platform, server=True)
