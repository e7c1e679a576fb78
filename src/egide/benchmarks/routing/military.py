"""A seeded military-style supply problem: 500 stops, 3 depots, 3 load dimensions.

A 300 × 300 km area; 25 units (battalion positions) each with a cluster of
supply points around it; three logistic bases. Loads are fuel (hundreds of
litres), water (hundreds of litres) and ammunition (pallets). A fifth of the
stops are priority demands, whose non-service costs more than any route
(`PRIORITY_PENALTY`); the others are optional and carry a prize (what leaving
them unserved costs). 40 % of the stops have a delivery window inside the
12-hour day; every stop takes 15 to 30 minutes to serve. The fleet is
heterogeneous: tankers, cargo trucks and light trucks at each base, with their
own capacities, fixed and per-kilometre costs, and a 10-hour maximum route
duration. Distances are kilometres and times minutes (convoys at 40 km/h),
both rounded to integers.
"""

from __future__ import annotations

import numpy as np

from egide.benchmarks.routing.instance import Instance, VehicleType

PRIORITY_PENALTY = 1_000_000
DAY_MINUTES = 720
MAX_ROUTE_MINUTES = 600
LOADS = ("fuel", "water", "ammunition")
# name, capacity (fuel, water, ammunition), number per base, fixed cost, cost per km
FLEET = (
    ("tanker", (180, 60, 0), 6, 400, 3),
    ("cargo", (40, 80, 30), 8, 300, 2),
    ("light", (20, 30, 10), 6, 150, 1),
)


def military_instance(stops: int = 500, seed: int = 2026, depots: int = 3) -> Instance:
    """The generated problem; the same `stops` and `seed` always give the same instance."""
    if stops < 1 or depots < 1:
        raise ValueError("a military instance needs at least one stop and one depot")
    rng = np.random.default_rng(seed)
    bases = np.array([[50.0, 50.0], [250.0, 80.0], [150.0, 260.0], [40.0, 230.0]])[:depots]
    if depots > len(bases):
        bases = np.vstack([bases, rng.uniform(20, 280, size=(depots - len(bases), 2))])
    bases = bases + rng.normal(0, 5, size=bases.shape)
    units = rng.uniform(20, 280, size=(25, 2))
    cluster = rng.integers(0, len(units), size=stops)
    points = np.clip(units[cluster] + rng.normal(0, 8, size=(stops, 2)), 0, 300)
    coords = np.vstack([bases, points])

    n = depots + stops
    delivery = np.zeros((n, len(LOADS)), dtype=np.int64)
    kind = rng.choice(4, size=stops, p=[0.3, 0.3, 0.2, 0.2])
    for offset, k in enumerate(kind):
        i = depots + offset
        if k == 0:
            delivery[i] = (rng.integers(10, 41), 0, 0)
        elif k == 1:
            delivery[i] = (0, rng.integers(5, 21), 0)
        elif k == 2:
            delivery[i] = (0, 0, rng.integers(2, 9))
        else:
            delivery[i] = (rng.integers(5, 16), rng.integers(3, 11), rng.integers(1, 5))

    priority = np.zeros(n, dtype=bool)
    priority[depots:] = rng.random(stops) < 0.2
    prize = np.zeros(n, dtype=np.int64)
    # A routine stop is worth a few hundred: roughly the detour that serving it costs.
    prize[depots:] = 150 + 12 * delivery[depots:].sum(axis=1)
    prize[priority] = PRIORITY_PENALTY

    tw = np.tile(np.array([0.0, float(DAY_MINUTES)]), (n, 1))
    windowed = np.zeros(n, dtype=bool)
    windowed[depots:] = rng.random(stops) < 0.4
    for stop in np.flatnonzero(windowed):
        width = float(rng.integers(120, 241))
        start = float(rng.integers(60, DAY_MINUTES - int(width)))
        tw[stop] = (start, start + width)
    service = np.zeros(n, dtype=np.float64)
    service[depots:] = rng.integers(15, 31, size=stops)

    vehicle_types = tuple(
        VehicleType(
            name=f"{name}@base{d + 1}",
            count=count,
            capacity=capacity,
            depot=d,
            fixed_cost=fixed,
            unit_distance_cost=per_km,
            tw_early=0.0,
            tw_late=float(DAY_MINUTES),
            max_duration=float(MAX_ROUTE_MINUTES),
        )
        for d in range(depots)
        for name, capacity, count, fixed, per_km in FLEET
    )
    return Instance(
        name=f"military-{stops}",
        kind="military",
        coords=coords,
        num_depots=depots,
        delivery=delivery,
        pickup=np.zeros_like(delivery),
        service=service,
        tw=tw,
        required=np.zeros(n, dtype=bool),
        prize=prize,
        vehicle_types=vehicle_types,
        convention="nint",
        scale=1,
        minutes_per_unit=1.5,
        priority=priority,
        bks=None,
        bks_source="generated instance: no best-known value",
        notes=(
            f"seed {seed}, {depots} bases, {stops} stops ({int(priority.sum())} priority, "
            f"{int(windowed.sum())} with a time window), loads {', '.join(LOADS)}",
        ),
    )
