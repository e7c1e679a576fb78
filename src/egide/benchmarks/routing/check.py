"""An independent feasibility and cost checker for route plans, whichever solver made them.

It trusts nothing a solver reports: every distance and travel time is
recomputed from the coordinates in the instance's own convention, and each
route is replayed stop by stop — its vehicle type and base, the fleet size of
each type, every stop visited at most once and every required stop once, the
load on board in each dimension after each stop (deliveries leave, pickups
come on), deliveries before pickups where the instance says so, the time
windows of stops and vehicles, and the shortest possible route duration
(departure as late as the windows allow) against the vehicle's maximum.

Solvers work on integers (`scale × value`) that hold the convention's values
exactly; only floating-point noise (a millionth) is tolerated.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from egide.benchmarks.routing.instance import FloatArray, Instance


@dataclass(frozen=True)
class PlannedRoute:
    """One vehicle's stops in order (location indices), between its base and back."""

    vehicle_type: int
    stops: tuple[int, ...]


@dataclass(frozen=True)
class Verdict:
    """What the checker found: feasibility, recomputed cost and the first violations."""

    feasible: bool
    cost: float
    distance: float
    routes: int
    served: int
    unserved_required: int
    unserved_priority: int
    unserved_prizes: int
    violations: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        return {
            "feasible": self.feasible,
            "cost": round(self.cost, 4),
            "distance": round(self.distance, 4),
            "routes": self.routes,
            "served": self.served,
            "unserved_required": self.unserved_required,
            "unserved_priority": self.unserved_priority,
            "unserved_prizes": self.unserved_prizes,
            "violations": list(self.violations),
        }


def check(instance: Instance, routes: list[PlannedRoute], max_reported: int = 10) -> Verdict:
    """Replay `routes` on `instance`; the cost is fixed + per-distance costs + unserved prizes."""
    dist = instance.distances()
    dur = instance.durations()
    problems: list[str] = []
    visits: Counter[int] = Counter()
    used: Counter[int] = Counter()
    cost = 0.0
    distance = 0.0
    for number, route in enumerate(routes):
        where = f"route {number + 1}"
        if not 0 <= route.vehicle_type < len(instance.vehicle_types):
            problems.append(f"{where}: unknown vehicle type {route.vehicle_type}")
            continue
        if not route.stops:
            continue
        bad = [s for s in route.stops if not instance.num_depots <= s < instance.size]
        if bad:
            problems.append(f"{where}: {bad} are not stops")
            continue
        vehicle = instance.vehicle_types[route.vehicle_type]
        used[route.vehicle_type] += 1
        visits.update(route.stops)
        path = [vehicle.depot, *route.stops, vehicle.depot]
        length = float(sum(dist[a, b] for a, b in pairwise(path)))
        distance += length
        cost += vehicle.fixed_cost + vehicle.unit_distance_cost * length
        problems += [f"{where}: {p}" for p in _load_problems(instance, route, vehicle.capacity)]
        problems += [f"{where}: {p}" for p in _time_problems(instance, route, dur)]

    for type_index, count in used.items():
        vehicle = instance.vehicle_types[type_index]
        if count > vehicle.count:
            problems.append(f"{count} routes of {vehicle.name}, only {vehicle.count} available")
    problems += [f"stop {s} visited {n} times" for s, n in visits.items() if n > 1]
    unserved = [s for s in instance.stops if visits[s] == 0]
    missing_required = [s for s in unserved if instance.required[s]]
    problems += [f"required stop {s} not served" for s in missing_required]
    prizes = int(sum(int(instance.prize[s]) for s in unserved if not instance.required[s]))
    priority = instance.priority
    return Verdict(
        feasible=not problems,
        cost=cost + prizes,
        distance=distance,
        routes=sum(used.values()),
        served=sum(1 for s in instance.stops if visits[s] > 0),
        unserved_required=len(missing_required),
        unserved_priority=sum(1 for s in unserved if priority is not None and priority[s]),
        unserved_prizes=prizes,
        violations=tuple(problems[:max_reported]),
    )


def _load_problems(instance: Instance, route: PlannedRoute, capacity: tuple[int, ...]) -> list[str]:
    problems = []
    stops = list(route.stops)
    cap = np.asarray(capacity, dtype=np.int64)
    # Everything to deliver is on board at departure; pickups come on as they are served.
    load = instance.delivery[stops].sum(axis=0)
    peak = load.copy()
    for s in stops:
        load = load - instance.delivery[s] + instance.pickup[s]
        peak = np.maximum(peak, load)
    for dim in np.flatnonzero(peak > cap):
        problems.append(f"load {int(peak[dim])} exceeds capacity {int(cap[dim])} (dimension {dim})")
    if instance.linehaul_first:
        is_pickup = [bool(instance.pickup[s].any()) for s in stops]
        if is_pickup[0]:
            problems.append("starts with a pickup (backhaul-only start)")
        if any(p and not q for p, q in pairwise(is_pickup)):
            problems.append("a delivery follows a pickup")
    return problems


def _time_problems(instance: Instance, route: PlannedRoute, dur: FloatArray) -> list[str]:
    vehicle = instance.vehicle_types[route.vehicle_type]
    stops = list(route.stops)
    depot = vehicle.depot
    tol = 1e-6
    # Latest departure that keeps every window (backward pass): it gives the shortest duration.
    latest = vehicle.tw_late
    nxt = depot
    for s in reversed(stops):
        latest = min(float(instance.tw[s, 1]), latest - dur[s, nxt] - instance.service[s])
        nxt = s
    departure = vehicle.tw_early
    if math.isfinite(latest):
        departure = max(vehicle.tw_early, min(vehicle.tw_late, latest - dur[depot, nxt]))
    problems = []
    t = departure
    here = depot
    for s in stops:
        arrival = t + dur[here, s]
        if arrival > instance.tw[s, 1] + tol:
            problems.append(f"stop {s} reached at {arrival:.3f}, window closes {instance.tw[s, 1]}")
        t = max(arrival, float(instance.tw[s, 0])) + instance.service[s]
        here = s
    back = t + dur[here, depot]
    if back > vehicle.tw_late + tol:
        problems.append(f"back at base at {back:.3f}, after {vehicle.tw_late}")
    if back - departure > vehicle.max_duration + tol:
        problems.append(f"lasts {back - departure:.1f}, over the maximum {vehicle.max_duration}")
    return problems
