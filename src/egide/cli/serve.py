"""`egide serve`: the API under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from egide.cli.context import initialised_platform


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(help="Worker processes; each loads its own copy of the models.")
    ] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the OpenAI-compatible API (see docs/api.md)."""
    import uvicorn

    platform = initialised_platform()
    if workers > 1:
        # Each worker is a fresh process: it must build its own app from the
        # environment, so uvicorn gets an import string, not an app object.
        uvicorn.run(
            "egide.api.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            proxy_headers=False,
        )
        return
    from egide.api import create_app

    # proxy_headers=False: the peer address is the TCP peer's, never an
    # X-Forwarded-For a client wrote (egide.api.proxy decides whom to trust).
    uvicorn.run(
        create_app(platform, server=True),
        host=host,
        port=port,
        log_level=log_level,
        proxy_headers=False,
    )
