"""Feasibility checks before solving: which constraint cannot be met, and by how much.

Each demand is tried alone against every vehicle type (capacity per dimension, its time
window from the vehicle's depot, range, route duration); the fleet is checked as a whole for
priority demand. A demand no vehicle can serve even alone cannot be in any plan: for a
required or priority demand that is a contradiction to report, never a demand to drop quietly.
"""

from __future__ import annotations

from dataclasses import dataclass

from egide.errors import Infeasible
from egide.planning.model import Demand, Problem, VehicleType

TOLERANCE = 1e-6


@dataclass(frozen=True)
class Issue:
    """One constraint that cannot be met: `code` for machines, `message` for the operator."""

    code: str
    subject: str
    message: str
    amount: float = 0.0


def _fmt(value: float) -> str:
    return f"{value:.10g}" if value == int(value) else f"{value:.2f}"


def _violations(
    problem: Problem,
    demand: Demand,
    vehicle: VehicleType,
    dist: list[list[float]],
    dur: list[list[float]],
    index: dict[str, int],
) -> dict[str, tuple[float, str]]:
    """Constraint kind -> (amount missed, detail) for one demand served alone by one vehicle."""
    found: dict[str, tuple[float, str]] = {}
    for dim in problem.dimensions:
        need = max(demand.quantities.get(dim, 0.0), demand.pickup.get(dim, 0.0))
        room = vehicle.capacity.get(dim, 0.0)
        if need > room + TOLERANCE:
            found[f"capacity:{dim}"] = (need - room, _fmt(room))
    start, end = index[vehicle.start_depot], index[vehicle.return_depot]
    here = index[demand.id]
    open_at = problem.depot(vehicle.start_depot).window.start
    arrival = open_at + dur[start][here]
    close = demand.window.end
    if close is not None and arrival > close + TOLERANCE:
        found["window"] = (arrival - close, _fmt(arrival))
    service_start = max(arrival, demand.window.start)
    back = service_start + demand.service_time + dur[here][end]
    depot_close = problem.depot(vehicle.return_depot).window.end
    if depot_close is not None and back > depot_close + TOLERANCE:
        found["return"] = (back - depot_close, _fmt(back))
    distance = dist[start][here] + dist[here][end]
    if vehicle.max_distance is not None and distance > vehicle.max_distance + TOLERANCE:
        found["range"] = (distance - vehicle.max_distance, _fmt(distance))
    duration = dur[start][here] + demand.service_time + dur[here][end]
    if vehicle.max_duration is not None and duration > vehicle.max_duration + TOLERANCE:
        found["duration"] = (duration - vehicle.max_duration, _fmt(duration))
    return found


def demand_issues(problem: Problem) -> dict[str, list[Issue]]:
    """For each demand that no vehicle can serve even alone, the reasons (with amounts)."""
    dist, dur, index = problem.distances(), problem.durations(), problem.index()
    distance_unit = "km" if problem.coordinates == "latlon" else "distance units"
    fleet = [v for v in problem.vehicles if v.count > 0]
    issues: dict[str, list[Issue]] = {}
    for demand in problem.demands:
        found: list[Issue] = []
        w = demand.window
        if w.end is not None and w.end < w.start:
            found.append(
                Issue(
                    "window_reversed",
                    demand.id,
                    f"demand {demand.id}: its window ends at {_fmt(w.end)} min, before it opens "
                    f"at {_fmt(w.start)} min (by {_fmt(w.start - w.end)} min)",
                    w.start - w.end,
                )
            )
            issues[demand.id] = found
            continue
        if not fleet:
            issues[demand.id] = [
                Issue("no_vehicle", demand.id, f"demand {demand.id}: the fleet has no vehicle")
            ]
            continue
        per_vehicle = {v.id: _violations(problem, demand, v, dist, dur, index) for v in fleet}
        if any(not v for v in per_vehicle.values()):
            continue
        kinds = set.intersection(*(set(v) for v in per_vehicle.values()))
        for kind in sorted(kinds):
            amount = min(per_vehicle[v][kind][0] for v in per_vehicle)
            found.append(
                Issue(
                    kind.split(":")[0],
                    demand.id,
                    _message(demand, kind, amount, distance_unit),
                    amount,
                )
            )
        if not kinds:
            detail = "; ".join(
                f"{v}: " + ", ".join(_short(k, a) for k, (a, _) in sorted(missed.items()))
                for v, missed in per_vehicle.items()
            )
            found.append(
                Issue(
                    "no_single_vehicle",
                    demand.id,
                    f"demand {demand.id}: no vehicle type meets every constraint at once "
                    f"({detail}); a demand travels whole on one vehicle: split it into one "
                    "demand per kind of vehicle if different vehicles carry its supplies",
                )
            )
        issues[demand.id] = found
    return issues


