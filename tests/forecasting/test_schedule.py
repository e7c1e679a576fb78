"""Workshop plan: constraints checked independently, optimality by enumeration, bad input."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from egide.errors import InvalidInput
from egide.forecasting.schedule import Candidate, Plan, Workshop, explain, parse_workshop, solve

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "workshop.json"


def _shop(**changes: Any) -> dict[str, Any]:
    shop: dict[str, Any] = {
        "cycles_per_period": 10,
        "periods": [
            {"name": "d1", "slots": 1},
            {"name": "d2", "slots": 1},
            {"name": "d3", "slots": 0},
        ],
        "failure_cost": 1000,
        "service_kinds": {
            "overhaul": {"cost": 100, "parts": {"module": 1}},
            "inspection": {"cost": 20, "parts": {"kit": 1}},
        },
        "default_kind": "overhaul",
        "unit_kinds": {"4": "inspection"},
        "stock": {"module": 2, "kit": 1},
    }
    shop.update(changes)
    return shop


def _candidates(rng: np.random.Generator, n: int, periods: int) -> list[Candidate]:
    out = []
    for u in range(1, n + 1):
        p = np.sort(rng.uniform(0, 1, periods + 1))
        out.append(
            Candidate(
                unit=u,
                rul=float(rng.uniform(0, 60)),
                interval80=(0.0, 60.0),
                p_before=tuple(float(x) for x in p[:-1]),
                p_horizon=float(p[-1]),
            )
        )
    return out


def _check_constraints(shop: Workshop, plan: Plan) -> None:
    serviced = [d for d in plan.decisions if d.period is not None]
    assert len({d.unit for d in plan.decisions}) == len(plan.decisions)
    for t, slots in enumerate(shop.slots):
        assert sum(1 for d in serviced if d.period == t) <= slots
    for part, stock in shop.stock.items():
        used = sum(shop.kinds[d.kind].parts.get(part, 0) for d in serviced)
        assert used <= stock
        assert plan.parts_used.get(part, 0) == used


def _cost(shop: Workshop, candidates: list[Candidate], choice: tuple[int | None, ...]) -> float:
    total = 0.0
    for c, t in zip(candidates, choice, strict=True):
        if t is None:
            total += shop.failure_cost * c.p_horizon
        else:
            total += shop.kind_of(c.unit).cost + shop.failure_cost * c.p_before[t]
    return total


def _feasible(shop: Workshop, candidates: list[Candidate], choice: tuple[int | None, ...]) -> bool:
    for t, slots in enumerate(shop.slots):
        if sum(1 for x in choice if x == t) > slots:
            return False
    for part, stock in shop.stock.items():
        used = sum(
            shop.kind_of(c.unit).parts.get(part, 0)
            for c, t in zip(candidates, choice, strict=True)
            if t is not None
        )
        if used > stock:
            return False
    return True


@pytest.mark.parametrize("seed", range(6))
def test_plan_is_feasible_and_optimal_by_enumeration(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shop = parse_workshop(
        _shop(
            periods=[{"name": f"d{i}", "slots": int(rng.integers(0, 3))} for i in range(3)]
            + [{"name": "d9", "slots": 1}]
        )
    )
    candidates = _candidates(rng, 5, len(shop.periods))
    plan = solve(shop, candidates)
    _check_constraints(shop, plan)
    options = [None, *range(len(shop.periods))]
    best = min(
        _cost(shop, candidates, choice)
        for choice in itertools.product(options, repeat=len(candidates))
        if _feasible(shop, candidates, choice)
    )
    assert plan.service_cost + plan.expected_failure_cost == pytest.approx(best, abs=1e-6)


def test_scarce_parts_go_to_the_riskiest_and_the_rest_is_risk_accepted() -> None:
    shop = parse_workshop(
        _shop(periods=[{"name": "d1", "slots": 5}], stock={"module": 1, "kit": 0})
    )
    candidates = [
        Candidate(unit=1, rul=3.0, interval80=(1.0, 8.0), p_before=(0.05,), p_horizon=0.9),
        Candidate(unit=2, rul=6.0, interval80=(2.0, 12.0), p_before=(0.01,), p_horizon=0.6),
        Candidate(unit=3, rul=90.0, interval80=(60.0, 120.0), p_before=(0.001,), p_horizon=0.001),
    ]
    plan = solve(shop, candidates)
    assert [d.unit for d in plan.serviced] == [1]  # one module: the likeliest failure
    assert [d.unit for d in plan.accepted] == [2]  # forecast to fail within 10 cycles
    assert plan.to_json()["risk_accepted"] == [2]
    en = explain(plan, "en")
    assert "Unit 1: overhaul in d1" in en and "Risk accepted: unit 2" in en and "60.0%" in en
    fr = explain(plan, "fr")
    assert "Unité 1 : overhaul en d1" in fr and "Risque accepté : unité 2" in fr
    with pytest.raises(InvalidInput, match="choose fr or en"):
        explain(plan, "de")


def test_no_service_when_it_costs_more_than_the_risk() -> None:
    shop = parse_workshop(_shop(failure_cost=10))
    plan = solve(
        shop,
        [Candidate(unit=1, rul=80, interval80=(50, 125), p_before=(0.1, 0.2, 0.3), p_horizon=0.35)],
    )
    assert plan.serviced == () and plan.accepted == ()


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"periods": [{"name": "d1", "slots": 0}]}, "no workshop slot in any period"),
        ({"periods": []}, "periods must be a non-empty list"),
        ({"stock": {"module": -1, "kit": 1}}, "stock of 'module' must be a whole number ≥ 0"),
        ({"stock": {"kit": 1}}, "uses part 'module', which is not in stock"),
        ({"failure_cost": 0}, "failure_cost must be a number > 0"),
        ({"failure_cost": True}, "failure_cost must be a number > 0"),
        ({"cycles_per_period": 0}, "cycles_per_period must be a whole number ≥ 1"),
        ({"default_kind": "repaint"}, "default_kind 'repaint' is not one of"),
        ({"unit_kinds": {"4": "repaint"}}, "unknown service kind 'repaint'"),
        ({"periods": [{"name": "d1", "slots": 1.5}]}, "slots must be a whole number"),
        ({"extra": 1}, "unknown field 'extra'"),
    ],
)
def test_contradictory_workshops_are_explained(change: dict[str, Any], needle: str) -> None:
    with pytest.raises(InvalidInput, match=needle):
        parse_workshop(_shop(**change), "w.json")


def test_the_documented_example_parses() -> None:
    shop = parse_workshop(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    assert shop.horizon_cycles == 20 and shop.kind_of(3).name == "inspection"
