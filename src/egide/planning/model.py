"""The routing problem as plain values: depots, demands, a fleet, and how far things are.

A `Problem` is pure data (frozen dataclasses) with a JSON form that follows the published
schema (`schema.json`, `egide plan schema`). It knows nothing of the solver: the same value
feeds the solver, the feasibility checks, the independent validator and the map.

Units, stated once: times are minutes from the start of the plan; for `latlon` problems
distances are kilometres (great-circle) and travel time is distance / `speed` (km/h); for `xy`
problems distances are Euclidean in the coordinates' own unit and `speed` is that unit per
minute (1 by default, the VRPLIB convention that travel time equals distance).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, cast

import numpy as np

Coordinates = Literal["xy", "latlon"]
Rounding = Literal["none", "round", "dimacs"]
EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class Location:
    """A point: `x`/`y` in the plane, or `lon`/`lat` (stored as x = lon, y = lat) in degrees."""

    x: float
    y: float


@dataclass(frozen=True)
class TimeWindow:
    """When service may start, in minutes from the plan's start; `end` None means open."""

    start: float = 0.0
    end: float | None = None


@dataclass(frozen=True)
class Depot:
    """Where vehicles load and return; `stock` is what it holds per load dimension, if known."""

    id: str
    location: Location
    window: TimeWindow = TimeWindow()
    stock: Mapping[str, float] = field(default_factory=dict)
    name: str = ""


@dataclass(frozen=True)
class Demand:
    """A unit or point to supply: what it needs per dimension, when, and how much it matters.

    `priority` demands must be served whenever it is possible at all; `optional` demands are
    served only when their `prize` is worth the extra cost. `pickup` is what the vehicle
    collects there (empties, casualties' kit, backhaul), counted against its capacity.
    """

    id: str
    location: Location
    quantities: Mapping[str, float] = field(default_factory=dict)
    pickup: Mapping[str, float] = field(default_factory=dict)
    window: TimeWindow = TimeWindow()
    service_time: float = 0.0
    priority: bool = False
    optional: bool = False
    prize: float = 0.0
    name: str = ""


@dataclass(frozen=True)
class VehicleType:
    """`count` identical vehicles: capacity per dimension, costs, limits, start and end depot."""

    id: str
    start_depot: str
    capacity: Mapping[str, float]
    count: int = 1
    end_depot: str | None = None
    fixed_cost: float = 0.0
    cost_per_distance: float = 1.0
    max_distance: float | None = None
    max_duration: float | None = None
    name: str = ""

    @property
    def return_depot(self) -> str:
        """Where the vehicle ends its route (its start depot unless told otherwise)."""
        return self.end_depot or self.start_depot

    def vehicle_ids(self) -> list[str]:
        """The names of the individual vehicles: the type's id, or `id#k` when there are several."""
        if self.count == 1:
            return [self.id]
        return [f"{self.id}#{k}" for k in range(1, self.count + 1)]


@dataclass(frozen=True)
class Matrix:
    """Given travel distances and (optionally) durations between locations.

    Rows and columns follow `Problem.location_ids()`: the depots, then the demands, in order.
    """

    distance: tuple[tuple[float, ...], ...]
    duration: tuple[tuple[float, ...], ...] | None = None


@dataclass(frozen=True)
class Problem:
    """A complete routing problem: the input of the solver, the validator and the map."""

    dimensions: tuple[str, ...]
    depots: tuple[Depot, ...]
    demands: tuple[Demand, ...]
    vehicles: tuple[VehicleType, ...]
    coordinates: Coordinates = "xy"
    speed: float = 1.0
    rounding: Rounding = "none"
    matrix: Matrix | None = None
    name: str = ""

    def location_ids(self) -> list[str]:
        """Depot ids then demand ids: the order of every matrix."""
        return [d.id for d in self.depots] + [d.id for d in self.demands]

    def locations(self) -> list[Location]:
        """Depot locations then demand locations."""
        return [d.location for d in self.depots] + [d.location for d in self.demands]

    def depot(self, depot_id: str) -> Depot:
        """The depot with this id."""
        for depot in self.depots:
            if depot.id == depot_id:
                return depot
        raise KeyError(depot_id)

    def index(self) -> dict[str, int]:
        """Location id to matrix index."""
        return {ident: k for k, ident in enumerate(self.location_ids())}

    def distances(self) -> list[list[float]]:
        """The full distance matrix: given, or computed from the coordinates (do not mutate)."""
        return self._distance_rows

    def durations(self) -> list[list[float]]:
        """Travel minutes between locations: given, or distance / speed (do not mutate)."""
        return self._duration_rows

    # Computed once per problem (a frozen value): solver, checks and validator all read them.
    @cached_property
    def _distance_rows(self) -> list[list[float]]:
        if self.matrix is not None:
            return [list(row) for row in self.matrix.distance]
        rows = _rounded(_pairwise(self.locations(), self.coordinates), self.rounding).tolist()
        return cast(list[list[float]], rows)

    @cached_property
    def _duration_rows(self) -> list[list[float]]:
        if self.matrix is not None and self.matrix.duration is not None:
            return [list(row) for row in self.matrix.duration]
        per_minute = self.speed / 60.0 if self.coordinates == "latlon" else self.speed
        rows = (np.asarray(self._distance_rows, dtype=float) / per_minute).tolist()
        return cast(list[list[float]], rows)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see `schema.json`)."""
        from egide.planning.codec import problem_to_dict

        return problem_to_dict(self)


def euclidean(a: Location, b: Location) -> float:
    """Straight-line distance in the plane."""
    return math.hypot(a.x - b.x, a.y - b.y)


def haversine_km(a: Location, b: Location) -> float:
    """Great-circle distance in kilometres between two (lon = x, lat = y) points."""
    lat1, lat2 = math.radians(a.y), math.radians(b.y)
    dlat = lat2 - lat1
    dlon = math.radians(b.x - a.x)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _pairwise(points: list[Location], coordinates: Coordinates) -> Any:
    """All distances at once: `haversine_km` or `euclidean`, vectorised."""
    x = np.array([p.x for p in points], dtype=float)
    y = np.array([p.y for p in points], dtype=float)
    if coordinates != "latlon":
        return np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    lat, lon = np.radians(y), np.radians(x)
    h = (
        np.sin((lat[None, :] - lat[:, None]) / 2) ** 2
        + np.cos(lat)[:, None]
        * np.cos(lat)[None, :]
        * np.sin((lon[None, :] - lon[:, None]) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))


def _rounded(values: Any, rounding: Rounding) -> Any:
    # TSPLIB's EUC_2D rounds to the nearest integer; DIMACS truncates to one decimal.
    if rounding == "round":
        return np.floor(values + 0.5)
    if rounding == "dimacs":
        return np.floor(values * 10) / 10
    return values
