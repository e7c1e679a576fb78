"""The stream leak suite: summaries, channels and alert texts carry nothing a reader may not read.

Readers vary by level, nationality (REL TO), compartment and organisation;
messages of many labels go through the same channel. For every reader, each
face (API, CLI, live feed) must give exactly what the policy itself — asked
here message by message — lets them read: a summary's sentences, entities,
languages, count, times and label are those of the summary of the readable
messages alone (a hidden message changes nothing, not even the count), a
channel holding only hidden messages is not listed, and an alert's text is
that of a message the reader may read. Every hidden message's call sign,
grid reference and marker word is looked for in every response.

Messages carry no organisation: `fr_s_drm` (DRM) must see exactly what `fr_s`
(CPCO) sees — proving the organisation neither hides nor reveals anything here.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from egide.api import create_app
from egide.app import Platform
from egide.core import access
from egide.core.labels import join
from egide.core.principals import Role
from egide.settings import Settings
from egide.streams.extract import extract_all
from egide.streams.message import Message
from egide.streams.summarise import Item, summarise
from tests.enforcement.cli_cases import run
from tests.enforcement.world import World

# username -> (organisation, clearance)
READERS = {
    "fr_ts": ("CPCO", "TRÈS SECRET NAT FRA"),
    "fr_s": ("CPCO", "SECRET NAT FRA"),
    "fr_s_drm": ("DRM", "SECRET NAT FRA"),
    "fr_s_crypto": ("CPCO", "SECRET CRYPTO NAT FRA"),
    "fr_dr": ("CPCO", "DR NAT FRA"),
    "fr_np": ("CPCO", "NON PROTÉGÉ NAT FRA"),
    "deu_ns": ("CPCO", "NATO SECRET NAT DEU"),
    "gbr_nc": ("CPCO", "NATO CONFIDENTIAL NAT GBR, NATO"),
    "usa_s": ("CPCO", "SECRET NAT USA"),
}
LABELS = (
    "NON PROTÉGÉ",
    "DIFFUSION RESTREINTE",
    "SECRET",
    "TRÈS SECRET",
    "SECRET CRYPTO",
    "NATO RESTRICTED",
    "NATO SECRET",
    "SECRET REL TO FRA, DEU",
    "SECRET REL TO FRA, GBR",
)
NAMES = ("ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL", "INDIA")
CHANNEL = "reseau"
HIDDEN_CHANNEL = "hibou-ts"  # one TRÈS SECRET message only
START = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
UNTIL = START + timedelta(minutes=10)


def _text(i: int) -> str:
    name = NAMES[i]
    if i % 2:
        return (
            f"Patrol {name}-{i + 1} reports the depot marker{name.lower()} near Marsk\n"
            f"at grid 31UDQ{48 + i}{25 + i}. The road is open."
        )
    return (
        f"Le convoi {name}-{i + 1} signale le dépôt repère{name.lower()} près de Marsk,\n"
        f"au 31UDQ{48 + i}{25 + i}. La route est dégagée."
    )


def _tokens(i: int) -> tuple[str, ...]:
    """What only message `i` says: its call sign, marker word and grid reference."""
    name = NAMES[i]
    return (f"{name}-{i + 1}", f"{name.lower()}", f"31UDQ{48 + i}{25 + i}")


@dataclass
class Site:
    """An installation with one analyst per reader, a client, and what was sent."""

    world: World
    client: TestClient
    sent: dict[str, int] = field(default_factory=dict)  # message id -> index in LABELS

    @property
    def platform(self) -> Platform:
        return self.world.platform

    def may_read(self, user: str, label: str) -> bool:
        principal = self.platform.identity.principal(user)
        return access.can_read(principal, self.platform.policies.parse(label)).allowed

    def readable(self, user: str) -> dict[str, int]:
        return {m: i for m, i in self.sent.items() if self.may_read(user, LABELS[i])}

    def hidden_tokens(self, user: str) -> set[str]:
        hidden = {i for m, i in self.sent.items() if m not in self.readable(user)}
        return {t for i in hidden for t in _tokens(i)}


def _send(
    platform: Platform, message_id: str, channel: str, label: str, body: str, at: datetime
) -> None:
    platform.streams.process(
        Message(
            message_id, channel, body, platform.policies.parse(label), at, f"test:{message_id}"
        ),
        worker="leaks",
    )


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    data_dir = tmp_path_factory.mktemp("stream-leaks") / "data"
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
    platform = Platform(Settings(data_dir=data_dir, database_url=url, embeddings=False))
    platform.initialise()
    identity, policies = platform.identity, platform.policies
    world = World(platform)
    for org in ("CPCO", "DRM"):
        identity.add_organisation("test", org)
    for user, (org, clearance) in READERS.items():
        identity.add_user(
            "test",
            user,
            clearance=policies.parse_clearance(clearance),
            roles=[Role.ANALYST],
            organisation=org,
        )
        world.tokens[user] = identity.create_key("test", user)[1]
    platform.streams.add_watchlist(identity.principal("fr_np"), "marsk", ["Marsk"])
    built = Site(world, TestClient(create_app(platform)))
    for i, label in enumerate(LABELS):
        message_id = f"leak-{i}"
        _send(platform, message_id, CHANNEL, label, _text(i), START + timedelta(seconds=i))
        built.sent[message_id] = i
    _send(
        platform,
        "leak-hidden",
        HIDDEN_CHANNEL,
        "TRÈS SECRET",
        "Opération HIBOU : le PC avancé s'installe à Varnie-Est.",
        START,
    )
    with built.client:
        yield built
    platform.close()
    if admin is not None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _expected(site: Site, user: str) -> dict[str, object]:
    """The summary of the reader's readable messages alone, computed without the service."""
    readable = site.readable(user)
    items = [
        Item(m, _text(i), START + timedelta(seconds=i), None, tuple(extract_all(_text(i))))
        for m, i in readable.items()
    ]
    digest = summarise(items, sentences=20)
    policies = site.platform.policies
    labels = [policies.parse(LABELS[i]) for i in readable.values()]
    return {
        "messages": len(readable),
        "sentences": [(q.message_id, q.text) for q in digest.sentences],
        "entities": [(e.kind, e.value, e.messages) for e in digest.entities],
        "label": policies.canonical(join(*labels)) if labels else None,
    }


