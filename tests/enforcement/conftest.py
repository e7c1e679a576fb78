"""A `World` per database backend, built once per test module (building one takes seconds)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from egide.api import create_app
from tests.enforcement.world import World, build_world


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """The installation of `tests.enforcement.world`, on SQLite and on PostgreSQL."""
    data_dir = tmp_path_factory.mktemp("enforcement") / "data"
    data_dir.mkdir()
    name = ""
    admin: Engine | None = None
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'egide.db'}"
    else:
        admin = request.getfixturevalue("postgres_admin")
        name = f"egide_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin.url.set(database=name).render_as_string(hide_password=False)
    built = build_world(data_dir, url)
    yield built
    built.platform.close()
    if admin is not None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def client(world: World) -> Iterator[TestClient]:
    """A started API app over the world."""
    with TestClient(create_app(world.platform), raise_server_exceptions=False) as test_client:
        yield test_client
