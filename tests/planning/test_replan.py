"""Re-planning: changes, a warm start from the previous plan, and the difference."""

from __future__ import annotations

import pytest

from egide.errors import InvalidInput
from egide.planning.replan import Changes, apply_changes, replan
from egide.planning.validate import validate

from .util import problem, solved, xy


@pytest.fixture
def base() -> object:
    return problem(
        [
            {"location": xy(10, 0), "quantities": {"load": 5}},
            {"location": xy(11, 0), "quantities": {"load": 5}},
            {"location": xy(-10, 0), "quantities": {"load": 5}},
            {"location": xy(-11, 0), "quantities": {"load": 5}, "priority": True},
        ],
        vehicles=[
            {"id": "V", "count": 3, "start_depot": "D", "capacity": {"load": 10}, "fixed_cost": 10}
        ],
    )


def test_losing_a_vehicle_moves_its_stops_and_keeps_names(base: object) -> None:
    first = solved(base, seed=3)  # type: ignore[arg-type]
    assert len(first.routes) == 2
    lost = first.routes[0].vehicle
    kept = first.routes[1]
    changed, second, diff = replan(
        base,
        first,
        Changes(lost_vehicles=[lost]),
        time_limit=60,
        max_iterations=1000,  # type: ignore[arg-type]
    )
    assert validate(changed, second).ok
    assert changed.vehicles[0].count == 2
    assert lost not in {r.vehicle for r in second.routes}
    # The untouched route keeps its vehicle name, so only the lost vehicle's stops move.
    assert kept.vehicle in {r.vehicle for r in second.routes}
    moved = {demand for demand, _, _ in diff.moved}
    assert moved == {s.demand for s in first.routes[0].stops}
    assert all(before == lost for _, before, _ in diff.moved)
    assert second.solver["warm_start"] is True
    assert diff.cost_delta == pytest.approx(second.cost - first.cost)


def test_a_bigger_demand_can_leave_a_normal_one_unserved(base: object) -> None:
    first = solved(base)  # type: ignore[arg-type]
    changed, second, diff = replan(
        base,  # type: ignore[arg-type]
        first,
        Changes(
            quantities={"C1": {"load": 10}, "C2": {"load": 10}, "C3": {"load": 10}},
            lost_vehicles=["V#3"],
        ),
        time_limit=60,
        max_iterations=1000,
    )
    assert validate(changed, second).ok
    # 35 to carry, 20 of room: the priority (5) and one 10 fit, two 10s do not.
    assert second.status == "partial" and len(diff.newly_unserved) == 2
    assert "C4" not in diff.newly_unserved  # the priority stays served


def test_dropping_a_demand(base: object) -> None:
    first = solved(base)  # type: ignore[arg-type]
    changed, second, diff = replan(
        base,
        first,
        Changes(dropped=["C1"]),  # type: ignore[arg-type]
        time_limit=60,
        max_iterations=500,
    )
    assert validate(changed, second).ok and [d.id for d in changed.demands] == ["C2", "C3", "C4"]
    assert ("C1", first.served()["C1"][0], None) in diff.moved


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        (Changes(lost_vehicles=["V#9"]), "no vehicle 'V#9'"),
        (Changes(dropped=["ZZ"]), "no demand 'ZZ'"),
        (Changes(quantities={"C1": {"petrol": 1}}), "unknown dimension 'petrol'"),
        (Changes(quantities={"C1": {"load": -1}}), "must not be negative"),
    ],
)
def test_unknown_changes_are_refused(base: object, changes: Changes, needle: str) -> None:
    with pytest.raises(InvalidInput, match=needle):
        apply_changes(base, changes)  # type: ignore[arg-type]
