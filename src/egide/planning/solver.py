"""Solve a `Problem` with PyVRP and turn its answer back into a `Solution`.

PyVRP works in integers, so distances, times, loads and costs are scaled (the factors are
listed in the solution's assumptions). Every required demand is first asked for as
*required*; when no plan serves them all, a second pass turns them into prize-collecting
stops whose penalties make the solver give up ordinary demands before priority ones: a
normal demand left out costs more than any whole plan, a priority one more than all normal
ones together. A priority demand still unserved after that is reported as infeasible.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import numpy as np

from egide.errors import Infeasible, InvalidInput
from egide.planning.checks import Issue, check
from egide.planning.model import Problem
from egide.planning.solution import Route, Solution, Stop, Transfer, Unserved
from egide.planning.stock import allocate_stock

INT_MAX = np.iinfo(np.int64).max
PENALTY_CEILING = 2**60


@dataclass(frozen=True)
class Scaling:
    """Integer factors between the problem's units and PyVRP's integers."""

    distance: int
    time: int
    load: int
    cost: int

    def notes(self) -> list[str]:
        """The scaling, in words, for the solution's assumptions."""
        return [
            f"distances are given to the solver in steps of 1/{self.distance} and times in "
            f"steps of 1/{self.time} min; quantities in steps of 1/{self.load} (demands rounded "
            "up, capacities down)"
        ]


def _integral(values: Sequence[float]) -> bool:
    return all(float(v).is_integer() for v in values)


def scaling_for(problem: Problem) -> Scaling:
    """The factors used for this problem."""
    step = {"round": 1, "dimacs": 10, "none": 1000}[problem.rounding]
    if problem.matrix is not None:
        step = 1 if _integral([x for row in problem.matrix.distance for x in row]) else 1000
    quantities = [q for d in problem.demands for q in [*d.quantities.values(), *d.pickup.values()]]
    quantities += [c for v in problem.vehicles for c in v.capacity.values()]
    rates = [v.cost_per_distance for v in problem.vehicles]
    return Scaling(
        distance=step,
        time=60 if problem.coordinates == "latlon" else step,
        load=1 if _integral(quantities) else 1000,
        cost=next((k for k in (1, 10, 100) if _integral([r * k for r in rates])), 100),
    )


def solve(
    problem: Problem,
    time_limit: float = 10.0,
    seed: int = 0,
    initial: Solution | None = None,
    max_iterations: int | None = None,
) -> Solution:
    """Plan routes for `problem`; raise `Infeasible` (with reasons) rather than drop priorities.

    `initial` warm-starts the search from an earlier plan (stops matched by demand id, routes
    by vehicle type); it need not be feasible for the new problem. When a first search finds
    no plan serving every required demand, a second prize-collecting search runs for another
    `time_limit` (and, if PyVRP's penalties cannot make its answer feasible, a repair and a
    last half-limit search), so the whole call may take up to 2.5 times the limit.
    `max_iterations` also stops each search after that many iterations: with it, the same
    seed gives the same plan however busy the machine is.
    """
    if not 0 < time_limit <= 86_400:
        raise InvalidInput(f"time limit {time_limit:g} s: give a number of seconds in (0, 86400]")
    excluded = check(problem)
    scale = scaling_for(problem)
    started = time.monotonic()
    clients = [d for d in problem.demands if d.id not in excluded]
    fleet = [v for v in problem.vehicles if v.count > 0]
    penalties = _penalties(problem, scale, len(clients))
    facts: dict[str, Any] = {
        "name": "pyvrp",
        "version": version("pyvrp"),
        "time_limit_s": time_limit,
        "seed": seed,
        "warm_start": initial is not None,
        "max_iterations": max_iterations,
    }
    if not clients or not fleet:
        result_routes: list[tuple[int, list[int], list[tuple[int, int, int]], int, int]] = []
        facts["passes"] = 0
    else:
        result_routes = []
        # When the fleet cannot carry every required demand, skip straight to the second pass.
        passes = (True,) if _fleet_short(problem) else (False, True)
        earlier: list[tuple[int, list[int]]] | None = None
        for attempt, relaxed in enumerate(passes, start=1):
            try:
                data = _data(problem, clients, fleet, scale, penalties if relaxed else None)
                start = _warm_start(data, clients, fleet, initial)
                if earlier is not None:
                    # Carry the first pass's routes over: most of them usually survive.
                    start = _from_visits(data, earlier)
                best, stats = _run(data, (time_limit, max_iterations), seed, start, scale)
                if relaxed and not best.is_feasible():
                    # The prizes dwarf PyVRP's capped penalties: drop the cheapest stops until
                    # every route is feasible, then search on from that feasible plan.
                    best, more = _run(
                        data, (time_limit / 2, max_iterations), seed, _repair(data, best), scale
                    )
                    stats += more
            except (ValueError, OverflowError) as error:
                raise InvalidInput(f"the solver refused the problem: {error}") from None
            facts["passes"] = attempt
            facts["iterations"] = facts.get("iterations", 0) + stats
            if best.is_feasible():
                result_routes = _routes_of(best)
                break
            earlier = [
                (r.vehicle_type(), [a.idx for a in r.schedule() if a.is_client()])
                for r in best.routes()
            ]
        else:
            raise Infeasible(
                "the solver found no plan that meets every constraint within "
                f"{time_limit:g} s; give it more time (--time-limit) or relax the constraints"
            )
    facts["runtime_s"] = round(time.monotonic() - started, 3)
    return _solution(problem, clients, fleet, scale, result_routes, excluded, penalties, facts)