def _check_summary(site: Site, user: str, body: dict[str, object], raw: str) -> None:
    expected = _expected(site, user)
    readable = site.readable(user)
    assert body["messages"] == expected["messages"], user
    sentences = body["sentences"]
    entities = body["entities"]
    assert isinstance(sentences, list) and isinstance(entities, list)
    assert [(s["message_id"], s["text"]) for s in sentences] == expected["sentences"], user
    assert [(e["kind"], e["value"], e["messages"]) for e in entities] == expected["entities"], user
    assert {s["message_id"] for s in sentences} <= set(readable), user
    if expected["label"] is not None:
        assert body["label"] == expected["label"], user
    if readable:
        times = [START + timedelta(seconds=i) for i in readable.values()]
        assert datetime.fromisoformat(str(body["first"])) == min(times), user
        assert datetime.fromisoformat(str(body["last"])) == max(times), user
        languages = body["languages"]
        assert isinstance(languages, dict)
        assert sum(languages.values()) == len(readable), user
    else:
        assert body["first"] is None and body["last"] is None and not body["languages"], user
    leaked = {t for t in site.hidden_tokens(user) if t.lower() in raw.lower()}
    assert not leaked, f"{user} received {leaked} of messages they may not read"


def test_the_suite_means_something(site: Site) -> None:
    seen = {user: frozenset(site.readable(user)) for user in READERS}
    assert len(set(seen.values())) >= 6  # readers see different parts of the channel
    assert not seen["usa_s"] or len(seen["usa_s"]) < len(LABELS)
    assert seen["fr_s_drm"] == seen["fr_s"]
    assert seen["fr_s_crypto"] > seen["fr_s"]  # the compartment opens SECRET CRYPTO
    assert "leak-7" in seen["deu_ns"] and "leak-8" not in seen["deu_ns"]  # REL TO


@pytest.mark.parametrize("user", READERS)
def test_a_summary_through_the_api_draws_only_on_readable_messages(site: Site, user: str) -> None:
    mark = site.world.mark()
    response = site.client.get(
        f"/v1/streams/channels/{CHANNEL}/summary",
        params={"window": "1h", "until": UNTIL.isoformat(), "sentences": 20},
        headers=site.world.headers(user),
    )
    assert response.status_code == 200, response.text
    _check_summary(site, user, response.json(), response.text)
    entries = [e for e, _ in site.world.entries_since(mark) if e.action == "stream.summary"]
    assert len(entries) == 1 and entries[0].actor == f"user:{user}"
    expected_objects = {f"channel:{CHANNEL}"} | {f"message:{m}" for m in site.readable(user)}
    assert set(entries[0].objects) == expected_objects


@pytest.mark.parametrize("user", ["fr_ts", "fr_s_crypto", "deu_ns", "gbr_nc", "fr_np"])
def test_a_summary_through_the_cli_draws_only_on_readable_messages(site: Site, user: str) -> None:
    args = ["stream", "summary", CHANNEL, "--window", "1h", "--until", UNTIL.isoformat()]
    code, out = run(site.world, [*args, "--sentences", "20", "--json"], user)
    assert code == 0, out
    _check_summary(site, user, json.loads(out), out)
    code, plain = run(site.world, args, user)
    assert code == 0, plain
    leaked = {t for t in site.hidden_tokens(user) if t.lower() in plain.lower()}
    assert not leaked, f"{user} received {leaked} through `egide stream summary`"


def test_a_summary_of_nothing_readable_says_nothing_of_what_is_hidden(site: Site) -> None:
    # The TRÈS SECRET-only channel, asked by a SECRET reader, reads exactly like a
    # channel that never existed: same count, same emptiness, same label.
    def ask(channel: str) -> dict[str, object]:
        response = site.client.get(
            f"/v1/streams/channels/{channel}/summary",
            params={"window": "1h", "until": UNTIL.isoformat()},
            headers=site.world.headers("fr_s"),
        )
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        body.pop("channel")
        return body

    hidden, absent = ask(HIDDEN_CHANNEL), ask("jamais-vu")
    assert hidden == absent and hidden["messages"] == 0
    top = site.client.get(
        f"/v1/streams/channels/{HIDDEN_CHANNEL}/summary",
        params={"window": "1h", "until": UNTIL.isoformat()},
        headers=site.world.headers("fr_ts"),
    ).json()
    assert top["messages"] == 1 and top["label"] == "TRÈS SECRET"


