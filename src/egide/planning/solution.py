"""A routing plan as plain values: routes, stops, unserved demands, costs and assumptions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["complete", "partial"]


@dataclass(frozen=True)
class Stop:
    """One visit: when the vehicle arrives, starts and ends service, and what is left on board."""

    demand: str
    arrival: float
    start: float
    departure: float
    delivered: Mapping[str, float]
    picked_up: Mapping[str, float]
    load_after: Mapping[str, float]


@dataclass(frozen=True)
class Route:
    """One vehicle's tour from its start depot to its end depot."""

    vehicle: str
    vehicle_type: str
    start_depot: str
    end_depot: str
    departure: float
    arrival: float
    initial_load: Mapping[str, float]
    stops: tuple[Stop, ...]
    distance: float
    cost: float

    @property
    def duration(self) -> float:
        """Minutes from leaving the start depot to reaching the end depot."""
        return self.arrival - self.departure


@dataclass(frozen=True)
class Unserved:
    """A demand the plan does not serve, and why (`code` is machine-readable)."""

    demand: str
    code: str
    reason: str
    priority: bool = False
    optional: bool = False


@dataclass(frozen=True)
class Transfer:
    """Stock moved from one depot to another before the routes load."""

    source: str
    target: str
    dimension: str
    quantity: float
    cost: float


@dataclass(frozen=True)
class Solution:
    """The engine's answer: routes, what is left out and why, costs, solver facts, assumptions."""

    status: Status
    cost: float
    cost_breakdown: Mapping[str, float]
    routes: tuple[Route, ...]
    unserved: tuple[Unserved, ...]
    solver: Mapping[str, Any]
    assumptions: tuple[str, ...]
    lower_bound: float | None = None
    gap_to_bound: float | None = None
    bound_note: str = "unknown: the solver is a heuristic and proves no lower bound"
    transfers: tuple[Transfer, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: plain dicts, lists, strings and numbers."""
        data = asdict(self)
        data["routes"] = [
            {**route, "duration": r.duration}
            for route, r in zip(data["routes"], self.routes, strict=True)
        ]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Solution:
        """Rebuild a solution from its JSON form (as written by `to_dict`)."""
        routes = tuple(
            Route(
                vehicle=str(r["vehicle"]),
                vehicle_type=str(r["vehicle_type"]),
                start_depot=str(r["start_depot"]),
                end_depot=str(r["end_depot"]),
                departure=float(r["departure"]),
                arrival=float(r["arrival"]),
                initial_load=_amounts(r["initial_load"]),
                stops=tuple(
                    Stop(
                        demand=str(s["demand"]),
                        arrival=float(s["arrival"]),
                        start=float(s["start"]),
                        departure=float(s["departure"]),
                        delivered=_amounts(s["delivered"]),
                        picked_up=_amounts(s["picked_up"]),
                        load_after=_amounts(s["load_after"]),
                    )
                    for s in r["stops"]
                ),
                distance=float(r["distance"]),
                cost=float(r["cost"]),
            )
            for r in data["routes"]
        )
        return cls(
            status="partial" if data["status"] == "partial" else "complete",
            cost=float(data["cost"]),
            cost_breakdown=_amounts(data["cost_breakdown"]),
            routes=routes,
            unserved=tuple(
                Unserved(
                    demand=str(u["demand"]),
                    code=str(u["code"]),
                    reason=str(u["reason"]),
                    priority=bool(u.get("priority", False)),
                    optional=bool(u.get("optional", False)),
                )
                for u in data["unserved"]
            ),
            solver=dict(data["solver"]),
            assumptions=tuple(str(a) for a in data["assumptions"]),
            lower_bound=None if data.get("lower_bound") is None else float(data["lower_bound"]),
            gap_to_bound=None if data.get("gap_to_bound") is None else float(data["gap_to_bound"]),
            bound_note=str(data.get("bound_note", "")),
            transfers=tuple(
                Transfer(
                    source=str(t["source"]),
                    target=str(t["target"]),
                    dimension=str(t["dimension"]),
                    quantity=float(t["quantity"]),
                    cost=float(t["cost"]),
                )
                for t in data.get("transfers", ())
            ),
        )

    def served(self) -> dict[str, tuple[str, int]]:
        """Demand id to (vehicle, position in its route)."""
        return {
            stop.demand: (route.vehicle, k)
            for route in self.routes
            for k, stop in enumerate(route.stops)
        }


def _amounts(data: Mapping[str, Any]) -> dict[str, float]:
    return {str(k): float(v) for k, v in data.items()}
