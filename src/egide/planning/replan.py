"""Re-planning: change demands or lose vehicles, re-solve from the last plan, show the difference.

The new search starts from the previous routes (stops matched by demand id, the lost
vehicles' routes removed), so a small change tends to give a plan close to the one people
already know. The diff lists the stops that changed vehicle, the routes that changed, what
became served or unserved, and the cost delta.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from egide.errors import InvalidInput
from egide.planning.model import Problem
from egide.planning.solution import Solution
from egide.planning.solver import solve


@dataclass(frozen=True)
class Changes:
    """What happened since the last plan."""

    quantities: Mapping[str, Mapping[str, float]] = dataclasses.field(default_factory=dict)
    dropped: Sequence[str] = ()
    lost_vehicles: Sequence[str] = ()


@dataclass(frozen=True)
class Diff:
    """How the new plan differs from the previous one."""

    cost_before: float
    cost_after: float
    moved: tuple[tuple[str, str | None, str | None], ...]
    changed_routes: tuple[str, ...]
    newly_unserved: tuple[str, ...]
    newly_served: tuple[str, ...]

    @property
    def cost_delta(self) -> float:
        """New cost minus previous cost."""
        return self.cost_after - self.cost_before

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "cost_before": self.cost_before,
            "cost_after": self.cost_after,
            "cost_delta": self.cost_delta,
            "moved": [{"demand": d, "from": a, "to": b} for d, a, b in self.moved],
            "changed_routes": list(self.changed_routes),
            "newly_unserved": list(self.newly_unserved),
            "newly_served": list(self.newly_served),
        }


def apply_changes(problem: Problem, changes: Changes) -> Problem:
    """The problem after the changes; unknown ids and dimensions are refused by name."""
    ids = {d.id for d in problem.demands}
    for demand_id in [*changes.quantities, *changes.dropped]:
        if demand_id not in ids:
            raise InvalidInput(f"no demand {demand_id!r} in the plan's problem")
    for demand_id, amounts in changes.quantities.items():
        for dim, value in amounts.items():
            if dim not in problem.dimensions:
                raise InvalidInput(
                    f"demand {demand_id}: unknown dimension {dim!r} "
                    f"({', '.join(problem.dimensions)})"
                )
            if value < 0:
                raise InvalidInput(f"demand {demand_id}: {dim} must not be negative")
    lost: dict[str, int] = {}
    names = {name: v.id for v in problem.vehicles for name in v.vehicle_ids()}
    for name in changes.lost_vehicles:
        if name not in names:
            raise InvalidInput(f"no vehicle {name!r}; vehicles: {', '.join(names)}")
        lost[names[name]] = lost.get(names[name], 0) + 1
    demands = tuple(
        dataclasses.replace(d, quantities={**d.quantities, **changes.quantities.get(d.id, {})})
        for d in problem.demands
        if d.id not in set(changes.dropped)
    )
    vehicles = tuple(
        dataclasses.replace(v, count=v.count - lost.get(v.id, 0)) for v in problem.vehicles
    )
    matrix = problem.matrix
    if matrix is not None and changes.dropped:
        keep = [k for k, ident in enumerate(problem.location_ids()) if ident not in changes.dropped]
        matrix = dataclasses.replace(
            matrix,
            distance=tuple(tuple(matrix.distance[i][j] for j in keep) for i in keep),
            duration=None
            if matrix.duration is None
            else tuple(tuple(matrix.duration[i][j] for j in keep) for i in keep),
        )
    return dataclasses.replace(problem, demands=demands, vehicles=vehicles, matrix=matrix)


def replan(
    problem: Problem,
    previous: Solution,
    changes: Changes,
    time_limit: float = 10.0,
    seed: int = 0,
    max_iterations: int | None = None,
) -> tuple[Problem, Solution, Diff]:
    """Apply `changes`, re-solve warm-started from `previous`, and compare."""
    changed = apply_changes(problem, changes)
    lost = set(changes.lost_vehicles)
    start = dataclasses.replace(
        previous, routes=tuple(r for r in previous.routes if r.vehicle not in lost)
    )
    solution = solve(
        changed, time_limit=time_limit, seed=seed, initial=start, max_iterations=max_iterations
    )
    solution = _keep_names(problem, solution, start, lost)
    return changed, solution, diff(previous, solution)


def _keep_names(problem: Problem, new: Solution, old: Solution, lost: set[str]) -> Solution:
    """Give each new route the name of the surviving vehicle whose stops it shares most."""
    renamed = []
    taken: set[str] = set()
    for vehicle in problem.vehicles:
        spare = [n for n in vehicle.vehicle_ids() if n not in lost]
        before = {
            r.vehicle: {s.demand for s in r.stops}
            for r in old.routes
            if r.vehicle_type == vehicle.id
        }
        routes = [r for r in new.routes if r.vehicle_type == vehicle.id]
        pairs = sorted(
            (
                (len({s.demand for s in r.stops} & stops), k, name)
                for k, r in enumerate(routes)
                for name, stops in before.items()
            ),
            reverse=True,
        )
        names: dict[int, str] = {}
        for overlap, k, name in pairs:
            if overlap and k not in names and name not in taken:
                names[k] = name
                taken.add(name)
        for k in range(len(routes)):
            if k not in names:
                names[k] = next(n for n in spare if n not in taken)
                taken.add(names[k])
        renamed += [dataclasses.replace(r, vehicle=names[k]) for k, r in enumerate(routes)]
    return dataclasses.replace(new, routes=tuple(renamed))


def diff(previous: Solution, new: Solution) -> Diff:
    """Compare two plans of (nearly) the same problem."""
    before, after = previous.served(), new.served()
    moved = tuple(
        (d, before.get(d, (None, 0))[0], after.get(d, (None, 0))[0])
        for d in sorted(set(before) | set(after))
        if before.get(d, (None, 0))[0] != after.get(d, (None, 0))[0]
    )
    old_routes = {r.vehicle: [s.demand for s in r.stops] for r in previous.routes}
    new_routes = {r.vehicle: [s.demand for s in r.stops] for r in new.routes}
    changed = tuple(
        sorted(
            v for v in set(old_routes) | set(new_routes) if old_routes.get(v) != new_routes.get(v)
        )
    )
    old_unserved = {u.demand for u in previous.unserved}
    new_unserved = {u.demand for u in new.unserved}
    return Diff(
        cost_before=previous.cost,
        cost_after=new.cost,
        moved=moved,
        changed_routes=changed,
        newly_unserved=tuple(sorted(new_unserved - old_unserved)),
        newly_served=tuple(sorted(old_unserved - new_unserved)),
    )
