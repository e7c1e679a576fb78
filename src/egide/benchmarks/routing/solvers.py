"""The two solvers under comparison, each single-threaded, each returning plain route plans.

- **PyVRP** (iterated local search). VRPLIB files go through PyVRP's own reader
  (`pyvrp.read`, `round_func="dimacs"` for Solomon, `"round"` for CVRPLIB); the
  generated military problem is handed over as a `ProblemData` built from the
  `Instance`.
- **OR-Tools** routing solver: path-cheapest-arc first solution, then guided
  local search; distances and times as transit matrices (no Python callback
  in the search), a capacity dimension per load dimension, a time dimension
  with the windows, the route-duration bound as a span limit, optional stops
  as disjunctions whose penalty is the prize, and for the VRP with backhauls a
  delivery and a pickup dimension with the arcs that would break
  "deliveries first" (base → pickup, pickup → delivery) removed.

Both get the same integer data (`Instance.scaled`), so both optimise the same
objective; the checker then recomputes each plan's cost on its own.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from egide.benchmarks.routing.check import PlannedRoute
from egide.benchmarks.routing.instance import Instance

SOLVERS = ("pyvrp", "ortools")


@dataclass(frozen=True)
class Outcome:
    """A solver's plan and what the solver itself said about it."""

    solver: str
    routes: list[PlannedRoute]
    solver_cost: float | None
    seconds: float
    first_feasible_s: float | None
    first_complete_s: float | None = None
    iterations: int | None = None
    status: str = "ok"


def solve(solver: str, instance: Instance, seconds: float, seed: int) -> Outcome:
    if solver == "pyvrp":
        return solve_pyvrp(instance, seconds, seed)
    if solver == "ortools":
        return solve_ortools(instance, seconds)
    if solver == "egide":
        from egide.benchmarks.routing.engine import solve_with_engine

        return solve_with_engine(instance, seconds, seed)
    raise ValueError(f"unknown solver {solver!r}; choose from {', '.join(SOLVERS)} or egide")


class _Clock:
    """PyVRP stopping criterion: a time limit that notes when the best became feasible,
    and when it first served every priority stop (cost under the priority bar)."""

    def __init__(self, seconds: float, bar: float | None) -> None:
        self.seconds = seconds
        self.bar = bar
        self.start = time.perf_counter()
        self.first_feasible: float | None = None
        self.first_complete: float | None = None

    def __call__(self, best_cost: float) -> bool:
        elapsed = time.perf_counter() - self.start
        # PyVRP's cost of an infeasible solution is the integer maximum.
        if self.first_feasible is None and math.isfinite(best_cost) and best_cost < 2**62:
            self.first_feasible = elapsed
        if self.first_complete is None and self.bar is not None and best_cost < self.bar:
            self.first_complete = elapsed
        return elapsed >= self.seconds


def _bar(instance: Instance) -> float | None:
    """Solver cost under which every priority stop is served (None without priorities)."""
    bar = instance.priority_bar()
    return None if bar is None else bar * instance.scale


def pyvrp_data(instance: Instance) -> Any:
    """PyVRP's problem: its own reader for VRPLIB files, built from the instance otherwise."""
    import pyvrp

    if instance.source is not None:
        data = pyvrp.read(
            instance.source, round_func="dimacs" if instance.convention == "dimacs" else "round"
        )
        [vehicle] = data.vehicle_types()
        wanted = instance.vehicle_types[0].count
        if vehicle.num_available != wanted:
            data = data.replace(vehicle_types=[vehicle.replace(num_available=wanted)])
        return data
    dist = instance.scaled(instance.distances())
    dur = instance.scaled(instance.durations())
    tw = instance.scaled(instance.tw)
    service = instance.scaled(instance.service)
    locations = [pyvrp.Location(x=float(x), y=float(y)) for x, y in instance.coords]
    depots = [pyvrp.Depot(location=d) for d in range(instance.num_depots)]
    clients = [
        pyvrp.Client(
            location=i,
            delivery=[int(v) for v in instance.delivery[i]],
            pickup=[int(v) for v in instance.pickup[i]],
            service_duration=int(service[i]),
            tw_early=int(tw[i, 0]),
            tw_late=int(tw[i, 1]),
            prize=int(instance.prize[i]) * instance.scale,
            required=bool(instance.required[i]),
            name=str(i),
        )
        for i in instance.stops
    ]
    vehicle_types = [
        pyvrp.VehicleType(
            num_available=v.count,
            capacity=list(v.capacity),
            start_depot=v.depot,
            end_depot=v.depot,
            fixed_cost=v.fixed_cost * instance.scale,
            tw_early=int(instance.scaled(v.tw_early)),
            tw_late=int(instance.scaled(v.tw_late)),
            shift_duration=int(instance.scaled(v.max_duration)),
            unit_distance_cost=v.unit_distance_cost,
            name=v.name,
        )
        for v in instance.vehicle_types
    ]
    return pyvrp.ProblemData(
        locations=locations,
        clients=clients,
        depots=depots,
        vehicle_types=vehicle_types,
        # PyVRP's stubs spell a matrix ndarray[int]; these are int64 matrices.
        distance_matrices=[cast(Any, dist)],
        duration_matrices=[cast(Any, dur)],
    )


