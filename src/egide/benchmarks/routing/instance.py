"""Routing instances as the benchmark's solvers and checker see them, independent of any solver.

An `Instance` holds what a route plan must respect, in the instance's own units
and distance convention. Solomon instances follow the DIMACS convention: each
Euclidean distance (and travel time) is truncated to one decimal — RC208's
best-known 776.1 is the sum of its routes' truncated distances (unrounded, the
same routes measure 778.93). TSPLIB/CVRPLIB instances round each distance to the
nearest integer (`nint`). Both solvers get the same integer matrices,
`scale × value` (10 for DIMACS, 1 for nint), which hold the convention's values
exactly; the checker recomputes every distance from the coordinates.

The VRPLIB files are parsed with the `vrplib` package; PyVRP reads the same
files with its own reader (`egide.benchmarks.routing.solvers`), so a reader
mistake on either side shows up as a checker failure.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

Convention = Literal["dimacs", "nint"]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
UNBOUNDED = math.inf


@dataclass(frozen=True)
class VehicleType:
    """Identical vehicles based at one depot."""

    name: str
    count: int
    capacity: tuple[int, ...]
    depot: int
    fixed_cost: int = 0
    unit_distance_cost: int = 1
    tw_early: float = 0.0
    tw_late: float = UNBOUNDED
    max_duration: float = UNBOUNDED


@dataclass(frozen=True)
class Instance:
    """A routing problem: locations `0..num_depots-1` are depots, the rest are stops.

    `prize[i]` is what leaving optional stop `i` unserved costs (a priority stop's
    prize is larger than any route). `linehaul_first` is the VRP with backhauls:
    on each route every delivery stop comes before every pickup stop, and a route
    cannot hold pickups only.
    """

    name: str
    kind: str
    coords: FloatArray
    num_depots: int
    delivery: IntArray
    pickup: IntArray
    service: FloatArray
    tw: FloatArray
    required: npt.NDArray[np.bool_]
    prize: IntArray
    vehicle_types: tuple[VehicleType, ...]
    convention: Convention
    scale: int
    minutes_per_unit: float = 1.0
    linehaul_first: bool = False
    priority: npt.NDArray[np.bool_] | None = None
    bks: float | None = None
    bks_source: str = ""
    source: Path | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def size(self) -> int:
        return int(self.coords.shape[0])

    @property
    def stops(self) -> range:
        return range(self.num_depots, self.size)

    @property
    def dimensions(self) -> int:
        return int(self.delivery.shape[1])

    def priority_bar(self) -> float | None:
        """A cost under which a plan serves every priority stop, or None without priorities.

        The smallest priority penalty: it holds as long as everything else a plan
        costs (routes, routine prizes) stays under it, which the generator ensures.
        """
        if self.priority is None or not self.priority.any():
            return None
        return float(self.prize[self.priority].min())

    def distances(self) -> FloatArray:
        """Distances in the instance's own convention (what costs are counted in)."""
        return apply_convention(euclidean(self.coords), self.convention)

    def durations(self) -> FloatArray:
        """Travel times, in the instance's time unit."""
        return apply_convention(euclidean(self.coords) * self.minutes_per_unit, self.convention)

    def scaled(self, values: FloatArray | float) -> IntArray:
        """Values as the solvers' integers: `round(scale × value)`, unbounded kept huge."""
        array = np.asarray(values, dtype=np.float64) * self.scale
        array = np.where(np.isinf(array), float(2**40), array)
        return np.round(array).astype(np.int64)


def euclidean(coords: FloatArray) -> FloatArray:
    diff = coords[:, None, :] - coords[None, :, :]
    return np.asarray(np.sqrt((diff**2).sum(axis=-1)), dtype=np.float64)


def apply_convention(values: FloatArray, convention: Convention) -> FloatArray:
    if convention == "nint":
        # TSPLIB's nint: half up, not numpy's half to even.
        return np.floor(values + 0.5)
    # DIMACS: truncated to one decimal, as PyVRP's round_func="dimacs" does (in tenths).
    return np.trunc(values * 10) / 10


def read_vrplib(
    path: Path,
    *,
    bks: float | None,
    bks_source: str,
    vehicles: int | None = None,
) -> Instance:
    """A Solomon (`.txt`/`.vrp` with TIME_WINDOW_SECTION), CVRP or VRPB file in VRPLIB form."""
    import vrplib

    data = vrplib.read_instance(str(path))
    coords = np.asarray(data["node_coord"], dtype=np.float64)
    n = coords.shape[0]
    depots = np.atleast_1d(np.asarray(data.get("depot", [0])))
    if list(depots) != list(range(len(depots))):
        raise ValueError(f"{path.name}: depots must be the first locations")
    num_depots = len(depots)
    kind = str(data.get("type", "CVRP")).upper()
    delivery = np.asarray(data.get("demand", np.zeros(n)), dtype=np.int64).reshape(n, 1)
    pickup = np.asarray(data.get("backhaul", np.zeros(n)), dtype=np.int64).reshape(n, 1)
    service_raw = data.get("service_time", 0)
    service = np.broadcast_to(np.asarray(service_raw, dtype=np.float64), (n,)).copy()
    service[:num_depots] = 0
    if "time_window" in data:
        tw = np.asarray(data["time_window"], dtype=np.float64)
    else:
        tw = np.tile(np.array([0.0, UNBOUNDED]), (n, 1))
    solomon = "time_window" in data
    convention: Convention = "dimacs" if solomon else "nint"
    count = vehicles or int(data.get("vehicles", n - num_depots))
    vehicle_type = VehicleType(
        name="vehicle",
        count=count,
        capacity=(int(data["capacity"]),),
        depot=0,
        tw_early=float(tw[0, 0]),
        tw_late=float(tw[0, 1]),
    )
    return Instance(
        name=path.stem,
        kind=kind,
        coords=coords,
        num_depots=num_depots,
        delivery=delivery,
        pickup=pickup,
        service=service,
        tw=tw,
        required=np.ones(n, dtype=bool),
        prize=np.zeros(n, dtype=np.int64),
        vehicle_types=(vehicle_type,),
        convention=convention,
        # Solomon (DIMACS) values are tenths: the solvers work in tenths, exactly.
        scale=10 if solomon else 1,
        linehaul_first=kind == "VRPB",
        bks=bks,
        bks_source=bks_source,
        source=path,
    )


def read_bks(csv_path: Path, name: str) -> float | None:
    """The best-known cost of `name` in vrplib's `bks-instance_data.csv`, if listed."""
    if not csv_path.is_file():
        return None
    for line in csv_path.read_text(encoding="utf-8").splitlines():
        cells = line.split(",")
        if cells and cells[0] == name and len(cells) > 4 and cells[4]:
            return float(cells[4])
    return None


def vehicles_from_name(name: str) -> int | None:
    """The `k` of a CVRPLIB name such as E-n22-k4 (the fleet the optimum uses)."""
    match = re.search(r"-k(\d+)$", name)
    return int(match.group(1)) if match else None
