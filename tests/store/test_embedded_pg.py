"""The embedded PostgreSQL used by the postgres tests."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from egide.store import Database
from egide.store.embedded_pg import to_sqlalchemy_url


@pytest.mark.postgres
def test_embedded_server_has_pgvector(postgres_admin_url: str) -> None:
    if os.environ.get("EGIDE_TEST_POSTGRES_URL"):
        pytest.skip("EGIDE_TEST_POSTGRES_URL points at an external server")
    db = Database(postgres_admin_url)
    try:
        with db.engine.connect() as connection:
            available = connection.execute(
                text("SELECT default_version FROM pg_available_extensions WHERE name = 'vector'")
            ).scalar()
    finally:
        db.dispose()
    assert available is not None


def test_socket_uri_becomes_a_psycopg_url() -> None:
    assert (
        to_sqlalchemy_url("postgresql://postgres:@/postgres?host=/tmp/pg")
        == "postgresql+psycopg://postgres@/postgres?host=/tmp/pg"
    )
    assert (
        to_sqlalchemy_url("postgresql://postgres:@127.0.0.1:5433/egide")
        == "postgresql+psycopg://postgres@127.0.0.1:5433/egide"
    )
