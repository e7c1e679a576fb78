"""The platform's own planning engine (`egide.planning`) as a third solver, where it is installed.

`--solvers pyvrp,ortools,egide` hands each problem to `egide.planning.solve`
as a `Problem` with the instance's own distance and time matrices (so the
engine plans on the very figures the checker counts), runs the engine's own
validator on its plan, and maps the routes back for the benchmark's checker.
Priority stops become the engine's priority demands (served whenever
possible), other optional stops its optional demands with their prize. The
VRP with backhauls is left out: the engine has no "deliveries first" rule.

The engine is being built beside this benchmark; on a branch without it,
`engine_status()` says so and asking for the `egide` solver is a clear error.
"""

from __future__ import annotations

import importlib.util
import math
import time
from typing import Any

from egide.benchmarks.routing.check import PlannedRoute
from egide.benchmarks.routing.instance import Instance
from egide.benchmarks.routing.solvers import Outcome

ENGINE = "egide"
ENGINE_MODULE = "egide.planning"
LOAD_NAMES = ("fuel", "water", "ammunition")


def engine_status() -> dict[str, Any]:
    """Whether the platform's own planning engine can be benchmarked here."""
    available = importlib.util.find_spec(ENGINE_MODULE) is not None
    return {
        "module": ENGINE_MODULE,
        "available": available,
        "note": (
            "egide.planning is installed: add it with --solvers pyvrp,ortools,egide"
            if available
            else "egide.planning is not on this branch: the military problem is solved with "
            "PyVRP directly; --write-military writes it as plain JSON for the engine"
        ),
    }


def load_names(instance: Instance) -> tuple[str, ...]:
    if instance.dimensions == len(LOAD_NAMES):
        return LOAD_NAMES
    return tuple(f"load{d + 1}" for d in range(instance.dimensions))


def engine_problem(instance: Instance) -> Any:
    """The instance as an `egide.planning.Problem`, with the instance's matrices given."""
    from egide.planning import Demand, Depot, Location, Matrix, Problem, TimeWindow, VehicleType

    names = load_names(instance)
    priority = instance.priority

    def window(early: float, late: float) -> Any:
        return TimeWindow(start=early, end=late if math.isfinite(late) else None)

    def finite(value: float) -> float | None:
        return value if math.isfinite(value) else None

    depots = tuple(
        Depot(
            id=f"base{d + 1}",
            location=Location(float(instance.coords[d, 0]), float(instance.coords[d, 1])),
            window=window(float(instance.tw[d, 0]), float(instance.tw[d, 1])),
        )
        for d in range(instance.num_depots)
    )
    demands = []
    for s in instance.stops:
        urgent = bool(priority[s]) if priority is not None else False
        optional = not instance.required[s] and not urgent
        demands.append(
            Demand(
                id=f"stop{s}",
                location=Location(float(instance.coords[s, 0]), float(instance.coords[s, 1])),
                quantities=dict(zip(names, map(float, instance.delivery[s]), strict=True)),
                pickup=dict(zip(names, map(float, instance.pickup[s]), strict=True)),
                window=window(float(instance.tw[s, 0]), float(instance.tw[s, 1])),
                service_time=float(instance.service[s]),
                priority=urgent,
                optional=optional,
                prize=float(instance.prize[s]) if optional else 0.0,
            )
        )
    vehicles = tuple(
        VehicleType(
            id=f"type{k}",
            start_depot=f"base{v.depot + 1}",
            capacity=dict(zip(names, map(float, v.capacity), strict=True)),
            count=v.count,
            fixed_cost=float(v.fixed_cost),
            cost_per_distance=float(v.unit_distance_cost),
            max_duration=finite(v.max_duration),
            name=v.name,
        )
        for k, v in enumerate(instance.vehicle_types)
    )
    matrix = Matrix(
        distance=tuple(tuple(map(float, row)) for row in instance.distances()),
        duration=tuple(tuple(map(float, row)) for row in instance.durations()),
    )
    return Problem(
        dimensions=names,
        depots=depots,
        demands=tuple(demands),
        vehicles=vehicles,
        matrix=matrix,
        name=instance.name,
    )


def solve_with_engine(instance: Instance, seconds: float, seed: int) -> Outcome:
    """The instance through `egide.planning.solve`, its plan checked by the engine's validator."""
    if not engine_status()["available"]:
        raise ValueError(
            "the egide solver needs egide.planning, which this installation does not have; "
            "use --solvers pyvrp,ortools"
        )
    if instance.linehaul_first:
        raise ValueError(f"{instance.name}: egide.planning has no deliveries-first (VRPB) rule")
    from egide.errors import EgideError
    from egide.planning import solve, validate

    problem = engine_problem(instance)
    start = time.perf_counter()
    try:
        solution = solve(problem, time_limit=seconds, seed=seed)
    except EgideError as refused:
        return Outcome(ENGINE, [], None, time.perf_counter() - start, None, status=str(refused))
    elapsed = time.perf_counter() - start
    report = validate(problem, solution)
    routes = [
        PlannedRoute(
            vehicle_type=int(route.vehicle_type.removeprefix("type")),
            stops=tuple(int(stop.demand.removeprefix("stop")) for stop in route.stops),
        )
        for route in solution.routes
    ]
    # The engine's cost counts routes only; the benchmark's also counts the prizes of what is
    # left out, so the engine's own list of unserved demands is priced the same way.
    left_out = [int(u.demand.removeprefix("stop")) for u in solution.unserved]
    prizes = sum(int(instance.prize[s]) for s in left_out if not instance.required[s])
    return Outcome(
        solver=ENGINE,
        routes=routes,
        solver_cost=float(solution.cost) + prizes,
        seconds=elapsed,
        first_feasible_s=None,
        status="ok" if report.ok else f"engine validator: {report}",
    )
