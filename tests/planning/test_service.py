"""The planning service: labelled, validated, journaled plans, proposed and approved to export."""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from egide.app import Platform
from egide.core.labels import PolicyRegistry
from egide.core.principals import Principal, Role
from egide.errors import Forbidden, Infeasible, InvalidInput, NotFound
from egide.planning.records import PlanRecord
from egide.planning.validate import validate
from egide.settings import Settings
from egide.store import AuditEntryRecord
from egide.workflows.export import export_proposal

R = PolicyRegistry.builtin()


def _problem(extra_demand: dict[str, Any] | None = None) -> dict[str, Any]:
    demands = [
        {"id": "U1", "location": {"x": 10, "y": 0}, "quantities": {"load": 30}},
        {"id": "U2", "location": {"x": 0, "y": 10}, "quantities": {"load": 30}},
        {"id": "U3", "location": {"x": -10, "y": 0}, "quantities": {"load": 30}},
    ]
    if extra_demand:
        demands.append(extra_demand)
    return {
        "dimensions": ["load"],
        "depots": [{"id": "D", "location": {"x": 0, "y": 0}}],
        "demands": demands,
        "vehicles": [{"id": "V", "start_depot": "D", "capacity": {"load": 100}, "count": 2}],
    }


@pytest.fixture
def platform(data_dir: Path) -> Iterator[Platform]:
    current = Platform(Settings(data_dir=data_dir))
    current.initialise()
    yield current
    current.close()


@pytest.fixture
def people(platform: Platform) -> dict[str, Principal]:
    specs: dict[str, tuple[str, list[Role], str | None]] = {
        "analyst": ("SECRET", [Role.ANALYST], "army"),
        "low": ("DR", [Role.ANALYST], "army"),
        "navy": ("SECRET", [Role.ANALYST], "navy"),
        "auditor": ("SECRET", [Role.AUDITOR], "army"),
        "chef": ("SECRET", [Role.APPROVER], "army"),
        "adjoint": ("SECRET", [Role.APPROVER], "army"),
    }
    platform.identity.add_organisation("t", "army")
    platform.identity.add_organisation("t", "navy")
    for name, (clearance, roles, org) in specs.items():
        platform.identity.add_user(
            "t", name, clearance=R.parse_clearance(clearance), roles=roles, organisation=org
        )
    return {name: platform.identity.principal(name) for name in specs}


def _journal(platform: Platform, action: str) -> list[AuditEntryRecord]:
    with platform.database.transaction() as session:
        rows = session.scalars(select(AuditEntryRecord).where(AuditEntryRecord.action == action))
        return list(rows)


def test_solve_stores_a_validated_plan_at_the_label(
    platform: Platform, people: dict[str, Principal]
) -> None:
    plan = platform.planning.solve(
        people["analyst"], _problem(), label=R.parse("SECRET"), time_limit=5, max_iterations=200
    )
    assert plan.label == R.canonical(R.parse("SECRET"))
    assert validate(plan.problem, plan.solution).ok
    assert plan.svg.startswith("<svg") or "<svg" in plan.svg[:200]
    assert {s for r in plan.summary()["routes"] for s in r["stops"]} == {"U1", "U2", "U3"}
    [entry] = _journal(platform, "plan.solve")
    assert entry.objects == [f"plan:{plan.id}"]
    assert "U1" not in str(entry.details) and "cost" in entry.details
    again = platform.planning.get(people["chef"], plan.id)
    assert again.solution.cost == plan.solution.cost
    assert len(_journal(platform, "plan.read")) == 1


def test_hidden_and_missing_plans_read_alike(
    platform: Platform, people: dict[str, Principal]
) -> None:
    plan = platform.planning.solve(
        people["analyst"], _problem(), label=R.parse("SECRET"), time_limit=5, max_iterations=100
    )
    messages = []
    for who, plan_id in [("low", plan.id), ("navy", plan.id), ("analyst", plan.id + 1)]:
        with pytest.raises(NotFound) as caught:
            platform.planning.get(people[who], plan_id)
        messages.append(str(caught.value).replace(str(plan_id), "N"))
    assert len(set(messages)) == 1
    with pytest.raises(Forbidden):
        platform.planning.get(people["auditor"], plan.id)


