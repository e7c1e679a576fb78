"""The console: server-rendered pages for analysts, commanders, auditors and administrators.

`install_console(app, platform)` mounts it on the API's FastAPI app at `/`.
The console calls the application-layer services of the `Platform`
directly (never the HTTP API), so every policy check and journal entry is
the services' own. docs/console.md says how a page is added.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from egide.app import Platform
from egide.console.pages import admin, alerts, ask, audit, documents, home, plans, proposals
from egide.console.signin import router as signin_router
from egide.console.web import Console

PAGES = (
    signin_router,
    home.router,
    documents.router,
    ask.router,
    proposals.router,
    alerts.router,
    plans.router,
    audit.router,
    admin.router,
)
"""Every router of the console; a new page module adds its router here."""

UPLOAD_PATH = "/documents/upload"
"""The console's upload route: it takes bodies as large as a document (see the API's limit)."""


def install_console(app: FastAPI, platform: Platform) -> None:
    """Mount the console's pages and its static files (CSS, the one script) on `app`."""
    app.state.console = Console(platform)
    for router in PAGES:
        app.include_router(router)
    static = files("egide.console") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="console-static")


__all__ = ["PAGES", "UPLOAD_PATH", "install_console"]
