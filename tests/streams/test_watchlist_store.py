"""Watchlist specifications in the database (SQLite and PostgreSQL) and from the terminal.

- migration 0014_watchlist_specs gives term watchlists made before it an empty
  spec, and a polygon survives the round trip through the JSON column on both
  databases;
- `egide watchlist add` reads GeoJSON files (longitude first), inline polygons
  (latitude first), entities and descriptions, and refuses bad ones clearly.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from egide.app import Platform
from egide.core.principals import Role
from egide.settings import Settings
from egide.store import Database
from egide.store.database import _alembic_config
from egide.streams.message import Message
from tests.cli.test_cli import Cli

PARIS = [[48.80, 2.20], [48.80, 2.45], [48.92, 2.45], [48.92, 2.20]]


def test_the_migration_gives_older_watchlists_an_empty_spec(database_url: str) -> None:
    database = Database(database_url)
    try:
        config = _alembic_config()
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0013_streams")
        with database.engine.begin() as connection:
            connection.execute(text("INSERT INTO labels (id, canonical) VALUES (1, 'DR')"))
            connection.execute(
                text(
                    "INSERT INTO watchlists (name, kind, terms, label_id, created_by, created_at) "
                    "VALUES ('ancienne', 'terms', '[\"HIBOU\"]', 1, 'user:x', :now)"
                ),
                {"now": datetime.now(UTC)},
            )
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0014_watchlist_specs")
        assert database.current_revision() == "0014_watchlist_specs"
        with database.engine.connect() as connection:
            spec = connection.execute(text("SELECT spec FROM watchlists")).scalar_one()
        assert (json.loads(spec) if isinstance(spec, str) else spec) == {}
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0013_streams")
        with database.engine.connect() as connection:
            assert connection.execute(text("SELECT name FROM watchlists")).scalar_one() == (
                "ancienne"
            )
    finally:
        database.dispose()


def test_an_area_watchlist_round_trips_and_alerts_on_each_database(
    data_dir: Path, database_url: str
) -> None:
    platform = Platform(Settings(data_dir=data_dir, database_url=database_url, embeddings=False))
    platform.initialise()
    try:
        platform.identity.add_organisation("test", "EMA")
        platform.identity.add_user(
            "test",
            "ana",
            clearance=platform.policies.parse_clearance("SECRET NAT FRA"),
            roles=[Role.ANALYST],
            organisation="EMA",
        )
        ana = platform.identity.principal("ana")
        made = platform.streams.add_watchlist(
            ana, "paris", [], kind="area", spec={"areas": [{"name": "Paris", "polygon": PARIS}]}
        )
        [listed] = platform.streams.watchlists(ana)
        assert listed.spec == made.spec and listed.spec["areas"][0]["polygon"] == PARIS
        message = Message(
            "pg-1",
            "net",
            "Contact en 31U DQ 48251 11932.",
            platform.policies.parse("DR"),
            datetime.now(UTC),
            "test:1",
        )
        [alert] = platform.streams.process(message, worker="t").alerts
        assert alert.matched == ("Paris: mgrs 31UDQ4825111932",)
    finally:
        platform.close()


@pytest.mark.slow  # a dozen command-line processes, one loading the embedding model
def test_watchlist_add_from_the_terminal(data_dir: Path, tmp_path: Path) -> None:
    cli = Cli(data_dir, f"sqlite:///{data_dir / 'egide.db'}")
    key = cli.ok("init", "--org", "DRM", "--admin", "chef", "--clearance", "SECRET")
    key = key.strip().splitlines()[-1]
    geojson = tmp_path / "zones.geojson"
    geojson.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "Paris"},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [[[lon, lat] for lat, lon in PARIS]],
                        },
                    }
                ],
            }
        ),
        "utf-8",
    )
    add = ("watchlist", "add", "--api-key", key)
    out = cli.ok(
        *add,
        "zones",
        "--kind",
        "area",
        "--area",
        str(geojson),
        "--polygon",
        "Lyon=45.7,4.8;45.7,4.9;45.8,4.9",
    )
    assert "(area)" in out and "Lyon; Paris" in out
    out = cli.ok(*add, "unites", "callsign:CLOU-7", "unit:2e RIMa", "--kind", "entities")
    assert "callsign:CLOU-7; unit:2e RIMa" in out
    out = cli.ok(
        *add,
        "drones",
        "--kind",
        "semantic",
        "--description",
        "Observation ou attaque par drone",
        "--threshold",
        "0.84",
    )
    assert "(semantic)" in out
    listed = cli.ok("watchlist", "list", "--api-key", key)
    assert "zones\tarea" in listed and "unites\tentities" in listed
    flow = tmp_path / "flow.jsonl"
    flow.write_text(
        json.dumps({"id": "m1", "label": "DR", "text": "CLOU-7 en 48.8566N 2.3522E."})
        + "\n"
        + json.dumps(
            {
                "id": "m2",
                "label": "DR",
                "text": "Deux drones quadricoptères survolent la base avancée depuis 0300.",
            }
        )
        + "\n",
        "utf-8",
    )
    assert "alerts 3" in cli.ok("stream", "run", "--source", str(flow))
    tail = cli.ok("alerts", "tail", "--api-key", key, "--json")
    matched = {a["watchlist"]: a["matched"] for a in map(json.loads, tail.splitlines())}
    assert matched.pop("drones")[0].startswith("similarity 0.")
    assert matched == {
        "zones": ["Paris: latlon 48.856600 2.352200"],
        "unites": ["callsign:CLOU-7"],
    }
    for args, needle in (
        (("bad1", "--kind", "area", "--polygon", "Lyon 45.7,4.8"), "NAME=LAT,LON"),
        (("bad2", "--kind", "area", "--polygon", "Lyon=45.7;4.8"), "is not LAT,LON"),
        (("bad3", "--kind", "area", "--area", str(tmp_path / "absent.geojson")), "no GeoJSON"),
        (("bad4", "--kind", "area", "--area", str(flow)), "not a GeoJSON"),
        (("bad5", "CLOU-7", "--kind", "entities"), "KIND:VALUE"),
        (("bad6", "--kind", "semantic", "--description", "drones", "--threshold", "3"), "between"),
    ):
        result = cli(*add, *args)
        assert result.code == 2, result
        assert needle in result.err and "Traceback" not in result.err
