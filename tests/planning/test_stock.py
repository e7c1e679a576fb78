"""Stock allocation between depots (HiGHS linear programme)."""

from __future__ import annotations

import pytest

from egide.errors import Infeasible
from egide.planning.stock import allocate_stock

from .util import problem, solved, xy

COST = {
    ("A", "B"): 10.0,
    ("B", "A"): 10.0,
    ("A", "C"): 3.0,
    ("C", "A"): 3.0,
    ("B", "C"): 4.0,
    ("C", "B"): 4.0,
}


def test_cheapest_source_covers_the_shortfall() -> None:
    plan = allocate_stock(
        {"A": {"fuel": 100}, "B": {"fuel": 50}, "C": {"fuel": 0}},
        {"A": {"fuel": 60}, "B": {"fuel": 20}, "C": {"fuel": 50}},
        COST,
    )
    # C needs 50: B has 30 spare at 4, A has 40 spare at 3 -> 40 from A, 10 from B.
    moved = {(t.source, t.target): t.quantity for t in plan.transfers}
    assert moved == {("A", "C"): pytest.approx(40), ("B", "C"): pytest.approx(10)}
    assert plan.cost == pytest.approx(40 * 3 + 10 * 4)


def test_enough_stock_everywhere_moves_nothing() -> None:
    plan = allocate_stock({"A": {"fuel": 10}}, {"A": {"fuel": 10}}, {})
    assert plan.transfers == [] and plan.cost == 0


def test_dimensions_are_independent_and_untracked_ones_ignored() -> None:
    plan = allocate_stock(
        {"A": {"fuel": 10, "water": 0}, "B": {"fuel": 0, "water": 10}},
        {"A": {"water": 5, "rations": 999}, "B": {"fuel": 5}},
        {("A", "B"): 1.0, ("B", "A"): 2.0},
    )
    assert sorted((t.dimension, t.source, t.target, t.quantity) for t in plan.transfers) == [
        ("fuel", "A", "B", 5.0),
        ("water", "B", "A", 5.0),
    ]


def test_shortage_says_by_how_much() -> None:
    with pytest.raises(Infeasible, match=r"hold 30 fuel but the routes load 45 \(short by 15\)"):
        allocate_stock({"A": {"fuel": 10}, "B": {"fuel": 20}}, {"A": {"fuel": 45}}, COST)


def test_routes_loading_at_an_empty_depot_get_a_transfer() -> None:
    p = problem(
        [{"location": xy(101, 0), "quantities": {"fuel": 40}}],
        depots=[
            {"id": "A", "location": xy(0, 0), "stock": {"fuel": 100}},
            {"id": "B", "location": xy(100, 0), "stock": {"fuel": 0}},
        ],
        vehicles=[{"id": "V", "start_depot": "B", "capacity": {"fuel": 50}}],
        dimensions=("fuel",),
    )
    s = solved(p)
    (t,) = s.transfers
    assert (t.source, t.target, t.quantity, t.cost) == ("A", "B", 40, 4000)
    assert s.cost == pytest.approx(2 + 4000) and s.cost_breakdown["transfers"] == 4000
