"""The independent validator: it catches broken plans, and accepts every plan the engine returns
on random instances (hypothesis)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from egide.errors import Infeasible
from egide.planning.codec import problem_from_dict
from egide.planning.model import Problem
from egide.planning.solution import Solution
from egide.planning.svg import render_svg
from egide.planning.validate import validate

from .util import problem, solved, xy


@pytest.fixture(scope="module")
def case() -> tuple[Problem, Solution]:
    p = problem(
        [
            {
                "location": xy(10, 0),
                "quantities": {"load": 4},
                "window": {"start": 0, "end": 50},
                "priority": True,
            },
            {"location": xy(10, 10), "quantities": {"load": 4}, "service_time": 5},
            {"location": xy(0, 10), "quantities": {"load": 2}},
        ],
        vehicles=[
            {
                "id": "V",
                "start_depot": "D",
                "capacity": {"load": 10},
                "fixed_cost": 7,
                "max_distance": 45,
                "max_duration": 60,
            }
        ],
    )
    return p, solved(p)


def _tamper(solution: Solution, **changes: object) -> Solution:
    route = dataclasses.replace(solution.routes[0], **changes)  # type: ignore[arg-type]
    return dataclasses.replace(solution, routes=(route,))


def test_accepts_the_plan(case: tuple[Problem, Solution]) -> None:
    p, s = case
    assert validate(p, s).ok and validate(p, s).cost == pytest.approx(47.0)


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (
            lambda p, s: (
                dataclasses.replace(
                    p, vehicles=(dataclasses.replace(p.vehicles[0], capacity={"load": 9}),)
                ),
                s,
            ),
            "capacity 9",
        ),
        (lambda p, s: (p, dataclasses.replace(s, cost=s.cost - 1)), "reported cost"),
        (lambda p, s: (p, _tamper(s, stops=s.routes[0].stops[:-1])), "differs from unvisited"),
        (
            lambda p, s: (p, _tamper(s, stops=s.routes[0].stops + s.routes[0].stops[:1])),
            "visited 2 times",
        ),
        (lambda p, s: (p, _tamper(s, stops=tuple(reversed(s.routes[0].stops)))), "reaches"),
        (lambda p, s: (p, _tamper(s, departure=45.0)), "window closed"),
        (
            lambda p, s: (
                dataclasses.replace(
                    p, vehicles=(dataclasses.replace(p.vehicles[0], max_distance=30),)
                ),
                s,
            ),
            "range 30",
        ),
        (
            lambda p, s: (
                dataclasses.replace(
                    p, vehicles=(dataclasses.replace(p.vehicles[0], max_duration=40),)
                ),
                s,
            ),
            "maximum 40",
        ),
        (lambda p, s: (p, _tamper(s, vehicle_type="W")), "unknown vehicle type"),
    ],
)
def test_catches_broken_plans(case: tuple[Problem, Solution], mutate: object, needle: str) -> None:
    p, s = mutate(*case)  # type: ignore[operator]
    report = validate(p, s)
    assert not report.ok
    assert any(needle in v for v in report.violations), report.violations


def test_catches_a_missing_priority(case: tuple[Problem, Solution]) -> None:
    p, s = case
    stops = tuple(x for x in s.routes[0].stops if x.demand != "C1")
    report = validate(p, _tamper(s, stops=stops))
    assert "priority demand C1 is not served" in report.violations


@st.composite
def instances(draw: st.DrawFn) -> Problem:
    """Random small problems: several depots and dimensions, windows, limits, priorities."""
    n_depots = draw(st.integers(1, 2))
    dims = ["fuel", "water", "ammunition"][: draw(st.integers(1, 3))]
    coord = st.integers(0, 100)
    depots = [
        {
            "id": f"D{k}",
            "location": xy(draw(coord), draw(coord)),
            "window": {"start": 0, "end": 1000},
        }
        for k in range(n_depots)
    ]
    demands = []
    for k in range(draw(st.integers(1, 12))):
        start = draw(st.integers(0, 400))
        demand = {
            "id": f"C{k}",
            "location": xy(draw(coord), draw(coord)),
            "quantities": {d: draw(st.integers(0, 40)) for d in dims},
            "service_time": draw(st.integers(0, 20)),
            "window": {"start": start, "end": start + draw(st.integers(150, 600))},
        }
        kind = draw(st.sampled_from(["normal", "priority", "optional"]))
        if kind == "priority":
            demand["priority"] = True
        elif kind == "optional":
            demand.update(optional=True, prize=draw(st.integers(0, 300)))
        demands.append(demand)
    vehicles = [
        {
            "id": f"V{k}",
            "count": draw(st.integers(1, 3)),
            "start_depot": f"D{draw(st.integers(0, n_depots - 1))}",
            "end_depot": f"D{draw(st.integers(0, n_depots - 1))}",
            "capacity": {d: draw(st.integers(40, 120)) for d in dims},
            "fixed_cost": draw(st.integers(0, 50)),
            "cost_per_distance": draw(st.sampled_from([1, 1.5, 2])),
            "max_distance": draw(st.sampled_from([None, 400, 800])),
            "max_duration": draw(st.sampled_from([None, 600])),
        }
        for k in range(draw(st.integers(1, 3)))
    ]
    for v in vehicles:
        for key in ("max_distance", "max_duration"):
            if v[key] is None:
                del v[key]
    return problem_from_dict(
        {"dimensions": dims, "depots": depots, "demands": demands, "vehicles": vehicles}
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_every_plan_on_random_instances_passes_the_validator(p: Problem) -> None:
    try:
        s = solved(p, iterations=300)
    except Infeasible as refusal:
        # A refusal must name a reason; it is never a silent partial plan.
        assert refusal.issues and all(isinstance(i, str) and i for i in refusal.issues)
        return
    assert all(not u.priority for u in s.unserved)
    svg = render_svg(p, s)
    assert svg.startswith("<svg") and "http://" not in svg.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(), st.data())
def test_the_validator_notices_any_single_tampering(p: Problem, data: st.DataObject) -> None:
    try:
        s = solved(p, iterations=300)
    except Infeasible:
        return
    if not s.routes:
        return
    k = data.draw(st.integers(0, len(s.routes) - 1))
    route = s.routes[k]
    j = data.draw(st.integers(0, len(route.stops) - 1))
    stop = route.stops[j]
    how = data.draw(st.sampled_from(["late", "short", "cheap", "duplicate"]))
    if how == "late":
        stops = list(route.stops)
        stops[j] = dataclasses.replace(stop, arrival=stop.arrival + 1)
        forged = dataclasses.replace(route, stops=tuple(stops))
    elif how == "short":
        dim = p.dimensions[0]
        stops = list(route.stops)
        stops[j] = dataclasses.replace(
            stop, delivered={**stop.delivered, dim: stop.delivered.get(dim, 0.0) + 1}
        )
        forged = dataclasses.replace(route, stops=tuple(stops))
    elif how == "cheap":
        forged = dataclasses.replace(route, cost=route.cost - 1)
    else:
        forged = dataclasses.replace(route, stops=(*route.stops, stop))
    routes = list(s.routes)
    routes[k] = forged
    assert not validate(p, dataclasses.replace(s, routes=tuple(routes))).ok
