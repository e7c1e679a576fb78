"""The planning benchmark: PyVRP and OR-Tools side by side at the same limits, every plan checked.

Instances: Solomon RC208 (VRPTW, best known 776.1), E-n22-k4 (CVRP, optimum
375, 4 vehicles), X-n101-50-k13 (VRP with backhauls, Queiroga et al. 2019) and
a generated 500-stop military problem. Each solver runs once per instance and
limit, single-threaded, one after the other (never two solves at once); every
plan goes through the independent checker, whose cost is the one reported.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from egide.benchmarks.routing.check import check
from egide.benchmarks.routing.engine import ENGINE, engine_status, load_names
from egide.benchmarks.routing.instance import Instance, read_bks, read_vrplib, vehicles_from_name
from egide.benchmarks.routing.military import military_instance
from egide.benchmarks.routing.solvers import SOLVERS, solve

VRPLIB = {
    "RC208": ("RC208.vrp", "RC208.sol"),
    "E-n22-k4": ("E-n22-k4.txt", None),
    "X-n101-50-k13": ("X-n101-50-k13.vrp", None),
}
INSTANCES = (*VRPLIB, "military")
LIMITS = (5.0, 30.0, 120.0)
QUICK_LIMITS = (0.5,)
QUICK_MILITARY_STOPS = 60
MACHINE_NOTE = (
    "measured on a 2-core machine shared with other work sessions; each solver single-threaded, "
    "one solve at a time"
)


def load_instances(
    data_dir: Path,
    names: Sequence[str],
    *,
    military_stops: int = 500,
    military_seed: int = 2026,
    references: dict[str, float] | None = None,
) -> list[Instance]:
    """The named instances; a published best-known value where one is known offline."""
    references = references or {}
    out = []
    for name in names:
        if name == "military":
            out.append(military_instance(military_stops, military_seed))
            continue
        if name not in VRPLIB:
            raise ValueError(f"unknown instance {name!r}; choose from {', '.join(INSTANCES)}")
        file, solution = VRPLIB[name]
        path = data_dir / file
        if not path.is_file():
            raise FileNotFoundError(f"no {file} in {data_dir}; pass --data-dir")
        bks, source = _best_known(data_dir, name, solution)
        if name in references:
            bks, source = references[name], "given with --reference"
        vehicles = vehicles_from_name(name) if name.startswith("E-") else None
        out.append(read_vrplib(path, bks=bks, bks_source=source, vehicles=vehicles))
    return out


def _best_known(data_dir: Path, name: str, solution: str | None) -> tuple[float | None, str]:
    if solution and (data_dir / solution).is_file():
        for line in (data_dir / solution).read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("cost"):
                return float(
                    line.split()[1]
                ), f"{solution} (DIMACS convention: distances truncated to 0.1)"
    bks = read_bks(data_dir / "bks-instance_data.csv", name)
    if bks is not None:
        return bks, "bks-instance_data.csv (vrplib)"
    return None, (
        "no published value offline (not in bks-instance_data.csv, no .sol): gap to the best "
        "feasible cost found in this run"
    )


def run(
    instances: Sequence[Instance],
    limits: Sequence[float],
    *,
    solvers: Sequence[str] = SOLVERS,
    seed: int = 1,
    say: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Solve every instance at every limit with every solver; check each plan; the report."""
    load_before = os.getloadavg()
    rows = []
    for instance in instances:
        for limit in limits:
            for solver in solvers:
                if solver == ENGINE and instance.linehaul_first:
                    continue  # the engine has no deliveries-first rule
                say(f"{instance.name}: {solver}, {limit:g} s")
                cpu, wall = time.process_time(), time.perf_counter()
                outcome = solve(solver, instance, limit, seed)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                verdict = check(instance, outcome.routes)
                feasible = bool(outcome.routes) and verdict.feasible
                agrees = outcome.solver_cost is not None and abs(
                    outcome.solver_cost - verdict.cost
                ) <= 1e-6 * max(1.0, verdict.cost)
                rows.append(
                    {
                        "instance": instance.name,
                        "solver": solver,
                        "limit_s": limit,
                        "seconds": round(outcome.seconds, 3),
                        # The share of a core the solver got (model building included).
                        "cpu_share": round(cpu / wall, 2),
                        "load_1min_after": round(os.getloadavg()[0], 2),
                        "first_feasible_s": _round(outcome.first_feasible_s, 4),
                        "first_all_priority_s": _round(outcome.first_complete_s, 4),
                        "iterations": outcome.iterations,
                        "status": outcome.status,
                        "solver_cost": outcome.solver_cost,
                        "cost_agrees": agrees,
                        "gap_pct": None,
                        **verdict.as_dict(),
                        "feasible": feasible,
                    }
                )
    report: dict[str, Any] = {
        "limits_s": list(limits),
        "solvers": list(solvers),
        "seed": seed,
        "instances": [_describe(i) for i in instances],
        "results": rows,
        "engine": engine_status(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "versions": _versions(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "note": MACHINE_NOTE,
        },
    }
    _fill_gaps(report)
    report["goals"] = goals(report)
    return report


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _describe(instance: Instance) -> dict[str, Any]:
    return {
        "name": instance.name,
        "kind": instance.kind,
        "stops": len(instance.stops),
        "depots": instance.num_depots,
        "priority_stops": 0 if instance.priority is None else int(instance.priority.sum()),
        "vehicles": sum(v.count for v in instance.vehicle_types),
        "vehicle_types": len(instance.vehicle_types),
        "load_dimensions": instance.dimensions,
        "distance_convention": instance.convention,
        "solver_scale": instance.scale,
        "bks": instance.bks,
        "bks_source": instance.bks_source,
        "notes": list(instance.notes),
    }


def _fill_gaps(report: dict[str, Any]) -> None:
    """Gap to the best-known cost; without one, to the best feasible cost of this run."""
    for described in report["instances"]:
        name = described["name"]
        mine = [r for r in report["results"] if r["instance"] == name and r["feasible"]]
        reference = described["bks"]
        if reference is None and mine and described["kind"] != "military":
            reference = min(r["cost"] for r in mine)
            described["reference"] = reference
        for row in mine:
            if reference:
                row["gap_pct"] = round(100 * (row["cost"] - reference) / reference, 3)


def goals(report: dict[str, Any]) -> dict[str, Any]:
    """The issue's goals, each with the measured figure (None where not measured in this run)."""
    rows = report["results"]

    def gap(instance: str, solver: str, limit: float) -> float | None:
        for r in rows:
            if (r["instance"], r["solver"], r["limit_s"]) == (instance, solver, limit):
                return r["gap_pct"] if r["feasible"] else None
        return None

    rc = gap("RC208", "pyvrp", 30.0)
    x = gap("X-n101-50-k13", "pyvrp", 120.0)
    ahead = []
    for r in rows:
        if r["solver"] != "pyvrp":
            continue
        other = next(
            (
                o
                for o in rows
                if o["solver"] == "ortools"
                and (o["instance"], o["limit_s"]) == (r["instance"], r["limit_s"])
            ),
            None,
        )
        if other is None:
            continue
        mine = r["cost"] if r["feasible"] else float("inf")
        theirs = other["cost"] if other["feasible"] else float("inf")
        ahead.append(
            {
                "instance": r["instance"],
                "limit_s": r["limit_s"],
                "pyvrp": mine,
                "ortools": theirs,
                "result": "ahead" if mine < theirs else "tied" if mine == theirs else "behind",
            }
        )
    return {
        "rc208_gap_le_1pct_at_30s": {"gap_pct": rc, "met": None if rc is None else rc <= 1.0},
        "x_n101_gap_le_0.5pct_at_120s": {
            "gap_pct": x,
            "met": None if x is None else x <= 0.5,
            "reference": "best feasible cost of this run (no published value available offline)",
        },
        "pyvrp_not_behind_ortools": {
            "met": all(a["result"] != "behind" for a in ahead) if ahead else None,
            "comparisons": ahead,
        },
    }


def instance_json(instance: Instance) -> dict[str, Any]:
    """The instance as plain JSON: bases, stops (loads, window, service, priority, prize), fleet."""
    names = load_names(instance)
    priority = instance.priority

    def loads(values: Sequence[int]) -> dict[str, int]:
        return dict(zip(names, map(int, values), strict=True))

    return {
        "name": instance.name,
        "units": {
            "distance": "km",
            "time": "minutes",
            "minutes_per_km": instance.minutes_per_unit,
            "rounding": "Euclidean km and minutes, each rounded to the nearest integer",
        },
        "depots": [
            {
                "id": f"base{d + 1}",
                "x": float(instance.coords[d, 0]),
                "y": float(instance.coords[d, 1]),
            }
            for d in range(instance.num_depots)
        ],
        "stops": [
            {
                "id": f"stop{s}",
                "x": float(instance.coords[s, 0]),
                "y": float(instance.coords[s, 1]),
                "demand": loads(instance.delivery[s]),
                "window": [float(instance.tw[s, 0]), float(instance.tw[s, 1])],
                "service_minutes": float(instance.service[s]),
                "priority": bool(priority[s]) if priority is not None else False,
                "required": bool(instance.required[s]),
                "prize": int(instance.prize[s]),
            }
            for s in instance.stops
        ],
        "vehicles": [
            {
                "type": v.name,
                "count": v.count,
                "depot": f"base{v.depot + 1}",
                "capacity": loads(v.capacity),
                "fixed_cost": v.fixed_cost,
                "cost_per_km": v.unit_distance_cost,
                "window": [v.tw_early, v.tw_late],
                "max_route_minutes": v.max_duration,
            }
            for v in instance.vehicle_types
        ],
    }


def table(report: dict[str, Any]) -> str:
    """The report as a plain-text table."""
    lines = [
        f"Planning benchmark — PyVRP vs OR-Tools (guided local search), limits "
        f"{', '.join(f'{x:g}' for x in report['limits_s'])} s; {report['machine']['note']}",
        f"{'instance':15} {'limit':>6} {'solver':8} {'cost':>12} {'gap %':>7} "
        f"{'feasible':>8} {'routes':>6} {'served':>7} {'prio.miss':>9} {'1st feas.':>9} "
        f"{'cpu':>5}",
    ]
    prioritised = {d["name"] for d in report["instances"] if d["priority_stops"]}
    for r in report["results"]:
        gap = "" if r["gap_pct"] is None else f"{r['gap_pct']:.2f}"
        # With priorities, what matters is the first plan that serves them all.
        key = "first_all_priority_s" if r["instance"] in prioritised else "first_feasible_s"
        first = "never" if r[key] is None else f"{r[key]:.3f}s"
        first = "n/a" if r["solver"] == ENGINE else first  # the engine does not report it
        cost = f"{r['cost']:.2f}" if r["feasible"] else r["status"]
        lines.append(
            f"{r['instance']:15} {r['limit_s']:>6g} {r['solver']:8} {cost:>12} {gap:>7} "
            f"{'yes' if r['feasible'] else 'NO':>8} {r['routes']:>6} {r['served']:>7} "
            f"{r['unserved_priority']:>9} {first:>9} {r['cpu_share']:>5.0%}"
        )
    for d in report["instances"]:
        reference = d.get("bks") or d.get("reference")
        lines.append(f"{d['name']}: reference {reference} — {d['bks_source']}")
    g = report["goals"]
    lines.append(
        f"goals: RC208 ≤1 % at 30 s: {_goal(g['rc208_gap_le_1pct_at_30s'])}; "
        f"X-n101 ≤0.5 % at 120 s: {_goal(g['x_n101_gap_le_0.5pct_at_120s'])}; "
        f"PyVRP not behind OR-Tools: {g['pyvrp_not_behind_ortools']['met']}"
    )
    lines.append(
        "1st feas.: seconds to the first feasible plan; with priority stops, to the first plan "
        "serving all of them. cpu: share of one core the solver got during its time limit"
    )
    lines.append(f"engine: {report['engine']['note']}")
    return "\n".join(lines)


def _goal(goal: dict[str, Any]) -> str:
    return "not measured" if goal["gap_pct"] is None else f"{goal['gap_pct']:.2f} % ({goal['met']})"


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("pyvrp", "ortools", "numpy"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "absent"
    return found


def write(report: dict[str, Any], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=2), encoding="utf-8")