@pytest.mark.parametrize("user", READERS)
def test_channels_are_counted_from_readable_messages_alone(site: Site, user: str) -> None:
    expected = {CHANNEL: len(site.readable(user))} if site.readable(user) else {}
    if site.may_read(user, "TRÈS SECRET"):
        expected[HIDDEN_CHANNEL] = 1
    response = site.client.get("/v1/streams/channels", headers=site.world.headers(user))
    assert response.status_code == 200
    assert {c["channel"]: c["messages"] for c in response.json()["data"]} == expected, user
    code, out = run(site.world, ["stream", "channels", "--json"], user)
    assert code == 0, out
    listed = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert {c["channel"]: c["messages"] for c in listed} == expected, user
    if HIDDEN_CHANNEL not in expected:
        assert HIDDEN_CHANNEL not in response.text and HIDDEN_CHANNEL not in out


def _all_alerts(site: Site, user: str) -> tuple[list[dict[str, object]], str]:
    found: list[dict[str, object]] = []
    raw = ""
    after = None
    while True:
        params: dict[str, object] = {"limit": 3}
        if after:
            params["after"] = after
        page = site.client.get("/v1/alerts", params=params, headers=site.world.headers(user))
        assert page.status_code == 200, page.text
        raw += page.text
        body = page.json()
        found += body["data"]
        if not body["data"]:
            return found, raw
        after = body["next"]


@pytest.mark.parametrize("user", READERS)
def test_an_alert_carries_its_message_to_those_who_may_read_it_only(site: Site, user: str) -> None:
    readable = site.readable(user)
    alerts, raw = _all_alerts(site, user)
    assert {str(a["message_id"]) for a in alerts} == set(readable), user
    for alert in alerts:
        i = readable[str(alert["message_id"])]
        assert alert["text"] == _text(i)
        findings = alert["findings"]
        assert isinstance(findings, list)
        assert {(f["kind"], f["value"]) for f in findings} == {
            (f.kind, f.value) for f in extract_all(_text(i))
        }
    leaked = {t for t in site.hidden_tokens(user) if t.lower() in raw.lower()}
    assert not leaked, f"{user} received {leaked} through /v1/alerts"
    code, out = run(site.world, ["alerts", "tail", "-n", "500", "--json"], user)
    assert code == 0, out
    tailed = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert {t["message_id"]: t["text"] for t in tailed} == {
        m: _text(i) for m, i in readable.items()
    }


def test_the_live_feed_carries_texts_only_to_those_who_may_read_them(site: Site) -> None:
    events: dict[str, str] = {}

    def listen(user: str) -> None:
        with site.client.stream(
            "GET",
            "/v1/alerts/stream",
            params={"duration": 3},
            headers=site.world.headers(user),
        ) as response:
            assert response.status_code == 200
            events[user] = "".join(response.iter_text())

    users = ["fr_ts", "fr_dr", "deu_ns", "gbr_nc", "fr_s_crypto"]
    listeners = [threading.Thread(target=listen, args=(u,)) for u in users]
    for listener in listeners:
        listener.start()
    time.sleep(1.0)  # every feed open before the alerts are raised
    live: dict[str, int] = {}
    for i, label in enumerate(LABELS):
        message_id = f"live-{i}"
        _send(site.platform, message_id, "direct", label, _text(i), datetime.now(UTC))
        live[message_id] = i
    for listener in listeners:
        listener.join(timeout=30)
    for user in users:
        got = {
            json.loads(line[len("data: ") :])["message_id"]: json.loads(line[len("data: ") :])
            for line in events[user].splitlines()
            if line.startswith("data: ")
        }
        expected = {m for m, i in live.items() if site.may_read(user, LABELS[i])}
        assert set(got) == expected, user
        assert all(got[m]["text"] == _text(live[m]) for m in got)
        hidden = {t for m, i in live.items() if m not in expected for t in _tokens(i)}
        leaked = {t for t in hidden if t.lower() in events[user].lower()}
        assert not leaked, f"{user} received {leaked} through the live feed"


def test_a_bad_window_or_time_is_a_clear_refusal(site: Site) -> None:
    headers = site.world.headers("fr_ts")
    for params in ({"window": "demain"}, {"window": "0m"}, {"window": "30d"}, {"until": "hier"}):
        response = site.client.get(
            f"/v1/streams/channels/{CHANNEL}/summary", params=params, headers=headers
        )
        assert response.status_code == 400, (params, response.text)
        assert "window" in response.text or "until" in response.text
        assert "Traceback" not in response.text
    code, out = run(site.world, ["stream", "summary", CHANNEL, "--window", "90"], "fr_ts")
    assert code == 2 and "window" in out
