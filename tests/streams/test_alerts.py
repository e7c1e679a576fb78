"""Alerts and watchlists: exactly once per message, labelled, and never read above a clearance.

The leak suite: readers of several levels and nationalities read alerts through
`GET /v1/alerts` and the live feed `GET /v1/alerts/stream`; each receives
exactly the alerts whose label their clearance permits — computed here by the
policy itself — and nothing else.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from egide.api import create_app
from egide.app import Platform
from egide.core import access
from egide.core.principals import Role
from egide.errors import Forbidden
from egide.settings import Settings
from egide.streams.message import Message
from egide.streams.records import AlertRecord, StreamQuarantineRecord, StreamResultRecord

# username -> clearance
READERS = {
    "fr_ts": "TRÈS SECRET NAT FRA",
    "fr_s": "SECRET NAT FRA",
    "fr_dr": "DR NAT FRA",
    "fr_np": "NON PROTÉGÉ NAT FRA",
    "deu_ns": "NATO SECRET NAT DEU",
    "gbr_nc": "NATO CONFIDENTIAL NAT GBR, NATO",
}
LABELS = (
    "NON PROTÉGÉ",
    "DIFFUSION RESTREINTE",
    "SECRET",
    "TRÈS SECRET",
    "NATO RESTRICTED",
    "NATO SECRET",
    "SECRET REL TO FRA, DEU",
)


class Site:
    """An installation with one analyst per reader, their keys, and an API client."""

    def __init__(self, platform: Platform, client: TestClient, keys: dict[str, str]) -> None:
        self.platform = platform
        self.client = client
        self.keys = keys
        self.sent = 0

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[user]}"}

    def send(self, label: str, text: str) -> str:
        """Process one message through the stream service, as a worker does."""
        self.sent += 1
        message = Message(
            id=f"m-{self.sent}",
            channel="net",
            text=text,
            label=self.platform.policies.parse(label),
            received=datetime.now(UTC),
            source=f"test:{self.sent}",
        )
        self.platform.streams.process(message, worker="test")
        return message.id

    def may_read(self, user: str, label: str) -> bool:
        principal = self.platform.identity.principal(user)
        return access.can_read(principal, self.platform.policies.parse(label)).allowed


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data_dir = tmp_path_factory.mktemp("alerts") / "data"
    data_dir.mkdir()
    platform = Platform(
        Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'egide.db'}")
    )
    platform.initialise()
    identity, policies = platform.identity, platform.policies
    identity.add_organisation("test", "CPCO")
    keys = {}
    for user, clearance in READERS.items():
        identity.add_user(
            "test",
            user,
            clearance=policies.parse_clearance(clearance),
            roles=[Role.ANALYST],
            organisation="CPCO",
        )
        keys[user] = identity.create_key("test", user)[1]
    platform.streams.add_watchlist(identity.principal("fr_ts"), "hibou", ["HIBOU"])
    with TestClient(create_app(platform)) as client:
        yield Site(platform, client, keys)
    platform.close()


def _get_all(site: Site, user: str) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    after = None
    while True:
        params: dict[str, object] = {"limit": 5}
        if after:
            params["after"] = after
        page = site.client.get("/v1/alerts", params=params, headers=site.headers(user))
        assert page.status_code == 200, page.text
        body = page.json()
        found += body["data"]
        if not body["data"]:
            return found
        after = body["next"]


def test_processing_again_changes_nothing(site: Site) -> None:
    message = Message(
        "again",
        "net",
        "Opération HIBOU.",
        site.platform.policies.parse("DR"),
        datetime.now(UTC),
        "test:again",
    )
    first = site.platform.streams.process(message, worker="a")
    second = site.platform.streams.process(message, worker="b")
    assert not first.duplicate and second.duplicate
    assert [a.id for a in first.alerts] == [a.id for a in second.alerts]
    assert first.alerts[0].label == "DIFFUSION RESTREINTE"
    assert first.alerts[0].matched == ("HIBOU",)


def test_a_watchlist_above_the_message_raises_its_alert_to_its_own_label(site: Site) -> None:
    platform = site.platform
    platform.streams.add_watchlist(
        platform.identity.principal("fr_s"),
        "sensible",
        ["Marsk"],
        label=platform.policies.parse("SECRET"),
    )
    mid = site.send("DIFFUSION RESTREINTE", "Le convoi arrive à Marsk.")
    alerts = platform.streams.alerts_of(mid)
    assert [a.label for a in alerts] == ["SECRET"]
    assert all(a["message_id"] != mid for a in _get_all(site, "fr_dr"))
    watchlists = {w.name for w in platform.streams.watchlists(platform.identity.principal("fr_dr"))}
    assert "sensible" not in watchlists and "hibou" in watchlists


def test_an_under_cleared_analyst_cannot_add_a_watchlist_above_their_clearance(
    site: Site,
) -> None:
    platform = site.platform
    with pytest.raises(Forbidden):
        platform.streams.add_watchlist(
            platform.identity.principal("fr_dr"),
            "trop-haut",
            ["x"],
            label=platform.policies.parse("SECRET"),
        )


def test_no_reader_gets_an_alert_above_them_through_get(site: Site) -> None:
    sent = {
        site.send(label, f"({i}) Opération HIBOU en cours."): label
        for i, label in enumerate(LABELS)
    }
    for user in READERS:
        got = {a["message_id"] for a in _get_all(site, user) if a["message_id"] in sent}
        expected = {mid for mid, label in sent.items() if site.may_read(user, label)}
        assert got == expected, user
    # The suite means something: some readers are kept out of some alerts.
    assert site.may_read("deu_ns", "NATO SECRET") and not site.may_read(
        "deu_ns", "DIFFUSION RESTREINTE"
    )
    assert not site.may_read("fr_dr", "SECRET")


def test_no_reader_gets_an_alert_above_them_through_the_live_feed(site: Site) -> None:
    events: dict[str, list[dict[str, object]]] = {}

    def listen(user: str) -> None:
        with site.client.stream(
            "GET", "/v1/alerts/stream", params={"duration": 4}, headers=site.headers(user)
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            body = "".join(response.iter_text())
        events[user] = [
            json.loads(line[len("data: ") :])
            for line in body.splitlines()
            if line.startswith("data: ")
        ]

    listeners = [threading.Thread(target=listen, args=(u,)) for u in READERS]
    for listener in listeners:
        listener.start()
    time.sleep(1.5)  # every feed open before the alerts are raised
    sent = {site.send(label, f"[{i}] HIBOU repéré."): label for i, label in enumerate(LABELS)}
    for listener in listeners:
        listener.join(timeout=30)
    for user in READERS:
        got = [e["message_id"] for e in events[user]]
        expected = {mid for mid, label in sent.items() if site.may_read(user, label)}
        assert sorted(got) == sorted(expected), user  # each once, none above the reader


def test_a_reader_without_the_role_cannot_open_the_feed(site: Site) -> None:
    platform = site.platform
    platform.identity.add_user(
        "test",
        "auditor",
        clearance=platform.policies.parse_clearance("TS"),
        roles=[Role.AUDITOR],
        organisation="CPCO",
    )
    key = platform.identity.create_key("test", "auditor")[1]
    response = site.client.get(
        "/v1/alerts/stream", params={"duration": 1}, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 403


def test_a_bad_cursor_is_a_clear_400(site: Site) -> None:
    response = site.client.get(
        "/v1/alerts", params={"after": "hier"}, headers=site.headers("fr_ts")
    )
    assert response.status_code == 400
    assert "cursor" in response.text


def test_the_file_source_processes_and_quarantines(site: Site, tmp_path: Path) -> None:
    from egide.streams.worker import Worker, run_file

    path = tmp_path / "flow.jsonl"
    lines = [
        json.dumps({"id": "f1", "label": "DR", "text": "HIBOU à 141200ZMAY26."}),
        "not json",
        "",
        json.dumps({"id": "f2", "text": "sans marquage"}),
        "x" * 3000,
        json.dumps({"id": "f1", "label": "DR", "text": "HIBOU à 141200ZMAY26."}),
    ]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    worker = Worker(site.platform.streams, site.platform.policies, name="file", max_bytes=2000)
    stats = run_file(worker, str(path))
    assert (stats.processed, stats.duplicates, stats.quarantined, stats.alerts) == (1, 1, 3, 1)
    again = run_file(worker, str(path))
    assert (again.processed, again.duplicates) == (0, 2)
    quarantined = {
        src: reason
        for src, _, reason in site.platform.streams.quarantined()
        if src.startswith(f"file:{path}")
    }
    assert sorted(quarantined) == [f"file:{path}:{n}" for n in (2, 4, 5)]
    assert quarantined[f"file:{path}:5"].startswith("oversize")


class _Listener(threading.Thread):
    """Reads one live feed, noting when each line arrived and when the response ended."""

    def __init__(self, site: Site, key: str, duration: float) -> None:
        super().__init__()
        self.site, self.key, self.duration = site, key, duration
        self.lines: list[tuple[float, str]] = []
        self.ended = 0.0

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        params = {"duration": self.duration}
        with self.site.client.stream(
            "GET", "/v1/alerts/stream", params=params, headers=headers
        ) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                self.lines.append((time.monotonic(), line))
        self.ended = time.monotonic()

    def alerts(self) -> list[str]:
        return [
            json.loads(line[len("data: ") :])["message_id"]
            for i, (_, line) in enumerate(self.lines)
            if line.startswith("data: ") and self.lines[i - 1][1] == "event: alert"
        ]

    def errors(self) -> list[dict[str, object]]:
        return [
            json.loads(line[len("data: ") :])["error"]
            for i, (_, line) in enumerate(self.lines)
            if line.startswith("data: ") and self.lines[i - 1][1] == "event: error"
        ]


def _cut_off(site: Site, how: str, user: str) -> None:
    """Revoke the reader's key, or disable the reader from another process's services."""
    if how == "revoke":
        key_id = site.platform.identity.list_keys(user)[-1].key_id
        site.platform.identity.revoke_key("test", key_id)
    else:
        # As `egide users disable` does, in another process: this app learns it from the
        # database, not from a cache that the change cleared.
        other = Platform(site.platform.settings)
        try:
            other.identity.disable_user("test", user)
        finally:
            other.close()


@pytest.mark.parametrize("how", ["revoke", "disable"])
def test_a_revoked_key_or_disabled_reader_stops_receiving_within_seconds(
    site: Site, how: str
) -> None:
    identity, user = site.platform.identity, f"sse_{how}"
    identity.add_user(
        "test",
        user,
        clearance=site.platform.policies.parse_clearance("TRÈS SECRET NAT FRA"),
        roles=[Role.ANALYST],
        organisation="CPCO",
    )
    key = identity.create_key("test", user)[1]
    listener = _Listener(site, key, duration=30)
    listener.start()
    time.sleep(1.5)
    before = site.send("DIFFUSION RESTREINTE", "HIBOU avant.")
    time.sleep(1.0)
    cut = time.monotonic()
    _cut_off(site, how, user)
    time.sleep(4.0)
    after = site.send("DIFFUSION RESTREINTE", "HIBOU après.")
    listener.join(timeout=30)
    assert not listener.is_alive()
    assert listener.alerts() == [before], listener.lines
    assert listener.ended - cut < 4.0, "the feed went on after the reader was cut off"
    [error] = listener.errors()
    assert error["code"] == "invalid_api_key", error
    assert after not in listener.alerts()


def test_a_lowered_clearance_applies_to_an_open_feed(site: Site) -> None:
    identity, policies = site.platform.identity, site.platform.policies
    identity.add_user(
        "test",
        "sse_lowered",
        clearance=policies.parse_clearance("SECRET NAT FRA"),
        roles=[Role.ANALYST],
        organisation="CPCO",
    )
    key = identity.create_key("test", "sse_lowered")[1]
    listener = _Listener(site, key, duration=9)
    listener.start()
    time.sleep(1.5)
    secret_before = site.send("SECRET", "HIBOU secret avant.")
    time.sleep(1.0)
    identity.update_user(
        "test",
        "sse_lowered",
        clearance=policies.parse_clearance("DR NAT FRA"),
        roles=[Role.ANALYST],
        organisation="CPCO",
        display_name="",
    )
    time.sleep(3.0)
    secret_after = site.send("SECRET", "HIBOU secret après.")
    restricted_after = site.send("DIFFUSION RESTREINTE", "HIBOU DR après.")
    listener.join(timeout=30)
    got = listener.alerts()
    assert secret_before in got
    assert secret_after not in got, "an alert above the lowered clearance reached the feed"
    assert restricted_after in got


def test_the_api_metrics_count_results_quarantine_and_alerts_from_the_database(
    site: Site,
) -> None:
    from egide.streams.message import Rejected

    site.platform.streams.quarantine(
        Rejected("bad JSON: test", "{", "test:metrics", None, datetime.now(UTC)), worker="test"
    )
    site.send("DIFFUSION RESTREINTE", "HIBOU compté.")
    site.client.app.state.stream_totals = None  # a fresh reading, not the cached one
    body = site.client.get("/metrics").text
    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in body.splitlines()
        if line.startswith("egide_stream_")
    }
    with site.platform.database.transaction() as session:
        expected = {
            "egide_stream_results": session.scalar(
                select(func.count()).select_from(StreamResultRecord)
            ),
            "egide_stream_quarantined": session.scalar(
                select(func.count()).select_from(StreamQuarantineRecord)
            ),
            "egide_stream_alerts_stored": session.scalar(
                select(func.count()).select_from(AlertRecord)
            ),
        }
    assert all(v for v in expected.values())
    assert {k: values[k] for k in expected} == expected
    newest = values["egide_stream_newest_result_timestamp_seconds"]
    assert abs(newest - time.time()) < 60


def test_quarantine_journals_no_message_content(site: Site, tmp_path: Path) -> None:
    from egide.streams.worker import Worker, run_file

    path = tmp_path / "secret.jsonl"
    lines = [
        {"id": "s1", "label": "DR", "text": "Ordre\nTRÈS SECRET - FRAPPE SUR OBJECTIF HERMINE"},
        {"id": "s2", "label": "SECRET DÉFENSE HERMINE", "text": "FRAPPE"},
        {"id": "s3", "label": "DR", "text": "Ordre\nSECRET DÉFENSE FRAPPE HERMINE"},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", "utf-8")
    worker = Worker(site.platform.streams, site.platform.policies, name="file")
    stats = run_file(worker, str(path))
    assert stats.quarantined >= 2
    assert all("HERMINE" not in r and "FRAPPE" not in r for r in stats.reasons)
    with site.platform.database.transaction() as session:
        entries = site.platform.journal.entries(session, readable_labels=None, limit=100000)
    texts = [json.dumps(e.details, ensure_ascii=False) for e in entries]
    assert any("unreadable marking" in t for t in texts)
    assert not [t for t in texts if "HERMINE" in t or "FRAPPE" in t]


def test_a_known_id_with_different_content_is_quarantined_not_dropped(
    site: Site, tmp_path: Path
) -> None:
    from egide.streams.worker import Worker, run_file

    path = tmp_path / "reuse.jsonl"
    first = {"id": "r1", "label": "DR", "text": "Convoi arrivé."}
    lines = [
        first,
        first,  # a redelivery: a duplicate
        {"id": "r1", "label": "DR", "text": "Opération HIBOU à 0400Z."},  # same id, other text
        {"id": "r1", "label": "SECRET", "text": "Convoi arrivé."},  # same id, other label
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", "utf-8")
    worker = Worker(site.platform.streams, site.platform.policies, name="file")
    stats = run_file(worker, str(path))
    assert (stats.processed, stats.duplicates, stats.quarantined) == (1, 1, 2)
    again = run_file(worker, str(path))  # a later run: the same verdicts, nothing new
    assert (again.processed, again.duplicates, again.quarantined) == (0, 2, 2)
    reasons = {
        src: reason
        for src, _, reason in site.platform.streams.quarantined()
        if src.startswith(f"file:{path}")
    }
    assert reasons == {f"file:{path}:{n}": "id reused with different content" for n in (3, 4)}


def test_a_watchlist_name_is_no_oracle_of_a_higher_one(site: Site) -> None:
    platform = site.platform
    platform.streams.add_watchlist(
        platform.identity.principal("fr_ts"),
        "hibou-ts",
        ["HIBOU"],
        label=platform.policies.parse("TRÈS SECRET"),
    )
    for name in ("hibou-ts", " hibou-ts ", "Hibou-TS"):
        response = site.client.post(
            "/v1/watchlists",
            json={"name": name, "terms": ["convoi"]},
            headers=site.headers("fr_dr"),
        )
        assert response.status_code == 201, response.text
        assert response.json()["name"] == name.strip()
    names = [w.name for w in platform.streams.watchlists(platform.identity.principal("fr_dr"))]
    assert names.count("hibou-ts") == 2  # its own two; the TRÈS SECRET one stays unseen


@pytest.mark.parametrize(
    ("name", "terms"),
    [("bad\x1b[2Jname", ["x"]), ("bell\x07", ["x"]), ("two\nlines", ["x"]), ("ok", ["a\x1bb"])],
)
def test_control_characters_in_a_watchlist_are_a_clear_400(
    site: Site, name: str, terms: list[str]
) -> None:
    response = site.client.post(
        "/v1/watchlists", json={"name": name, "terms": terms}, headers=site.headers("fr_dr")
    )
    assert response.status_code == 400, response.text
    assert "control character" in response.text


def test_a_cursor_past_the_calendar_is_a_clear_400(site: Site) -> None:
    response = site.client.get(
        "/v1/alerts",
        params={"after": "2026-05-14T12:00:00+00:00~99999999999999999999999999999"},
        headers=site.headers("fr_ts"),
    )
    assert response.status_code == 400, response.text


def _sse(site: Site, user: str, **kwargs: object) -> list[int]:
    """The ids of the alerts a feed of `duration` 2 gives `user`."""
    headers = site.headers(user) | kwargs.pop("headers", {})  # type: ignore[operator]
    with site.client.stream(
        "GET", "/v1/alerts/stream", headers=headers, params={"duration": 2, **kwargs}
    ) as response:
        assert response.status_code == 200
        body = "".join(response.iter_text())
    return [
        json.loads(line[len("data: ") :])["id"]
        for line in body.splitlines()
        if line.startswith("data: ")
    ]


def test_a_reconnecting_feed_gives_what_was_raised_meanwhile_once(site: Site) -> None:
    first = site.send("DIFFUSION RESTREINTE", "HIBOU vu au pont.")
    page = site.client.get("/v1/alerts", headers=site.headers("fr_ts")).json()
    assert page["data"][-1]["message_id"] == first
    seen = page["next"]
    # While the reader is away, alerts are raised; some of them above a DR reader.
    missed = site.send("DIFFUSION RESTREINTE", "HIBOU repart vers le nord.")
    high = site.send("SECRET", "HIBOU au PC.")

    def since(user: str) -> list[int]:
        listed = site.client.get(
            "/v1/alerts", params={"after": seen}, headers=site.headers(user)
        ).json()["data"]
        assert {a["message_id"] for a in listed} <= {missed, high}
        return [a["id"] for a in listed]

    expected = since("fr_ts")
    assert {a.message_id for a in site.platform.streams.alerts_of(high)} == {high}
    assert len(expected) >= 2
    assert _sse(site, "fr_ts", headers={"Last-Event-ID": seen}) == expected
    assert _sse(site, "fr_ts", after=seen) == expected
    low = since("fr_dr")
    assert len(low) < len(expected)  # the SECRET message's alerts stay above a DR reader
    assert _sse(site, "fr_dr", headers={"Last-Event-ID": seen}) == low
    assert _sse(site, "fr_ts") == []  # no cursor: only what is raised from now on
    bad = site.client.get(
        "/v1/alerts/stream", params={"after": "hier"}, headers=site.headers("fr_ts")
    )
    assert bad.status_code == 400
