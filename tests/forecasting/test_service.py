"""The maintenance service: labelled models, journaled training and plans, proposals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from egide.app import Platform
from egide.core.principals import Principal, Role
from egide.errors import Forbidden, InvalidInput
from egide.settings import Settings
from egide.store import AuditEntryRecord
from egide.workflows.records import ProposalRecord
from tests.forecasting.fleet import fleet, in_service, lives, write_cmapss

WORKSHOP = {
    "cycles_per_period": 10,
    "periods": [{"name": "J1", "slots": 1}, {"name": "J2", "slots": 1}],
    "failure_cost": 100000,
    "service_kinds": {"revision": {"cost": 5000, "parts": {"module": 1}}},
    "stock": {"module": 2},
}


@pytest.fixture
def platform(data_dir: Path, database_url: str) -> Iterator[Platform]:
    current = Platform(Settings(data_dir=data_dir, database_url=database_url))
    current.initialise()
    yield current
    current.close()


@pytest.fixture
def people(platform: Platform) -> dict[str, Principal]:
    r = platform.policies
    specs = {
        "ml": ("SECRET", [Role.ML_ENGINEER]),
        "analyst": ("SECRET", [Role.ANALYST]),
        "low": ("DR", [Role.ANALYST]),
        "approver": ("SECRET", [Role.APPROVER]),
        "approver2": ("SECRET", [Role.APPROVER]),
    }
    for name, (clearance, roles) in specs.items():
        platform.identity.add_user("t", name, clearance=r.parse_clearance(clearance), roles=roles)
    return {name: platform.identity.principal(name) for name in specs}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("maintenance")
    write_cmapss(fleet(20, seed=11), str(root / "train.txt"))
    full = fleet(5, seed=5, first_unit=100)
    life = lives(full)
    keep = {u: (life[u] - 4 if u == 100 else 40) for u in life}
    write_cmapss(in_service(full, keep), str(root / "fleet.txt"))
    return {"train": root / "train.txt", "fleet": root / "fleet.txt", "root": root}


def _journal(platform: Platform, action: str) -> list[dict[str, Any]]:
    with platform.database.transaction() as session:
        rows = session.scalars(
            select(AuditEntryRecord)
            .where(AuditEntryRecord.action == action)
            .order_by(AuditEntryRecord.seq)
        )
        return [{"details": dict(r.details), "actor": r.actor} for r in rows]


def _train(platform: Platform, who: Principal, files: dict[str, Path], out: Path, label: str):
    return platform.maintenance.train(
        who, files["train"], out, labels=[platform.policies.parse(label)], rounds=30
    )


def test_model_is_labelled_journaled_and_plan_is_a_labelled_proposal(
    platform: Platform, people: dict[str, Principal], files: dict[str, Path], tmp_path: Path
) -> None:
    r = platform.policies
    trained = _train(platform, people["ml"], files, tmp_path / "m", "SECRET")
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text(encoding="utf-8"))
    assert r.parse(manifest["label"]) == r.parse("SECRET") == trained.label
    [entry] = _journal(platform, "maintenance.train")
    assert entry["details"]["model_sha256"] == manifest["content_sha256"]
    assert entry["details"]["training_data"][0]["name"] == "train.txt"

    done = platform.maintenance.propose(
        people["analyst"],
        model=tmp_path / "m",
        fleet=files["fleet"],
        fleet_labels=[r.parse("DR")],
        workshop=WORKSHOP,
        lang="fr",
    )
    p = done.proposal
    # The join of the model's label (SECRET) and the fleet's (DR).
    assert p.kind == "maintenance-plan" and r.parse(p.marking) == r.parse("SECRET")
    assert p.state == "proposed" and p.model_digest == manifest["content_sha256"]
    assert p.required_approvals == 2  # SECRET: two people, whatever the kind
    content = p.content
    assert {"schedule", "risk", "explanation", "workshop", "model", "fleet"} <= set(content)
    assert content["schedule"]["decisions"][0]["unit"] == 100
    assert content["risk"]["units"][0]["unit"] == 100
    assert "Unité 100 : revision en J1" in content["explanation"]
    [plan] = _journal(platform, "maintenance.plan")
    assert plan["details"]["model_sha256"] == manifest["content_sha256"]
    assert plan["details"]["serviced"][0] == 100

    # A human decides: the proposal goes through approval like any other.
    first = platform.proposals.approve(people["approver"], p.id, rationale="ok")
    assert first.state == "proposed"
    assert platform.proposals.approve(people["approver2"], p.id, rationale="ok").state == (
        "approved"
    )


def test_the_fleet_label_raises_the_proposal(
    platform: Platform, people: dict[str, Principal], files: dict[str, Path], tmp_path: Path
) -> None:
    r = platform.policies
    _train(platform, people["ml"], files, tmp_path / "m", "DR")
    done = platform.maintenance.propose(
        people["analyst"],
        model=tmp_path / "m",
        fleet=files["fleet"],
        fleet_labels=[r.parse("DR"), r.parse("SECRET")],
        workshop=WORKSHOP,
    )
    assert r.parse(done.proposal.marking) == r.parse("SECRET")
    # Someone cleared DR only cannot see it, and cannot plan with SECRET fleet data.
    with pytest.raises(Forbidden):
        platform.maintenance.propose(
            people["low"],
            model=tmp_path / "m",
            fleet=files["fleet"],
            fleet_labels=[r.parse("SECRET")],
            workshop=WORKSHOP,
        )


def test_refusals_leave_no_model_and_no_proposal(
    platform: Platform, people: dict[str, Principal], files: dict[str, Path], tmp_path: Path
) -> None:
    r = platform.policies
    with pytest.raises(Forbidden, match="ml-engineer role"):
        _train(platform, people["analyst"], files, tmp_path / "a", "DR")
    assert not (tmp_path / "a").exists()
    with pytest.raises(Forbidden):
        _train(platform, people["ml"], files, tmp_path / "b", "TRES SECRET")
    assert not (tmp_path / "b").exists()
    _train(platform, people["ml"], files, tmp_path / "m", "SECRET")
    # A DR analyst may not use a SECRET model, even on DR data.
    with pytest.raises(Forbidden):
        platform.maintenance.propose(
            people["low"],
            model=tmp_path / "m",
            fleet=files["fleet"],
            fleet_labels=[r.parse("DR")],
            workshop=WORKSHOP,
        )
    # An approver may not author a plan.
    with pytest.raises(Forbidden):
        platform.maintenance.propose(
            people["approver"],
            model=tmp_path / "m",
            fleet=files["fleet"],
            fleet_labels=[r.parse("DR")],
            workshop=WORKSHOP,
        )
    with pytest.raises(InvalidInput, match="no workshop slot"):
        platform.maintenance.propose(
            people["analyst"],
            model=tmp_path / "m",
            fleet=files["fleet"],
            fleet_labels=[r.parse("DR")],
            workshop={**WORKSHOP, "periods": [{"name": "J1", "slots": 0}]},
        )
    with platform.database.transaction() as session:
        assert session.scalars(select(ProposalRecord)).all() == []
    # The refusals are journaled too (who was refused what), without a plan.
    refused = _journal(platform, "maintenance.plan")
    assert len(refused) >= 2 and all("serviced" not in e["details"] for e in refused)


def test_an_unlabelled_model_is_refused(
    platform: Platform, people: dict[str, Principal], files: dict[str, Path], tmp_path: Path
) -> None:
    from egide.forecasting.importing import read_histories
    from egide.forecasting.storage import save
    from egide.forecasting.training import TrainingConfig, train

    trained = train(read_histories(files["train"]), TrainingConfig(rounds=20, folds=3))
    save(trained.model, tmp_path / "u", data=[], training={}, split={}, report={}, description={})
    with pytest.raises(InvalidInput, match="carries no label"):
        platform.maintenance.propose(
            people["analyst"],
            model=tmp_path / "u",
            fleet=files["fleet"],
            fleet_labels=[platform.policies.parse("DR")],
            workshop=WORKSHOP,
        )
