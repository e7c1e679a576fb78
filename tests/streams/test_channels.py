"""Channel summaries roll with time; alerts keep their message's text, capped and storable."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from egide.app import Platform
from egide.core.principals import Principal, Role
from egide.errors import Forbidden, InvalidInput
from egide.settings import Settings
from egide.streams.message import MAX_MESSAGE_BYTES, Message


@pytest.fixture
def platform(data_dir: Path, database_url: str) -> Iterator[Platform]:
    current = Platform(Settings(data_dir=data_dir, database_url=database_url, embeddings=False))
    current.initialise()
    identity, policies = current.identity, current.policies
    identity.add_organisation("t", "CPCO")
    for user, roles in (("lea", [Role.ANALYST]), ("aud", [Role.AUDITOR])):
        identity.add_user(
            "t", user, clearance=policies.parse_clearance("TS"), roles=roles, organisation="CPCO"
        )
    yield current
    current.close()


def _send(platform: Platform, message_id: str, body: str, at: datetime, label: str = "DR") -> None:
    platform.streams.process(
        Message(message_id, "net", body, platform.policies.parse(label), at, f"t:{message_id}"),
        worker="t",
    )


def _lea(platform: Platform) -> Principal:
    return platform.identity.principal("lea")


def test_the_window_rolls_with_time(platform: Platform) -> None:
    now = datetime.now(UTC)
    _send(platform, "old", "Le pont de Varnie est coupé.", now - timedelta(hours=2))
    _send(platform, "new", "Le convoi CLOU-7 est arrivé à Marsk.", now - timedelta(minutes=5))
    streams = platform.streams
    current = streams.summary(_lea(platform), "net", window=timedelta(hours=1))
    assert current.digest.messages == 1
    assert [q.message_id for q in current.digest.sentences] == ["new"]
    earlier = streams.summary(
        _lea(platform), "net", window=timedelta(hours=1), until=now - timedelta(minutes=90)
    )
    assert [q.message_id for q in earlier.digest.sentences] == ["old"]
    assert earlier.until - earlier.since == timedelta(hours=1)
    wide = streams.summary(_lea(platform), "net", window=timedelta(hours=3))
    assert wide.digest.messages == 2 and wide.label == "DIFFUSION RESTREINTE"
    [channel] = streams.channels(_lea(platform))
    assert (channel.channel, channel.messages) == ("net", 2)


def test_summaries_and_channels_need_the_alert_reading_role(platform: Platform) -> None:
    auditor = platform.identity.principal("aud")
    with pytest.raises(Forbidden):
        platform.streams.summary(auditor, "net", window=timedelta(hours=1))
    with pytest.raises(Forbidden):
        platform.streams.channels(auditor)


def test_a_bad_channel_or_a_time_without_zone_is_refused(platform: Platform) -> None:
    with pytest.raises(InvalidInput, match="channel"):
        platform.streams.summary(_lea(platform), "a\nb", window=timedelta(hours=1))
    with pytest.raises(InvalidInput, match="zone"):
        platform.streams.summary(
            _lea(platform), "net", window=timedelta(hours=1), until=datetime(2026, 5, 14)
        )


def test_an_alert_keeps_its_message_text_capped_and_without_nul(platform: Platform) -> None:
    platform.streams.add_watchlist(_lea(platform), "marsk", ["Marsk"])
    now = datetime.now(UTC)
    _send(platform, "nul", "Convoi à Marsk\x00 arrivé.", now)
    _send(platform, "huge", "Marsk " + "é" * MAX_MESSAGE_BYTES, now)
    alerts = {a.message_id: a for a in platform.streams.alerts(_lea(platform), limit=10)}
    assert alerts["nul"].text == "Convoi à Marsk\ufffd arrivé."
    huge = alerts["huge"].text
    assert huge is not None and huge.startswith("Marsk é")
    assert len(huge.encode("utf-8")) <= MAX_MESSAGE_BYTES
    assert ("callsign", "CLOU-7") not in {(f.kind, f.value) for f in alerts["nul"].findings}
    assert alerts["nul"].as_json()["text"] == alerts["nul"].text