def _fleet_short(problem: Problem) -> bool:
    return any(
        sum(d.quantities.get(dim, 0.0) for d in problem.demands if not d.optional)
        > sum(v.count * v.capacity.get(dim, 0.0) for v in problem.vehicles)
        for dim in problem.dimensions
    )


def _penalties(problem: Problem, scale: Scaling, n_clients: int) -> tuple[int, int]:
    """(normal, priority) prize in solver units; see the module docstring."""
    dist = problem.distances()
    longest_out = [max(row) if row else 0.0 for row in dist]
    n_depots = len(problem.depots)
    vehicles = sum(v.count for v in problem.vehicles)
    plan_distance = sum(longest_out[n_depots:]) + vehicles * max(longest_out[:n_depots] or [0])
    rate = max((v.cost_per_distance for v in problem.vehicles), default=1.0)
    fixed = sum(v.count * v.fixed_cost for v in problem.vehicles)
    bound = fixed + rate * plan_distance + sum(d.prize for d in problem.demands)
    normal = math.ceil(bound * scale.distance * scale.cost) + 1
    priority = normal * (n_clients + 1)
    if priority * n_clients > PENALTY_CEILING:
        priority = max(normal + 1, PENALTY_CEILING // max(1, n_clients))
    return normal, priority


def _data(
    problem: Problem,
    clients: Sequence[Any],
    fleet: Sequence[Any],
    scale: Scaling,
    penalties: tuple[int, int] | None,
) -> Any:
    from pyvrp import Client, Depot, Location, ProblemData, VehicleType

    index = problem.index()
    dims = problem.dimensions
    rows = [index[d.id] for d in problem.depots] + [index[c.id] for c in clients]
    dist = np.asarray(problem.distances(), dtype=float)[np.ix_(rows, rows)]
    dur = np.asarray(problem.durations(), dtype=float)[np.ix_(rows, rows)]
    distance = np.rint(dist * scale.distance).astype(np.int64)
    duration = np.rint(dur * scale.time).astype(np.int64)
    locations = [Location(x=d.location.x, y=d.location.y) for d in problem.depots]
    locations += [Location(x=c.location.x, y=c.location.y) for c in clients]
    depot_index = {d.id: k for k, d in enumerate(problem.depots)}

    def t(value: float | None, default: int) -> int:
        return default if value is None else round(value * scale.time)

    def up(q: Mapping[str, float]) -> list[int]:
        return [math.ceil(q.get(dim, 0.0) * scale.load - 1e-9) for dim in dims]

    pyvrp_clients = []
    for k, c in enumerate(clients):
        if penalties is None:
            required, prize = not c.optional, _prize(c.prize, scale)
        elif c.optional:
            required, prize = False, _prize(c.prize, scale)
        else:
            required, prize = False, penalties[1] if c.priority else penalties[0]
        pyvrp_clients.append(
            Client(
                location=len(problem.depots) + k,
                delivery=up(c.quantities),
                pickup=up(c.pickup),
                service_duration=t(c.service_time, 0),
                tw_early=t(c.window.start, 0),
                tw_late=t(c.window.end, INT_MAX),
                prize=prize,
                required=required,
                name=c.id,
            )
        )
    depots = [
        Depot(
            location=k, tw_early=t(d.window.start, 0), tw_late=t(d.window.end, INT_MAX), name=d.id
        )
        for k, d in enumerate(problem.depots)
    ]
    types = []
    for v in fleet:
        start, end = problem.depot(v.start_depot), problem.depot(v.return_depot)
        types.append(
            VehicleType(
                num_available=v.count,
                capacity=[math.floor(v.capacity.get(dim, 0.0) * scale.load + 1e-9) for dim in dims],
                start_depot=depot_index[v.start_depot],
                end_depot=depot_index[v.return_depot],
                fixed_cost=round(v.fixed_cost * scale.distance * scale.cost),
                unit_distance_cost=round(v.cost_per_distance * scale.cost),
                tw_early=t(start.window.start, 0),
                tw_late=t(end.window.end, INT_MAX),
                shift_duration=t(v.max_duration, INT_MAX),
                max_distance=INT_MAX
                if v.max_distance is None
                else math.floor(v.max_distance * scale.distance + 1e-9),
                name=v.id,
            )
        )
    return ProblemData(locations, pyvrp_clients, depots, types, [distance], [duration])


def _prize(value: float, scale: Scaling) -> int:
    return round(value * scale.distance * scale.cost)


def _warm_start(
    data: Any, clients: Sequence[Any], fleet: Sequence[Any], initial: Solution | None
) -> Any:
    """PyVRP's form of an earlier plan: stops matched by demand id, routes by vehicle type."""
    from pyvrp import Route as PRoute
    from pyvrp import Solution as PSolution

    if initial is None:
        return None
    position = {c.id: k for k, c in enumerate(clients)}
    type_index = {v.id: k for k, v in enumerate(fleet)}
    used = [0] * len(fleet)
    warm = []
    for route in initial.routes:
        k = type_index.get(route.vehicle_type)
        visits = [position[s.demand] for s in route.stops if s.demand in position]
        if k is None or not visits or used[k] >= fleet[k].count:
            continue
        used[k] += 1
        warm.append(PRoute(data, visits, k))
    return PSolution(data, warm)


def _from_visits(data: Any, routes: list[tuple[int, list[int]]]) -> Any:
    from pyvrp import Route as PRoute
    from pyvrp import Solution as PSolution

    return PSolution(data, [PRoute(data, visits, kind) for kind, visits in routes if visits])


def _repair(data: Any, best: Any) -> Any:
    """A feasible plan from an infeasible one, dropping the lowest-prize stops that help most."""
    from pyvrp import Route as PRoute
    from pyvrp import Solution as PSolution

    def violation(visits: list[int], vehicle_type: int) -> int:
        route = PRoute(data, visits, vehicle_type)
        return int(sum(route.excess_load()) + route.time_warp() + route.excess_distance())

    routes = []
    for route in best.routes():
        kind = route.vehicle_type()
        visits = [a.idx for a in route.schedule() if a.is_client()]
        while visits and (now := violation(visits, kind)) > 0:
            options = []
            for k in range(len(visits)):
                after = violation(visits[:k] + visits[k + 1 :], kind)
                options.append((after >= now, data.clients()[visits[k]].prize, after, k))
            visits.pop(min(options)[3])
        if visits:
            routes.append(PRoute(data, visits, kind))
    return PSolution(data, routes)


def _run(
    data: Any, limits: tuple[float, int | None], seed: int, start: Any, scale: Scaling
) -> tuple[Any, int]:
    from pyvrp import PenaltyParams, SolveParams
    from pyvrp import solve as pyvrp_solve
    from pyvrp.exceptions import PenaltyBoundWarning
    from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria

    with warnings.catch_warnings():
        # PyVRP warns when its penalties hit their ceiling on an infeasible instance; the
        # second, prize-collecting pass and the reasons it gives are our answer to that.
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = pyvrp_solve(
            data,
            stop=MaxRuntime(limits[0])
            if limits[1] is None
            else MultipleCriteria([MaxRuntime(limits[0]), MaxIterations(limits[1])]),
            seed=seed,
            collect_stats=False,
            display=False,
            initial_solution=start,
            # PyVRP caps penalties at 1e5 per unit of violation, sized for unscaled data;
            # ours are scaled, so the cap scales with them or excess load stays cheap.
            params=SolveParams(
                penalty=PenaltyParams(max_penalty=100_000.0 * scale.distance * scale.cost)
            ),
        )
    return result.best, int(result.num_iterations)


def _routes_of(best: Any) -> list[tuple[int, list[int], list[tuple[int, int, int]], int, int]]:
    """(vehicle type, client indices, (arrival, start, end) per client, depart, back)."""
    found = []
    for route in best.routes():
        schedule = route.schedule()
        visits = [a for a in schedule if a.is_client()]
        found.append(
            (
                route.vehicle_type(),
                [a.idx for a in visits],
                [(a.start_time - a.wait_duration, a.start_time, a.end_time) for a in visits],
                schedule[0].end_time,
                schedule[-1].start_time,
            )
        )
    return found


def _solution(
    problem: Problem,
    clients: Sequence[Any],
    fleet: Sequence[Any],
    scale: Scaling,
    found: list[tuple[int, list[int], list[tuple[int, int, int]], int, int]],
    excluded: Mapping[str, list[Issue]],
    penalties: tuple[int, int],
    facts: dict[str, Any],
) -> Solution:
    dist, index, dims = problem.distances(), problem.index(), problem.dimensions
    names = {v.id: v.vehicle_ids() for v in fleet}
    used = {v.id: 0 for v in fleet}
    routes = []
    for type_k, visits, times, depart, back in found:
        vehicle = fleet[type_k]
        name = names[vehicle.id][used[vehicle.id]]
        used[vehicle.id] += 1
        demands = [clients[i] for i in visits]
        load = {dim: sum(d.quantities.get(dim, 0.0) for d in demands) for dim in dims}
        initial_load = dict(load)
        stops = []
        for demand, (arrival, begin, end) in zip(demands, times, strict=True):
            for dim in dims:
                load[dim] += demand.pickup.get(dim, 0.0) - demand.quantities.get(dim, 0.0)
            stops.append(
                Stop(
                    demand=demand.id,
                    arrival=arrival / scale.time,
                    start=begin / scale.time,
                    departure=end / scale.time,
                    delivered={k: v for k, v in demand.quantities.items() if v},
                    picked_up={k: v for k, v in demand.pickup.items() if v},
                    load_after={dim: round(load[dim], 9) for dim in dims},
                )
            )
        path = [vehicle.start_depot, *[d.id for d in demands], vehicle.return_depot]
        distance = sum(dist[index[a]][index[b]] for a, b in itertools.pairwise(path))
        routes.append(
            Route(
                vehicle=name,
                vehicle_type=vehicle.id,
                start_depot=vehicle.start_depot,
                end_depot=vehicle.return_depot,
                departure=depart / scale.time,
                arrival=back / scale.time,
                initial_load=initial_load,
                stops=tuple(stops),
                distance=distance,
                cost=vehicle.fixed_cost + vehicle.cost_per_distance * distance,
            )
        )
    unserved = _unserved(problem, routes, excluded)
    if priority := [u for u in unserved if u.priority]:
        raise Infeasible(
            "no plan serves every priority demand: "
            + "; ".join(f"{u.demand}: {u.reason}" for u in priority),
            tuple(u.reason for u in priority),
        )
    transfers = _transfers(problem, routes)
    fixed = sum(r.cost - _distance_cost(problem, r) for r in routes)
    moved = sum(t.cost for t in transfers)
    breakdown = {
        "fixed": fixed,
        "distance": sum(_distance_cost(problem, r) for r in routes),
        "transfers": moved,
        "forgone_prizes": sum(
            d.prize for d in problem.demands if d.optional and d.id in {u.demand for u in unserved}
        ),
        "total_distance": sum(r.distance for r in routes),
    }
    return Solution(
        status="partial" if any(not u.optional for u in unserved) else "complete",
        cost=sum(r.cost for r in routes) + moved,
        cost_breakdown=breakdown,
        routes=tuple(routes),
        unserved=tuple(unserved),
        solver=facts,
        assumptions=tuple(_assumptions(problem, scale, penalties)),
        transfers=tuple(transfers),
    )


def _distance_cost(problem: Problem, route: Route) -> float:
    vehicle = next(v for v in problem.vehicles if v.id == route.vehicle_type)
    return vehicle.cost_per_distance * route.distance


def _unserved(
    problem: Problem, routes: Sequence[Route], excluded: Mapping[str, list[Issue]]
) -> list[Unserved]:
    served = {s.demand for r in routes for s in r.stops}
    left = []
    fleet_short = []
    for dim in problem.dimensions:
        need = sum(d.quantities.get(dim, 0.0) for d in problem.demands if not d.optional)
        room = sum(v.count * v.capacity.get(dim, 0.0) for v in problem.vehicles)
        if need > room:
            fleet_short.append(f"{dim}: {need:g} needed, the fleet carries {room:g}")
    for d in problem.demands:
        if d.id in served:
            continue
        if d.id in excluded:
            issue = excluded[d.id][0]
            code, reason = issue.code, issue.message
        elif d.optional:
            code = "not_worth_it"
            reason = (
                f"optional; serving it would cost more than its prize ({d.prize:g}) "
                "given the other stops"
            )
        else:
            code = "fleet_exhausted"
            reason = _why_no_room(problem, routes, d.quantities)
            if fleet_short:
                reason += " (fleet short of " + "; ".join(fleet_short) + ")"
        left.append(Unserved(d.id, code, reason, priority=d.priority, optional=d.optional))
    return left


def _why_no_room(problem: Problem, routes: Sequence[Route], quantities: Mapping[str, float]) -> str:
    """Which dimension has no vehicle room left for these quantities, or else time/limits."""
    free: dict[str, float] = dict.fromkeys(problem.dimensions, 0.0)
    used: dict[str, int] = {}
    for route in routes:
        used[route.vehicle_type] = used.get(route.vehicle_type, 0) + 1
        capacity = next(v.capacity for v in problem.vehicles if v.id == route.vehicle_type)
        for dim in free:
            free[dim] = max(free[dim], capacity.get(dim, 0.0) - route.initial_load.get(dim, 0.0))
    for vehicle in problem.vehicles:
        if used.get(vehicle.id, 0) < vehicle.count:
            for dim in free:
                free[dim] = max(free[dim], vehicle.capacity.get(dim, 0.0))
    short = [
        f"it needs {quantities[dim]:g} {dim}, the most any vehicle has left is {free[dim]:g}"
        for dim in problem.dimensions
        if quantities.get(dim, 0.0) > free[dim] + 1e-9
    ]
    if short:
        return "no vehicle has room left once the other demands are served: " + "; ".join(short)
    return (
        "the vehicles with room left cannot reach it within its window or within their "
        "range and duration limits once the other demands are served"
    )


def _transfers(problem: Problem, routes: Sequence[Route]) -> list[Transfer]:
    if not any(d.stock for d in problem.depots):
        return []
    need = {
        d.id: {
            dim: sum(r.initial_load.get(dim, 0.0) for r in routes if r.start_depot == d.id)
            for dim in problem.dimensions
        }
        for d in problem.depots
    }
    dist, index = problem.distances(), problem.index()
    cost = {
        (a.id, b.id): dist[index[a.id]][index[b.id]] for a in problem.depots for b in problem.depots
    }
    return allocate_stock({d.id: dict(d.stock) for d in problem.depots}, need, cost).transfers


def _assumptions(problem: Problem, scale: Scaling, penalties: tuple[int, int]) -> list[str]:
    if problem.coordinates == "latlon":
        notes = [
            "distances are great-circle (haversine) kilometres"
            if problem.matrix is None
            else "distances and durations come from the given matrix",
            f"every vehicle travels at {problem.speed:g} km/h on every leg",
        ]
    else:
        notes = [
            "distances are Euclidean in the coordinates' unit"
            if problem.matrix is None
            else "distances and durations come from the given matrix",
            f"travel time is distance / {problem.speed:g} per minute",
        ]
    if problem.rounding != "none":
        notes.append(
            {
                "round": "each distance is rounded to the nearest integer (TSPLIB)",
                "dimacs": "each distance is truncated to one decimal (DIMACS)",
            }[problem.rounding]
        )
    notes += scale.notes()
    notes += [
        "times are minutes from the plan's start; vehicles may wait for a window to open",
        "each vehicle makes one trip, loading everything it delivers at its start depot",
        "cost = fixed cost per vehicle used + cost per distance x distance"
        + (
            " + depot transfers (quantity x distance)"
            if any(d.stock for d in problem.depots)
            else ""
        ),
        f"if not every demand can be served, leaving out a demand costs {penalties[0]} solver "
        f"units (more than any plan) and a priority demand {penalties[1]}",
    ]
    return notes