def solve_pyvrp(instance: Instance, seconds: float, seed: int) -> Outcome:
    import pyvrp

    data = pyvrp_data(instance)
    clock = _Clock(seconds, _bar(instance))
    result = pyvrp.solve(data, stop=clock, seed=seed, collect_stats=False, display=False)
    elapsed = time.perf_counter() - clock.start
    locations = [client.location for client in data.clients()]
    routes = [
        PlannedRoute(
            vehicle_type=route.vehicle_type(),
            stops=tuple(locations[a.idx] for a in route if a.is_client()),
        )
        for route in result.best.routes()
    ]
    feasible = result.is_feasible()
    return Outcome(
        solver="pyvrp",
        routes=routes if feasible else [],
        solver_cost=result.cost() / instance.scale if feasible else None,
        seconds=elapsed,
        first_feasible_s=clock.first_feasible,
        first_complete_s=clock.first_complete,
        iterations=result.num_iterations,
        status="ok" if feasible else "no feasible solution",
    )


def solve_ortools(instance: Instance, seconds: float) -> Outcome:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    if instance.pickup.any() and not instance.linehaul_first:
        raise NotImplementedError("OR-Tools model here covers pickups only as backhauls (VRPB)")
    fleet = [t for t, v in enumerate(instance.vehicle_types) for _ in range(v.count)]
    bases = [instance.vehicle_types[t].depot for t in fleet]
    manager = pywrapcp.RoutingIndexManager(instance.size, len(fleet), bases, bases)
    routing = pywrapcp.RoutingModel(manager)
    dist = instance.scaled(instance.distances())
    per_unit_cost: dict[int, int] = {}
    for v, t in enumerate(fleet):
        vehicle = instance.vehicle_types[t]
        unit = vehicle.unit_distance_cost
        if unit not in per_unit_cost:
            per_unit_cost[unit] = routing.RegisterTransitMatrix((dist * unit).tolist())
        routing.SetArcCostEvaluatorOfVehicle(per_unit_cost[unit], v)
        routing.SetFixedCostOfVehicle(vehicle.fixed_cost * instance.scale, v)

    loads = [("delivery", instance.delivery)]
    if instance.pickup.any():
        loads.append(("pickup", instance.pickup))
    for kind, amounts in loads:
        for dim in range(instance.dimensions):
            if not amounts[:, dim].any():
                continue
            callback = routing.RegisterUnaryTransitVector([int(a) for a in amounts[:, dim]])
            capacities = [instance.vehicle_types[t].capacity[dim] for t in fleet]
            routing.AddDimensionWithVehicleCapacity(callback, 0, capacities, True, f"{kind}-{dim}")

    timed = np.isfinite(instance.tw[:, 1]).any() or any(
        math.isfinite(v.max_duration) for v in instance.vehicle_types
    )
    if timed:
        dur = instance.scaled(instance.durations())
        service = instance.scaled(instance.service)
        horizon = int(
            max(instance.scaled(v.tw_late) for v in instance.vehicle_types)
            if all(math.isfinite(v.tw_late) for v in instance.vehicle_types)
            else instance.scaled(np.nanmax(np.where(np.isfinite(instance.tw), instance.tw, 0)))
        )
        transit = routing.RegisterTransitMatrix((dur + service[:, None]).tolist())
        routing.AddDimension(transit, horizon, horizon, False, "time")
        clock = routing.GetDimensionOrDie("time")
        tw = instance.scaled(instance.tw)
        for s in instance.stops:
            late = min(int(tw[s, 1]), horizon)
            clock.CumulVar(manager.NodeToIndex(s)).SetRange(int(tw[s, 0]), late)
        for v, t in enumerate(fleet):
            vehicle = instance.vehicle_types[t]
            early = int(instance.scaled(vehicle.tw_early))
            late = min(int(instance.scaled(vehicle.tw_late)), horizon)
            clock.CumulVar(routing.Start(v)).SetRange(early, late)
            clock.CumulVar(routing.End(v)).SetRange(early, late)
            if math.isfinite(vehicle.max_duration):
                clock.SetSpanUpperBoundForVehicle(int(instance.scaled(vehicle.max_duration)), v)
            routing.AddVariableMinimizedByFinalizer(clock.CumulVar(routing.End(v)))
            routing.AddVariableMaximizedByFinalizer(clock.CumulVar(routing.Start(v)))

    for s in instance.stops:
        if not instance.required[s]:
            routing.AddDisjunction(
                [manager.NodeToIndex(s)], int(instance.prize[s]) * instance.scale
            )

    if instance.linehaul_first:
        backhauls = [s for s in instance.stops if instance.pickup[s].any()]
        linehauls = [manager.NodeToIndex(s) for s in instance.stops if not instance.pickup[s].any()]
        for b in backhauls:
            index = manager.NodeToIndex(b)
            for v in range(len(fleet)):
                routing.NextVar(routing.Start(v)).RemoveValue(index)
            for line in linehauls:
                routing.NextVar(index).RemoveValue(line)

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(seconds * 1000))
    start = time.perf_counter()
    first: list[float] = []
    complete: list[float] = []
    bar = _bar(instance)

    def on_solution() -> None:
        if not first:
            first.append(time.perf_counter() - start)
        if not complete and bar is not None and routing.CostVar().Max() < bar:
            complete.append(time.perf_counter() - start)

    routing.AddAtSolutionCallback(on_solution)
    assignment = routing.SolveWithParameters(params)
    elapsed = time.perf_counter() - start
    if assignment is None:
        return Outcome("ortools", [], None, elapsed, None, status="no solution found")
    routes = []
    for v, t in enumerate(fleet):
        index = assignment.Value(routing.NextVar(routing.Start(v)))
        stops = []
        while not routing.IsEnd(index):
            stops.append(manager.IndexToNode(index))
            index = assignment.Value(routing.NextVar(index))
        if stops:
            routes.append(PlannedRoute(vehicle_type=t, stops=tuple(stops)))
    return Outcome(
        solver="ortools",
        routes=routes,
        solver_cost=assignment.ObjectiveValue() / instance.scale,
        seconds=elapsed,
        first_feasible_s=first[0] if first else None,
        first_complete_s=complete[0] if complete else None,
    )