def test_solve_refuses_a_label_above_the_author_and_stores_nothing(
    platform: Platform, people: dict[str, Principal]
) -> None:
    with pytest.raises(Forbidden):
        platform.planning.solve(people["low"], _problem(), label=R.parse("SECRET"), time_limit=1)
    with pytest.raises(Forbidden):
        platform.planning.solve(people["chef"], _problem(), time_limit=1)
    with pytest.raises(InvalidInput, match="time limit"):
        platform.planning.solve(people["analyst"], _problem(), time_limit=100_000)
    with pytest.raises(InvalidInput):
        platform.planning.solve(people["analyst"], {"dimensions": "load"}, time_limit=1)
    with platform.database.transaction() as session:
        assert session.scalars(select(PlanRecord)).all() == []


def test_infeasible_problem_is_explained_and_not_stored(
    platform: Platform, people: dict[str, Principal]
) -> None:
    too_big = {"id": "U9", "location": {"x": 5, "y": 5}, "quantities": {"load": 500}}
    too_big["priority"] = True
    with pytest.raises(Infeasible) as caught:
        platform.planning.solve(
            people["analyst"], _problem(too_big), time_limit=2, max_iterations=50
        )
    assert "U9" in str(caught.value)
    with platform.database.transaction() as session:
        assert session.scalars(select(PlanRecord)).all() == []


def test_solve_propose_two_approvals_marked_export(
    platform: Platform, people: dict[str, Principal]
) -> None:
    plan = platform.planning.solve(
        people["analyst"], _problem(), label=R.parse("SECRET"), time_limit=5, max_iterations=200
    )
    proposal = platform.planning.propose(
        people["analyst"], plan.id, "Ravitaillement du secteur nord", "Trois unités à livrer."
    )
    assert proposal.kind == "logistics-plan"
    assert proposal.marking == "SECRET"
    assert proposal.required_approvals == 2
    assert platform.planning.get(people["analyst"], plan.id).proposal_id == proposal.id
    # The proposal is kept to the plan's organisation and label.
    with pytest.raises(NotFound):
        platform.proposals.get(people["navy"], proposal.id)
    with pytest.raises(NotFound):
        platform.proposals.get(people["low"], proposal.id)
    with pytest.raises(Forbidden, match="not approved"):
        export_proposal(platform.proposals, R, people["analyst"], proposal.id, "pdf")
    platform.proposals.approve(people["chef"], proposal.id, rationale="itinéraires vérifiés")
    with pytest.raises(Forbidden, match="not approved"):
        export_proposal(platform.proposals, R, people["analyst"], proposal.id, "pdf")
    platform.proposals.approve(people["adjoint"], proposal.id, rationale="d'accord")
    done = export_proposal(platform.proposals, R, people["analyst"], proposal.id, "pdf")
    text = " ".join(PdfReader(BytesIO(done.data)).pages[0].extract_text().split())
    assert text.startswith("SECRET") and text.endswith("SECRET")
    assert "Routes" in text and "U1" in text and "approve by chef" in text


def test_propose_refuses_a_hidden_plan(platform: Platform, people: dict[str, Principal]) -> None:
    plan = platform.planning.solve(
        people["analyst"], _problem(), label=R.parse("SECRET"), time_limit=5, max_iterations=100
    )
    with pytest.raises(NotFound):
        platform.planning.propose(people["navy"], plan.id, "t")
    with pytest.raises(Forbidden):
        platform.planning.propose(people["chef"], plan.id, "t")


def test_store_replays_a_plan_file_and_refuses_a_broken_one(
    platform: Platform, people: dict[str, Principal]
) -> None:
    from dataclasses import replace

    made = platform.planning.solve(
        people["analyst"], _problem(), label=R.parse("DR"), time_limit=5, max_iterations=100
    )
    stored = platform.planning.store(
        people["analyst"], made.problem, made.solution, label=R.parse("DR")
    )
    assert stored.id != made.id and stored.solution.cost == made.solution.cost
    assert len(_journal(platform, "plan.store")) == 1
    # A plan file edited by hand so that a route drops its stops: it no longer serves them.
    broken = replace(
        made.solution, routes=tuple(replace(r, stops=()) for r in made.solution.routes)
    )
    with pytest.raises(InvalidInput, match="not stored"):
        platform.planning.store(people["analyst"], made.problem, broken, label=R.parse("DR"))
    with platform.database.transaction() as session:
        assert len(session.scalars(select(PlanRecord)).all()) == 2