def _message(demand: Demand, kind: str, amount: float, distance_unit: str) -> str:
    head = f"demand {demand.id}"
    if kind.startswith("capacity:"):
        dim = kind.split(":", 1)[1]
        need = max(demand.quantities.get(dim, 0.0), demand.pickup.get(dim, 0.0))
        return (
            f"{head}: needs {_fmt(need)} {dim}, more than any vehicle carries (by {_fmt(amount)})"
        )
    if kind == "window":
        return (
            f"{head}: its window closes at {_fmt(demand.window.end or 0)} min, before the "
            f"fastest vehicle can arrive from any depot (by {_fmt(amount)} min)"
        )
    if kind == "return":
        return (
            f"{head}: no vehicle can serve it and be back before its depot closes "
            f"(by {_fmt(amount)} min)"
        )
    if kind == "range":
        return (
            f"{head}: the round trip is longer than any vehicle's range "
            f"(by {_fmt(amount)} {distance_unit})"
        )
    return (
        f"{head}: a route serving only it lasts longer than any vehicle's maximum duration "
        f"(by {_fmt(amount)} min)"
    )


def _short(kind: str, amount: float) -> str:
    return f"{kind} short by {_fmt(amount)}"


def fleet_issues(problem: Problem) -> list[Issue]:
    """Whole-problem contradictions: reversed depot windows, priority demand beyond the fleet."""
    found: list[Issue] = []
    for depot in problem.depots:
        w = depot.window
        if w.end is not None and w.end < w.start:
            found.append(
                Issue(
                    "window_reversed",
                    depot.id,
                    f"depot {depot.id}: its window ends at {_fmt(w.end)} min, before it opens at "
                    f"{_fmt(w.start)} min (by {_fmt(w.start - w.end)} min)",
                    w.start - w.end,
                )
            )
    priority = [d for d in problem.demands if d.priority]
    for dim in problem.dimensions:
        fleet = sum(v.count * v.capacity.get(dim, 0.0) for v in problem.vehicles)
        need = sum(d.quantities.get(dim, 0.0) for d in priority)
        if need > fleet + TOLERANCE:
            found.append(
                Issue(
                    "fleet_capacity",
                    dim,
                    f"total priority demand of {dim} is {_fmt(need)}, more than the whole "
                    f"fleet carries ({_fmt(fleet)}) by {_fmt(need - fleet)}",
                    need - fleet,
                )
            )
    return found


def check(problem: Problem) -> dict[str, list[Issue]]:
    """Raise `Infeasible` for any contradiction that concerns a required or priority demand.

    Returns the issues of optional demands that cannot be served, which the plan reports as
    unserved with these reasons.
    """
    per_demand = demand_issues(problem)
    blocking = [i.message for i in fleet_issues(problem)]
    optional = {d.id for d in problem.demands if d.optional}
    for demand_id, found in per_demand.items():
        if demand_id not in optional:
            blocking += [i.message for i in found]
    if blocking:
        raise Infeasible(
            f"the problem cannot be solved as given: {'; '.join(blocking[:8])}"
            + (f" (and {len(blocking) - 8} more)" if len(blocking) > 8 else ""),
            tuple(blocking),
        )
    return {k: v for k, v in per_demand.items() if k in optional}
