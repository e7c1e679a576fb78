"""Synthetic military-style supply problems, for benchmarks and tests (never real data).

Units scattered over a theatre around a few depots, three load dimensions, a share of
priority units with tight windows, some optional requests, and a mixed fleet of tankers,
cargo trucks and light vehicles at every depot. The same seed gives the same problem.
"""

from __future__ import annotations

import random

from egide.planning.model import (
    Demand,
    Depot,
    Location,
    Problem,
    TimeWindow,
    VehicleType,
)

DIMENSIONS = ("fuel", "water", "ammunition")


def military_instance(stops: int = 500, depots: int = 3, seed: int = 0) -> Problem:
    """A feasible-looking problem with `stops` demands around `depots` depots (lat/lon)."""
    rng = random.Random(seed)
    centre_lat, centre_lon = 48.5, 7.5
    bases = tuple(
        Depot(
            id=f"DEP{k + 1}",
            location=Location(
                x=centre_lon + rng.uniform(-0.6, 0.6), y=centre_lat + rng.uniform(-0.4, 0.4)
            ),
            window=TimeWindow(0, 1440),
        )
        for k in range(depots)
    )
    demands = []
    for k in range(stops):
        base = rng.choice(bases)
        where = Location(
            x=base.location.x + rng.gauss(0, 0.25), y=base.location.y + rng.gauss(0, 0.18)
        )
        priority = rng.random() < 0.15
        optional = not priority and rng.random() < 0.1
        if rng.random() < 0.5:
            quantities = {"fuel": float(rng.randint(200, 1500))}
        else:
            quantities = {
                "water": float(rng.randint(100, 800)),
                "ammunition": float(rng.randint(0, 20)),
            }
        start = float(rng.randint(0, 600)) if priority else 0.0
        demands.append(
            Demand(
                id=f"U{k + 1:04d}",
                location=where,
                quantities=quantities,
                window=TimeWindow(start, start + 240) if priority else TimeWindow(0, 1200),
                service_time=float(rng.choice([10, 15, 20, 30])),
                priority=priority,
                optional=optional,
                prize=200.0 if optional else 0.0,
            )
        )
    fleet_size = max(2, stops // (8 * depots))
    vehicles = []
    for base in bases:
        vehicles += [
            VehicleType(id=f"{base.id}-TANKER", start_depot=base.id, count=fleet_size,
                        capacity={"fuel": 8000.0}, fixed_cost=300, cost_per_distance=2.5,
                        max_duration=720),
            VehicleType(id=f"{base.id}-CARGO", start_depot=base.id, count=fleet_size,
                        capacity={"water": 4000.0, "ammunition": 120.0, "fuel": 500.0},
                        fixed_cost=250, cost_per_distance=2.0, max_duration=720),
            VehicleType(id=f"{base.id}-LIGHT", start_depot=base.id, count=2,
                        capacity={"water": 1000.0, "ammunition": 40.0, "fuel": 1500.0},
                        fixed_cost=100, cost_per_distance=1.2, max_distance=300,
                        max_duration=600),
        ]  # fmt: skip
    return Problem(
        name=f"military-{stops}-{seed}",
        dimensions=DIMENSIONS,
        depots=bases,
        demands=tuple(demands),
        vehicles=tuple(vehicles),
        coordinates="latlon",
        speed=40.0,
    )
