"""Small builders for planning tests, and the rule that every returned plan is validated."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from egide.planning.codec import problem_from_dict
from egide.planning.model import Problem
from egide.planning.solution import Solution
from egide.planning.solver import solve
from egide.planning.validate import validate


def xy(x: float, y: float) -> dict[str, float]:
    return {"x": x, "y": y}


def problem(
    demands: Sequence[dict[str, Any]],
    vehicles: Sequence[dict[str, Any]] | None = None,
    depots: Sequence[dict[str, Any]] | None = None,
    dimensions: Sequence[str] = ("load",),
    **extra: Any,
) -> Problem:
    """A problem from short dicts; ids and defaults filled in."""
    data: dict[str, Any] = {
        "dimensions": list(dimensions),
        "depots": list(depots or [{"id": "D", "location": xy(0, 0)}]),
        "demands": [{"id": f"C{k + 1}", **d} for k, d in enumerate(demands)],
        "vehicles": list(vehicles or [{"id": "V", "start_depot": "D", "capacity": {"load": 100}}]),
        **extra,
    }
    return problem_from_dict(data)


def solved(
    p: Problem, iterations: int = 1000, seed: int = 1, time_limit: float = 60, **kwargs: Any
) -> Solution:
    """Solve and insist that the independent validator accepts the plan.

    Searches stop after a number of iterations, not seconds, so a busy machine gives the
    same plans (the time limit is only a backstop).
    """
    solution = solve(p, time_limit=time_limit, seed=seed, max_iterations=iterations, **kwargs)
    report = validate(p, solution)
    assert report.ok, report.violations
    assert abs(report.cost - solution.cost) <= 1e-6 * max(1.0, report.cost)
    return solution


def stops(solution: Solution) -> dict[str, list[str]]:
    return {r.vehicle: [s.demand for s in r.stops] for r in solution.routes}
