"""Infeasible or contradictory input: which constraint, by how much, and never a partial plan."""

from __future__ import annotations

import pytest

from egide.errors import Infeasible
from egide.planning.solver import solve

from .util import problem, solved, xy


def _refusal(p: object) -> str:
    with pytest.raises(Infeasible) as caught:
        solve(p, time_limit=60, max_iterations=500)  # type: ignore[arg-type]
    assert caught.value.http_status == 422 and caught.value.exit_code == 2
    return caught.value.message


def test_demand_bigger_than_every_vehicle_names_the_dimension_and_excess() -> None:
    message = _refusal(
        problem(
            [{"location": xy(5, 0), "quantities": {"fuel": 9000, "water": 10}}],
            vehicles=[
                {"id": "A", "start_depot": "D", "capacity": {"fuel": 6000, "water": 50}},
                {"id": "B", "start_depot": "D", "capacity": {"fuel": 7000}},
            ],
            dimensions=("fuel", "water"),
        )
    )
    assert "C1" in message and "9000 fuel" in message and "by 2000" in message


def test_window_closing_before_any_vehicle_can_arrive_says_how_late() -> None:
    message = _refusal(
        problem(
            [{"location": xy(30, 0), "window": {"start": 0, "end": 20}}],
            depots=[
                {"id": "D", "location": xy(0, 0), "window": {"start": 5}},
                {"id": "F", "location": xy(100, 0)},
            ],
            vehicles=[
                {"id": "V", "start_depot": "D", "capacity": {"load": 9}},
                {"id": "W", "start_depot": "F", "capacity": {"load": 9}},
            ],
        )
    )
    # From D (opens at 5): arrival 35, window closed at 20: 15 minutes too late.
    assert "window closes at 20" in message and "by 15 min" in message


def test_reversed_window_is_named() -> None:
    message = _refusal(problem([{"location": xy(1, 0), "window": {"start": 90, "end": 30}}]))
    assert "ends at 30" in message and "opens at 90" in message and "by 60 min" in message


def test_total_priority_demand_beyond_the_fleet() -> None:
    message = _refusal(
        problem(
            [
                {"location": xy(1, 0), "quantities": {"load": 80}, "priority": True},
                {"location": xy(2, 0), "quantities": {"load": 80}, "priority": True},
            ],
            vehicles=[{"id": "V", "start_depot": "D", "capacity": {"load": 100}}],
        )
    )
    assert "total priority demand of load is 160" in message and "by 60" in message


def test_range_and_duration_limits_give_the_shortfall() -> None:
    message = _refusal(
        problem(
            [{"location": xy(40, 0)}],
            vehicles=[
                {
                    "id": "V",
                    "start_depot": "D",
                    "capacity": {"load": 9},
                    "max_distance": 70,
                    "max_duration": 75,
                }
            ],
        )
    )
    assert "range (by 10 distance units)" in message
    assert "maximum duration (by 5 min)" in message


def test_no_single_vehicle_meets_every_constraint() -> None:
    message = _refusal(
        problem(
            [{"location": xy(40, 0), "quantities": {"load": 50}}],
            vehicles=[
                {"id": "far", "start_depot": "D", "capacity": {"load": 10}},
                {"id": "big", "start_depot": "D", "capacity": {"load": 90}, "max_distance": 20},
            ],
        )
    )
    assert "no vehicle type meets every constraint at once" in message


def test_priority_left_out_after_solving_is_refused_with_the_reason() -> None:
    # Each alone is reachable; together one vehicle cannot make both windows.
    message = _refusal(
        problem(
            [
                {"location": xy(50, 0), "window": {"start": 50, "end": 55}, "priority": True},
                {"location": xy(-50, 0), "window": {"start": 50, "end": 55}, "priority": True},
            ],
        )
    )
    assert "no plan serves every priority demand" in message


def test_unreachable_optional_demand_is_unserved_with_its_reason() -> None:
    s = solved(
        problem(
            [
                {"location": xy(1, 0)},
                {
                    "location": xy(5, 0),
                    "optional": True,
                    "prize": 1000,
                    "quantities": {"load": 500},
                },
            ],
        )
    )
    (left,) = s.unserved
    assert left.code == "capacity" and "by 400" in left.reason and s.status == "complete"


def test_no_vehicle_at_all() -> None:
    message = _refusal(
        problem(
            [{"location": xy(1, 0)}],
            vehicles=[{"id": "V", "count": 0, "start_depot": "D", "capacity": {"load": 1}}],
        )
    )
    assert "no vehicle" in message
