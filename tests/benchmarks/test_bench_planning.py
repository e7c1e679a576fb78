"""The planning benchmark: its checker catches broken plans, and a quick run checks out.

The checker is what makes the benchmark's figures trustworthy, so it is attacked
here with plans that break each rule once. The quick run goes through the real
script with both real solvers (shape and feasibility, never speed).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from egide.benchmarks.routing.check import PlannedRoute, check
from egide.benchmarks.routing.instance import Instance, VehicleType, read_vrplib
from egide.benchmarks.routing.military import PRIORITY_PENALTY, military_instance

ROOT = Path(__file__).parents[2]
DATA = ROOT / ".." / "shared" / "data" / "vrp"
EGIDE = shutil.which("egide") or str(ROOT / ".venv" / "bin" / "egide")


def tiny(**changes: object) -> Instance:
    """Base 0 at the origin, stops 1-3 on a line 3, 4 and 5 units away; capacity 10."""
    instance = Instance(
        name="tiny",
        kind="test",
        coords=np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0], [5.0, 0.0]]),
        num_depots=1,
        delivery=np.array([[0], [4], [4], [4]]),
        pickup=np.zeros((4, 1), dtype=np.int64),
        service=np.array([0.0, 1.0, 1.0, 1.0]),
        tw=np.array([[0.0, 100.0], [0.0, 100.0], [0.0, 100.0], [0.0, 100.0]]),
        required=np.array([False, True, True, True]),
        prize=np.zeros(4, dtype=np.int64),
        vehicle_types=(VehicleType("truck", 2, (10,), 0, tw_early=0.0, tw_late=100.0),),
        convention="dimacs",
        scale=10,
    )
    return replace(instance, **changes)  # type: ignore[arg-type]


GOOD = [PlannedRoute(0, (1, 3)), PlannedRoute(0, (2,))]


def test_a_good_plan_passes_with_its_cost_recomputed() -> None:
    verdict = check(tiny(), GOOD)
    assert verdict.feasible, verdict.violations
    assert verdict.cost == pytest.approx(3 + 2 + 5 + 4 + 4)
    assert (verdict.routes, verdict.served) == (2, 3)


@pytest.mark.parametrize(
    ("instance", "routes", "needle"),
    [
        (tiny(), [PlannedRoute(0, (1, 2, 3))], "exceeds capacity"),
        (tiny(), [PlannedRoute(0, (1, 3)), PlannedRoute(0, (2, 1))], "visited 2 times"),
        (tiny(), [PlannedRoute(0, (1, 3))], "required stop 2 not served"),
        (tiny(), [PlannedRoute(0, (1,)), PlannedRoute(0, (2,)), PlannedRoute(0, (3,))], "only 2"),
        (tiny(), [PlannedRoute(0, (0, 1))], "not stops"),
        (tiny(), [PlannedRoute(5, (1,))], "unknown vehicle type"),
        (
            tiny(tw=np.array([[0.0, 100.0], [0.0, 100.0], [0.0, 100.0], [0.0, 5.9]])),
            [PlannedRoute(0, (1, 3)), PlannedRoute(0, (2,))],
            "window closes",
        ),
        (
            tiny(vehicle_types=(VehicleType("truck", 2, (10,), 0, tw_late=9.0),)),
            GOOD,
            "back at base",
        ),
        (
            tiny(vehicle_types=(VehicleType("truck", 2, (10,), 0, max_duration=10.5),)),
            GOOD,
            "over the maximum",
        ),
    ],
)
def test_the_checker_rejects_each_broken_rule(
    instance: Instance, routes: list[PlannedRoute], needle: str
) -> None:
    verdict = check(instance, routes)
    assert not verdict.feasible
    assert any(needle in v for v in verdict.violations), verdict.violations


def test_waiting_for_a_window_is_not_counted_in_the_route_duration() -> None:
    # Stop 1 opens at 50: leaving later, the truck to stop 1 needs 3 + 1 + 3 = 7 minutes, not 54.
    late_open = np.array([[0.0, 100.0], [50.0, 60.0], [0.0, 100.0], [0.0, 100.0]])
    instance = tiny(
        tw=late_open, vehicle_types=(VehicleType("truck", 3, (10,), 0, max_duration=11.0),)
    )
    routes = [PlannedRoute(0, (1,)), PlannedRoute(0, (2,)), PlannedRoute(0, (3,))]
    assert check(instance, routes).feasible


def test_backhauls_come_after_deliveries_and_never_alone() -> None:
    instance = tiny(
        delivery=np.array([[0], [4], [0], [4]]),
        pickup=np.array([[0], [0], [6], [0]]),
        linehaul_first=True,
    )
    assert check(instance, [PlannedRoute(0, (1, 3, 2))]).feasible
    after = check(instance, [PlannedRoute(0, (1, 2, 3))])
    assert any("delivery follows a pickup" in v for v in after.violations)
    alone = check(instance, [PlannedRoute(0, (2,)), PlannedRoute(0, (1, 3))])
    assert any("backhaul-only" in v for v in alone.violations)
    heavy = replace(instance, pickup=np.array([[0], [0], [11], [0]]))
    assert any(
        "exceeds capacity" in v for v in check(heavy, [PlannedRoute(0, (1, 3, 2))]).violations
    )


def test_unserved_optional_stops_cost_their_prize_and_priorities_are_counted() -> None:
    instance = tiny(
        required=np.zeros(4, dtype=bool),
        prize=np.array([0, 7, PRIORITY_PENALTY, 9]),
        priority=np.array([False, False, True, False]),
    )
    verdict = check(instance, [PlannedRoute(0, (1, 3))])
    assert verdict.feasible
    assert verdict.unserved_priority == 1
    assert verdict.cost == pytest.approx(10 + PRIORITY_PENALTY)


def test_rc208_best_known_solution_costs_776_1_in_the_dimacs_convention() -> None:
    # Distances truncated to one decimal; unrounded, the same routes measure 778.93.
    instance = read_vrplib(DATA / "RC208.vrp", bks=776.1, bks_source="test")
    routes = [
        PlannedRoute(0, tuple(int(s) for s in line.split(":")[1].split()))
        for line in (DATA / "RC208.sol").read_text().splitlines()
        if line.startswith("Route")
    ]
    verdict = check(instance, routes)
    assert verdict.feasible, verdict.violations
    assert round(verdict.cost, 1) == 776.1


def test_the_military_instance_is_seeded_and_shaped_as_described() -> None:
    one, again, other = military_instance(), military_instance(), military_instance(seed=7)
    assert np.array_equal(one.coords, again.coords)
    assert not np.array_equal(one.coords, other.coords)
    assert (len(one.stops), one.num_depots, one.dimensions) == (500, 3, 3)
    assert {v.capacity for v in one.vehicle_types} == {(180, 60, 0), (40, 80, 30), (20, 30, 10)}
    assert one.priority is not None and 50 < one.priority.sum() < 150
    assert (one.prize[one.priority] == PRIORITY_PENALTY).all()
    assert np.isfinite(one.tw[one.stops]).all()


def test_quick_run_writes_a_report_where_both_solvers_plans_pass_the_checker(
    tmp_path: Path,
) -> None:
    out = tmp_path / "planning.json"
    military = tmp_path / "military.json"
    done = subprocess.run(
        [
            *(sys.executable, str(ROOT / "bench" / "planning.py"), "--quick"),
            *("--data-dir", str(DATA), "--out", str(out), "--write-military", str(military)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert "PyVRP vs OR-Tools" in done.stdout
    names = ["RC208", "E-n22-k4", "X-n101-50-k13", "military-60"]
    assert [i["name"] for i in report["instances"]] == names
    assert report["solvers"] == ["pyvrp", "ortools"]
    rows = report["results"]
    assert len(rows) == len(names) * len(report["limits_s"]) * 2
    for row in rows:
        assert row["feasible"], row
        assert row["violations"] == []
        assert row["cost_agrees"], row
        assert row["first_feasible_s"] is not None
        assert row["cpu_share"] > 0
    by = {(r["instance"], r["solver"]): r for r in rows}
    assert by[("RC208", "pyvrp")]["gap_pct"] >= 0
    assert by[("military-60", "pyvrp")]["first_all_priority_s"] is not None
    assert by[("military-60", "pyvrp")]["unserved_priority"] == 0
    assert by[("E-n22-k4", "ortools")]["cost"] >= 375
    assert report["goals"]["pyvrp_not_behind_ortools"]["comparisons"]
    assert report["engine"]["module"] == "egide.planning"
    assert "2-core" in report["machine"]["note"]
    plain = json.loads(military.read_text())
    assert len(plain["stops"]) == 60 and len(plain["depots"]) == 3
    assert set(plain["stops"][0]["demand"]) == {"fuel", "water", "ammunition"}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--limits", "five"], "--limits"),
        (["--limits", "0"], "positive"),
        (["--solvers", "gurobi"], "--solvers"),
        (["--instances", "A-n32-k5"], "--instances"),
        (["--data-dir", "/nonexistent", "--instances", "RC208"], "--data-dir"),
    ],
)
def test_bad_options_get_one_line_errors(args: list[str], needle: str) -> None:
    done = subprocess.run(
        [EGIDE, "bench", "planning", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert done.returncode == 2, done
    lines = [line for line in done.stderr.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    assert needle in lines[0]


def test_the_planning_engine_is_benchmarked_where_installed(tmp_path: Path) -> None:
    from egide.benchmarks.routing.engine import engine_status

    out = tmp_path / "planning.json"
    done = subprocess.run(
        [
            *(EGIDE, "bench", "planning", "--quick", "--instances", "military"),
            *("--solvers", "pyvrp,egide", "--out", str(out)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    if not engine_status()["available"]:
        assert done.returncode == 2, done
        assert "egide.planning" in done.stderr and "Traceback" not in done.stderr
        return
    assert done.returncode == 0, done.stderr
    rows = json.loads(out.read_text())["results"]
    [engine] = [r for r in rows if r["solver"] == "egide"]
    assert engine["feasible"] and engine["status"] == "ok", engine
    assert engine["unserved_priority"] == 0
