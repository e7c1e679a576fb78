"""Entity, area and semantic watchlists through the service and the API: alerts and labels.

Every alert's label is the join of its message's and its watchlist's labels; a
watchlist and its alerts never reach a reader whose clearance does not cover
them. Semantic watchlists use the platform's real embedder (multilingual-e5-small).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from egide.api import create_app
from egide.app import Platform
from egide.core import access
from egide.core.labels import join
from egide.core.principals import Role
from egide.errors import InvalidInput
from egide.knowledge.embedder import Embedder
from egide.settings import Settings
from egide.store import AuditEntryRecord
from egide.streams.message import Message
from egide.streams.records import WatchlistRecord
from egide.streams.service import StreamService

READERS = {
    "fr_ts": "TRÈS SECRET NAT FRA",
    "fr_s": "SECRET NAT FRA",
    "fr_dr": "DR NAT FRA",
    "deu_ns": "NATO SECRET NAT DEU",
}
PARIS = [[48.80, 2.20], [48.80, 2.45], [48.92, 2.45], [48.92, 2.20]]
PARIS_GEOJSON = {
    "type": "Feature",
    "properties": {"name": "Paris"},
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[lon, lat] for lat, lon in PARIS]],
    },
}


class Site:
    def __init__(self, platform: Platform, client: TestClient, keys: dict[str, str]) -> None:
        self.platform = platform
        self.client = client
        self.keys = keys
        self.sent = 0

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[user]}"}

    def message(self, label: str, text: str) -> Message:
        self.sent += 1
        return Message(
            id=f"w-{self.sent}",
            channel="net",
            text=text,
            label=self.platform.policies.parse(label),
            received=datetime.now(UTC),
            source=f"test:{self.sent}",
        )

    def send(self, label: str, text: str, service: StreamService | None = None) -> str:
        message = self.message(label, text)
        (service or self.platform.streams).process(message, worker="test")
        return message.id

    def alerts(self, message_id: str) -> dict[str, tuple[tuple[str, ...], str]]:
        return {
            a.watchlist: (a.matched, a.label) for a in self.platform.streams.alerts_of(message_id)
        }

    def create(self, user: str, body: dict[str, Any]) -> Any:
        return self.client.post("/v1/watchlists", json=body, headers=self.headers(user))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data_dir = tmp_path_factory.mktemp("watchlists") / "data"
    data_dir.mkdir()
    platform = Platform(
        Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'egide.db'}")
    )
    platform.initialise()
    platform.identity.add_organisation("test", "CPCO")
    keys = {}
    for user, clearance in READERS.items():
        platform.identity.add_user(
            "test",
            user,
            clearance=platform.policies.parse_clearance(clearance),
            roles=[Role.ANALYST],
            organisation="CPCO",
        )
        keys[user] = platform.identity.create_key("test", user)[1]
    with TestClient(create_app(platform)) as client:
        yield Site(platform, client, keys)
    platform.close()


def test_area_watchlists_from_the_api_raise_alerts_naming_area_and_position(site: Site) -> None:
    made = site.create(
        "fr_s",
        {
            "name": "zones",
            "kind": "area",
            "areas": [{"name": "Lyon", "polygon": [[45.7, 4.8], [45.7, 4.9], [45.8, 4.9]]}],
            "geojson": PARIS_GEOJSON,
            "label": "DR",
        },
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["kind"] == "area" and body["terms"] == ["Lyon", "Paris"]
    assert body["spec"]["areas"][1]["polygon"][0] == [48.80, 2.20]
    mid = site.send("DR", "Convoi en 31U DQ 48251 11932, puis 48.8566N 2.3522E.")
    matched, label = site.alerts(mid)["zones"]
    assert matched == ("Paris: mgrs 31UDQ4825111932", "Paris: latlon 48.856600 2.352200")
    assert label == "DIFFUSION RESTREINTE"
    assert "zones" not in site.alerts(site.send("DR", "Convoi à 43.3000N 5.4000E."))


def test_entity_watchlists_match_findings_not_text(site: Site) -> None:
    made = site.create(
        "fr_s",
        {"name": "unites", "kind": "entities", "terms": ["callsign:CLOU-7", "unit:2e RIMa"]},
    )
    assert made.status_code == 201, made.text
    mid = site.send("DR", "CLOU-7 rejoint le 2e RIMa.")
    assert site.alerts(mid)["unites"][0] == ("callsign:CLOU-7", "unit:2e RIMa")
    assert "unites" not in site.alerts(site.send("DR", "CLOU-70 et le 12e RIMa."))


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"name": "x", "kind": "area", "terms": ["Paris"]}, 400, "polygons, not terms"),
        ({"name": "x", "kind": "area"}, 400, "at least one polygon"),
        (
            {
                "name": "x",
                "kind": "area",
                "geojson": {"type": "Polygon", "coordinates": [[[400, 0]]]},
            },
            400,
            "out of range",
        ),
        (
            {
                "name": "x",
                "kind": "area",
                "areas": [{"name": "x", "polygon": [[0, 170], [0, -170], [5, -170]]}],
            },
            400,
            "antimeridian",
        ),
        ({"name": "x", "kind": "entities", "terms": ["CLOU-7"]}, 400, "KIND:VALUE"),
        ({"name": "x", "kind": "semantic", "threshold": 0.8}, 400, "description"),
        ({"name": "x", "kind": "semantic", "description": "d", "threshold": 2}, 400, "between"),
        ({"name": "x", "kind": "cercle", "terms": ["a"]}, 400, "unknown watchlist kind"),
        ({"name": "x", "terms": []}, 400, "1 to 500 terms"),
    ],
)
def test_bad_watchlists_are_clear_400s_and_write_nothing(
    site: Site, body: dict[str, Any], status: int, needle: str
) -> None:
    response = site.create("fr_s", body)
    assert response.status_code == status, response.text
    assert needle in response.text and "Traceback" not in response.text
    with site.platform.database.transaction() as session:
        assert session.query(WatchlistRecord).filter_by(name="x").count() == 0


def test_alert_label_is_the_join_and_a_high_watchlist_never_shows_to_a_low_reader(
    site: Site,
) -> None:
    platform = site.platform
    made = site.create(
        "fr_ts",
        {
            "name": "zone-ts",
            "kind": "area",
            "areas": [{"name": "Secteur", "polygon": PARIS}],
            "label": "TRÈS SECRET",
        },
    )
    assert made.status_code == 201, made.text
    made = site.create(
        "deu_ns",
        {"name": "otan", "kind": "entities", "terms": ["callsign:HIBOU-3"], "label": "NATO SECRET"},
    )
    assert made.status_code == 201, made.text
    for message_label in ("DR", "SECRET", "NATO RESTRICTED", "SECRET REL TO FRA, DEU"):
        mid = site.send(message_label, "HIBOU-3 en 48.8566N 2.3522E.")
        alerts = site.alerts(mid)
        for watchlist, watch_label in (("zone-ts", "TRÈS SECRET"), ("otan", "NATO SECRET")):
            expected = join(
                platform.policies.parse(message_label), platform.policies.parse(watch_label)
            )
            assert alerts[watchlist][1] == platform.policies.canonical(expected)
        for user in READERS:
            got = site.client.get("/v1/alerts", params={"limit": 500}, headers=site.headers(user))
            shown = {a["watchlist"] for a in got.json()["data"] if a["message_id"] == mid}
            principal = platform.identity.principal(user)
            allowed = {
                w
                for w, (_, label) in alerts.items()
                if access.can_read(principal, platform.policies.parse(label)).allowed
            }
            assert shown == allowed, (user, message_label)
    for user in READERS:
        listed = site.client.get("/v1/watchlists", headers=site.headers(user)).json()["data"]
        names = {w["name"] for w in listed}
        assert ("zone-ts" in names) == (user == "fr_ts")
    # The adversary check means something: some alerts were kept from some readers.
    assert not access.can_read(
        platform.identity.principal("fr_s"), platform.policies.parse("TRÈS SECRET")
    ).allowed


def test_semantic_watchlist_from_the_api_raises_an_alert_with_its_similarity(site: Site) -> None:
    made = site.create(
        "fr_s",
        {"name": "drones", "kind": "semantic", "description": "Observation ou attaque par drone"},
    )
    assert made.status_code == 201, made.text
    assert made.json()["spec"]["threshold"] == pytest.approx(0.845)
    mid = site.send("DR", "Deux drones quadricoptères survolent la base avancée depuis 0300.")
    matched, label = site.alerts(mid)["drones"]
    assert matched[0].startswith("similarity 0.") and label == "DIFFUSION RESTREINTE"
    quiet = site.send("DR", "Distribution des rations de combat pour trois jours.")
    assert "drones" not in site.alerts(quiet)
    # Past the model's 512 tokens, and empty: embedded (truncated), never a failed batch.
    site.send("DR", "drone " * 10_000)
    site.send("DR", "")


class Counting:
    """The real embedder, counting its calls and checking no connection is held meanwhile."""

    def __init__(self, inner: Embedder, platform: Platform) -> None:
        self.inner = inner
        self.id = inner.id
        self.dimension = inner.dimension
        self.platform = platform
        self.passage_calls: list[int] = []
        self.query_calls: list[str] = []
        self.checked = 0

    def _check_no_transaction(self) -> None:
        # A write transaction held while embedding would stall every other worker: another
        # writer must get the database's write lock now (the journal's sealer may hold it
        # for a moment, hence the timeout).
        path = self.platform.settings.data_dir / "egide.db"
        other = sqlite3.connect(path, timeout=10)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.rollback()
        finally:
            other.close()
        self.checked += 1

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        self._check_no_transaction()
        self.passage_calls.append(len(texts))
        return self.inner.passages(texts)

    def query(self, text: str) -> np.ndarray:
        self._check_no_transaction()
        self.query_calls.append(text)
        return self.inner.query(text)


def test_messages_are_embedded_in_batches_outside_transactions_descriptions_once(
    tmp_path: Path, site: Site
) -> None:
    data_dir = tmp_path / "data"
    platform = Platform(
        Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'egide.db'}")
    )
    platform.initialise()
    try:
        counting = Counting(site.platform.knowledge.embedder.inner, platform)
        service = StreamService(
            platform.database,
            platform.journal,
            platform.policies,
            trail=platform.trail,
            embedder=lambda: counting,
        )
        platform.identity.add_organisation("test", "EMA")
        platform.identity.add_user(
            "test",
            "ana",
            clearance=platform.policies.parse_clearance("SECRET NAT FRA"),
            roles=[Role.ANALYST],
            organisation="EMA",
        )
        ana = platform.identity.principal("ana")
        service.add_watchlist(ana, "mots", ["HIBOU"])
        batch = [site.message("DR", f"Message {i} sans rapport.") for i in range(5)]
        service.process_many(batch, worker="t")
        assert counting.passage_calls == [] and counting.query_calls == []  # no semantic list
        service.add_watchlist(
            ana,
            "evasan",
            [],
            kind="semantic",
            spec={"description": "Demande d'évacuation sanitaire"},
        )
        texts = [
            "Deux blessés graves, demande d'évacuation par hélicoptère.",
            "Distribution des rations de combat pour trois jours.",
        ]
        done = service.process_many([site.message("DR", t) for t in texts], worker="t")
        service.process_many(
            [site.message("DR", "Un blessé à évacuer vers le rôle 2.")], worker="t"
        )
        service.process_many(list(batch), worker="t")  # processed before: not embedded again
        assert counting.passage_calls == [2, 1]  # one embedding call per batch
        assert counting.query_calls == ["Demande d'évacuation sanitaire"]  # embedded once
        assert counting.checked == 3
        assert [len(p.alerts) for p in done] == [1, 0]
    finally:
        platform.close()


def test_without_an_embedder_semantic_watchlists_are_refused_and_skipped(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    platform = site.platform
    bare = StreamService(
        platform.database, platform.journal, platform.policies, trail=platform.trail
    )
    with pytest.raises(InvalidInput, match="need an embedding model"):
        bare.add_watchlist(
            platform.identity.principal("fr_s"),
            "sans-modele",
            [],
            kind="semantic",
            spec={"description": "drones"},
        )
    # Semantic watchlists exist (made by the API above or in this module): a worker
    # without an embedder processes the flow, skips them and says so once.
    site.create("fr_s", {"name": "drones-2", "kind": "semantic", "description": "drone"})
    with caplog.at_level(logging.WARNING, logger="egide.streams.service"):
        mid = site.send("DR", "Deux drones survolent la base.", service=bare)
        site.send("DR", "Un drone encore.", service=bare)
    assert not any(w.startswith("drones") for w in site.alerts(mid))
    warnings = [r for r in caplog.records if "semantic watchlist" in r.getMessage()]
    assert len(warnings) == 1


def test_creating_a_watchlist_is_journaled_with_its_kind(site: Site) -> None:
    with site.platform.database.transaction() as session:
        entries = session.query(AuditEntryRecord).filter_by(action="watchlist.create").all()
        kinds = {e.details.get("kind") for e in entries if e.details}
    assert {"area", "entities", "semantic"} <= kinds
