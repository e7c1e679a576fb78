"""An independent check of a plan against its problem.

Written from the problem's definition only, never from the solver's accounting: it replays
every route from the problem's distances and durations, recomputes loads, times, distances
and costs, and lists every constraint a plan breaks. The tests run it on every plan returned.

Tolerances cover the solver's integer rounding: 0.01 min of time and 0.001 distance units
per leg travelled, and a relative 1e-6 on costs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from egide.planning.model import Problem
from egide.planning.solution import Solution

TIME_STEP = 0.01
DISTANCE_STEP = 0.001


@dataclass(frozen=True)
class Report:
    """What the validator found: the violations (empty when valid) and the recomputed cost."""

    violations: tuple[str, ...]
    cost: float

    @property
    def ok(self) -> bool:
        """True when the plan breaks no constraint."""
        return not self.violations


def _close(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol


def validate(problem: Problem, solution: Solution) -> Report:
    """Replay `solution` on `problem` and report every broken constraint."""
    bad: list[str] = []
    dist, dur = problem.distances(), problem.durations()
    where = {ident: k for k, ident in enumerate(problem.location_ids())}
    demands = {d.id: d for d in problem.demands}
    types = {v.id: v for v in problem.vehicles}
    depots = {d.id: d for d in problem.depots}
    dims = problem.dimensions

    names = Counter(r.vehicle for r in solution.routes)
    bad += [f"vehicle {n} drives {c} routes" for n, c in names.items() if c > 1]
    per_type = Counter(r.vehicle_type for r in solution.routes)
    for type_id, used in per_type.items():
        if type_id not in types:
            bad.append(f"route uses unknown vehicle type {type_id}")
        elif used > types[type_id].count:
            bad.append(f"{used} vehicles of type {type_id} used, {types[type_id].count} exist")
    visits = Counter(s.demand for r in solution.routes for s in r.stops)
    bad += [f"demand {d} visited {c} times" for d, c in visits.items() if c > 1]
    bad += [f"route visits unknown demand {d}" for d in visits if d not in demands]

    total = 0.0
    loaded: defaultdict[tuple[str, str], float] = defaultdict(float)
    for route in solution.routes:
        vehicle = types.get(route.vehicle_type)
        if vehicle is None or any(s.demand not in demands for s in route.stops):
            continue
        tag = f"route {route.vehicle}"
        if route.start_depot != vehicle.start_depot or route.end_depot != vehicle.return_depot:
            bad.append(f"{tag}: starts or ends at the wrong depot")
            continue
        stops = [demands[s.demand] for s in route.stops]
        legs = len(stops) + 1
        t_tol, d_tol = TIME_STEP * legs, DISTANCE_STEP * legs

        # Load: everything delivered is on board at the start; pickups come on board.
        load = {dim: sum(d.quantities.get(dim, 0.0) for d in stops) for dim in dims}
        for dim in dims:
            loaded[(route.start_depot, dim)] += load[dim]
            if not _close(route.initial_load.get(dim, 0.0), load[dim], 1e-6):
                bad.append(
                    f"{tag}: starts with {route.initial_load.get(dim, 0.0)} {dim}, "
                    f"its stops need {load[dim]}"
                )
        for dim in dims:
            if load[dim] > vehicle.capacity.get(dim, 0.0) + 1e-6:
                bad.append(
                    f"{tag}: leaves with {load[dim]:g} {dim}, capacity "
                    f"{vehicle.capacity.get(dim, 0.0):g}"
                )

        # Time and distance, leg by leg from the reported departure.
        start_depot, end_depot = depots[route.start_depot], depots[route.end_depot]
        if route.departure < start_depot.window.start - t_tol:
            bad.append(f"{tag}: leaves at {route.departure:g} before depot opens")
        clock, here, distance = route.departure, where[route.start_depot], 0.0
        for stop, demand in zip(route.stops, stops, strict=True):
            there = where[demand.id]
            clock += dur[here][there]
            distance += dist[here][there]
            if not _close(stop.arrival, clock, t_tol):
                bad.append(f"{tag}: reaches {demand.id} at {stop.arrival:g}, replay says {clock:g}")
            begin = max(clock, demand.window.start)
            if stop.start < demand.window.start - t_tol:
                bad.append(f"{tag}: serves {demand.id} at {stop.start:g} before its window")
            begin = max(begin, stop.start)
            if demand.window.end is not None and begin > demand.window.end + t_tol:
                bad.append(
                    f"{tag}: serves {demand.id} at {begin:g}, window closed at "
                    f"{demand.window.end:g}"
                )
            clock = begin + demand.service_time
            if not _close(stop.departure, clock, t_tol):
                bad.append(f"{tag}: leaves {demand.id} at {stop.departure:g}, replay {clock:g}")
            for dim in dims:
                if not _close(stop.delivered.get(dim, 0.0), demand.quantities.get(dim, 0.0), 1e-9):
                    bad.append(
                        f"{tag}: delivers {stop.delivered.get(dim, 0.0)} {dim} to "
                        f"{demand.id}, which needs {demand.quantities.get(dim, 0.0)}"
                    )
                load[dim] += demand.pickup.get(dim, 0.0) - demand.quantities.get(dim, 0.0)
                if load[dim] > vehicle.capacity.get(dim, 0.0) + 1e-6:
                    bad.append(
                        f"{tag}: carries {load[dim]:g} {dim} after {demand.id}, "
                        f"capacity {vehicle.capacity.get(dim, 0.0):g}"
                    )
                if not _close(stop.load_after.get(dim, 0.0), load[dim], 1e-6):
                    bad.append(
                        f"{tag}: reports {stop.load_after.get(dim, 0.0)} {dim} on board "
                        f"after {demand.id}, replay {load[dim]:g}"
                    )
            here = there
        clock += dur[here][where[route.end_depot]]
        distance += dist[here][where[route.end_depot]]
        if not _close(route.arrival, clock, t_tol):
            bad.append(f"{tag}: back at {route.arrival:g}, replay says {clock:g}")
        if end_depot.window.end is not None and clock > end_depot.window.end + t_tol:
            bad.append(f"{tag}: back at {clock:g}, depot closed at {end_depot.window.end:g}")
        duration = clock - route.departure
        if vehicle.max_duration is not None and duration > vehicle.max_duration + t_tol:
            bad.append(f"{tag}: lasts {duration:g} min, maximum {vehicle.max_duration:g}")
        if vehicle.max_distance is not None and distance > vehicle.max_distance + d_tol:
            bad.append(f"{tag}: drives {distance:g}, range {vehicle.max_distance:g}")
        if not _close(route.distance, distance, 1e-6 * max(1.0, distance)):
            bad.append(f"{tag}: reports distance {route.distance:g}, replay {distance:g}")
        cost = vehicle.fixed_cost + vehicle.cost_per_distance * distance
        if not _close(route.cost, cost, 1e-6 * max(1.0, cost)):
            bad.append(f"{tag}: reports cost {route.cost:g}, replay {cost:g}")
        total += cost

    # Stock: what each depot loads must be on hand after the transfers.
    tracked = {dim for d in problem.depots for dim in d.stock}
    for t in solution.transfers:
        if t.quantity < 0:
            bad.append(f"negative transfer {t.source}->{t.target}")
        if t.source not in depots or t.target not in depots or t.dimension not in dims:
            bad.append(f"transfer {t.source}->{t.target} of {t.dimension}: no such depot or load")
            continue
        unit = dist[where[t.source]][where[t.target]]
        if not _close(t.cost, unit * t.quantity, 1e-6 * max(1.0, unit * t.quantity)):
            bad.append(f"transfer {t.source}->{t.target} reports cost {t.cost:g}")
        total += unit * t.quantity
    for depot in problem.depots:
        for dim in tracked:
            have = depot.stock.get(dim, 0.0)
            have += sum(
                t.quantity
                for t in solution.transfers
                if t.target == depot.id and t.dimension == dim
            )
            have -= sum(
                t.quantity
                for t in solution.transfers
                if t.source == depot.id and t.dimension == dim
            )
            if loaded[(depot.id, dim)] > have + 1e-6:
                bad.append(
                    f"depot {depot.id} loads {loaded[(depot.id, dim)]:g} {dim}, "
                    f"holds {have:g} after transfers"
                )

    # Unserved: exactly the demands not visited, priorities never among them.
    unserved = {u.demand for u in solution.unserved}
    missing = {d for d in demands if d not in visits}
    if unserved != missing:
        bad.append(f"unserved list {sorted(unserved)} differs from unvisited {sorted(missing)}")
    bad += [f"priority demand {d} is not served" for d in missing if demands[d].priority]
    required_missing = [d for d in missing if not demands[d].optional]
    if required_missing and solution.status != "partial":
        bad.append(f"status {solution.status} but {sorted(required_missing)} are not served")
    if not _close(solution.cost, total, 1e-6 * max(1.0, total)):
        bad.append(f"reported cost {solution.cost:g}, replay {total:g}")
    return Report(violations=tuple(bad), cost=total)
