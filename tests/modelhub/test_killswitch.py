"""The kill switch: disabling a model stops it on every process within a second."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from egide.audit import Journal
from egide.core.labels import PolicyRegistry
from egide.core.principals import Principal, PrincipalKind, Role
from egide.errors import Forbidden, ModelDisabled, NotFound
from egide.modelhub import ModelRegistry
from egide.modelhub.killswitch import EnabledCache
from egide.store import Database
from tests.modelhub.conftest import build_registry
from tests.modelhub.weights import Publisher, write_gguf

ACTOR = "local:operator"


@pytest.fixture
def other_process(
    database: Database,
    journal: Journal,
    policies: PolicyRegistry,
    data_dir: Path,
    publisher: Publisher,
) -> Iterator[ModelRegistry]:
    """A second registry on its own connection pool, as another API replica would have."""
    replica = Database(database.url.render_as_string(hide_password=False))
    yield build_registry(replica, journal, policies, data_dir, publisher)
    replica.dispose()


@pytest.fixture
def tiny(registry: ModelRegistry, medium: Path) -> str:
    registry.import_model(ACTOR, write_gguf(medium / "tiny.gguf"), name="tiny", label="NP")
    return "tiny"


def test_disable_reaches_another_process_within_one_second(
    registry: ModelRegistry, other_process: ModelRegistry, tiny: str
) -> None:
    assert other_process.is_enabled(tiny)  # the replica has a fresh cached view
    registry.disable(ACTOR, tiny, reason="exercise")
    assert registry.is_enabled(tiny) is False  # the acting process knows at once
    time.sleep(1.0)
    assert other_process.is_enabled(tiny) is False
    with pytest.raises(ModelDisabled, match="kill switch") as caught:
        other_process.require_enabled(tiny)
    assert caught.value.http_status == 403 and "exercise" in caught.value.message
    registry.enable(ACTOR, tiny)
    time.sleep(1.0)
    assert other_process.is_enabled(tiny) is True


def test_disable_and_enable_are_journaled(
    registry: ModelRegistry, journal: Journal, database: Database, medium: Path
) -> None:
    registry.import_model(ACTOR, write_gguf(medium / "s.gguf"), name="secret", label="SECRET")
    registry.disable(ACTOR, "secret", reason="compromised")
    registry.enable("user:admin", "secret")
    with database.transaction() as session:
        entries = journal.entries(session, readable_labels=None)
    assert [(e.action, e.actor, e.objects, e.label) for e in entries[-2:]] == [
        ("model.disable", ACTOR, ["model:secret"], "SECRET"),
        ("model.enable", "user:admin", ["model:secret"], "SECRET"),
    ]
    assert entries[-2].details == {"reason": "compromised", "was_enabled": True}
    assert registry.get("secret").enabled


def test_unknown_model_is_not_found(registry: ModelRegistry) -> None:
    with pytest.raises(NotFound):
        registry.is_enabled("ghost")
    with pytest.raises(NotFound):
        registry.disable(ACTOR, "ghost")


def test_authorize_use_checks_switch_clearance_and_accreditation(
    registry: ModelRegistry, policies: PolicyRegistry, medium: Path
) -> None:
    registry.import_model(
        ACTOR, write_gguf(medium / "m.gguf"), name="m", label="NP", accreditation="DR"
    )
    analyst = Principal(
        id=1,
        username="alice",
        kind=PrincipalKind.USER,
        clearance=policies.parse_clearance("SECRET"),
        roles=frozenset({Role.ANALYST}),
    )
    assert registry.authorize_use(analyst, "m", policies.parse("DR")).name == "m"
    with pytest.raises(Forbidden, match="not accredited"):
        registry.authorize_use(analyst, "m", policies.parse("SECRET"))
    registry.disable(ACTOR, "m")
    with pytest.raises(ModelDisabled):
        registry.authorize_use(analyst, "m", policies.parse("DR"))


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_cache_reads_the_database_at_most_once_per_ttl() -> None:
    flags = {"m": True}
    loads: list[float] = []
    clock = FakeClock()

    def load() -> dict[str, bool]:
        loads.append(clock.now)
        return dict(flags)

    cache = EnabledCache(load, ttl=0.5, clock=clock)
    assert cache.get("m") is True
    flags["m"] = False
    clock.now = 0.4
    assert cache.get("m") is True  # still inside the TTL: no read
    clock.now = 0.5
    assert cache.get("m") is False
    assert loads == [0.0, 0.5]


def test_cache_looks_again_for_a_model_it_does_not_know_yet() -> None:
    flags: dict[str, bool] = {}
    clock = FakeClock()
    cache = EnabledCache(lambda: dict(flags), ttl=0.5, clock=clock)
    assert cache.get("new") is None
    flags["new"] = True
    clock.now = 0.1
    assert cache.get("new") is True
