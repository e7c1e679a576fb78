"""`egide plan …` through the real command-line entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import egide

from .test_readers import VRP, documented_example

SRC = str(Path(egide.__file__).parents[1])


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-c", "from egide.cli.main import main; main()", "plan", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_error(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert done.returncode == 2, done
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    assert "Traceback" not in done.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def test_routes_show_and_replan(tmp_path: Path) -> None:
    from egide.planning.codec import loads_plan
    from egide.planning.validate import validate

    source = tmp_path / "resupply.json"
    source.write_text(json.dumps(documented_example()), encoding="utf-8")
    done = run(
        "routes",
        str(source),
        "--max-iterations",
        "3000",
        "--time-limit",
        "60",
        "--json",
        "--out",
        "out",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert list(answer)[:5] == ["cost", "gap_to_bound", "status", "routes", "unserved"]
    assert answer["gap_to_bound"] is None and answer["status"] == "complete"
    plan = tmp_path / "out" / "resupply.plan.json"
    svg = (tmp_path / "out" / "resupply.plan.svg").read_text(encoding="utf-8")
    assert svg.count('class="route"') == len(answer["routes"]) and "TANKER" in svg
    problem, solution = loads_plan(plan.read_text(encoding="utf-8"))
    assert validate(problem, solution).ok and solution.cost == answer["cost"]

    shown = run("show", str(plan), cwd=tmp_path)
    assert shown.returncode == 0 and "complete" in shown.stdout and "LOG-BASE" in shown.stdout

    lost = answer["routes"][0]["vehicle"]
    again = run(
        "replan",
        str(plan),
        "--lose",
        lost,
        "--max-iterations",
        "1000",
        "--time-limit",
        "60",
        "--json",
        "--out",
        "out",
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stderr
    diff = json.loads(again.stdout)["diff"]
    moved = {m["demand"] for m in diff["moved"]}
    assert moved >= {s["demand"] for s in answer["routes"][0]["stops"]} - {
        u["demand"] for u in json.loads(again.stdout)["unserved"]
    }
    assert (tmp_path / "out" / "resupply-replan.plan.json").is_file()

    # A plan file edited by hand no longer passes the validator, and `show` says so.
    document = json.loads(plan.read_text(encoding="utf-8"))
    document["solution"]["routes"][0]["stops"][0]["delivered"]["fuel"] = 1
    forged = tmp_path / "forged.plan.json"
    forged.write_text(json.dumps(document), encoding="utf-8")
    one_line_error(run("show", str(forged), cwd=tmp_path), "breaks its problem's constraints")


def test_summary_table_on_a_benchmark_instance(tmp_path: Path) -> None:
    done = run(
        "routes",
        str(VRP / "E-n22-k4.txt"),
        "--max-iterations",
        "8000",
        "--time-limit",
        "60",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "E-n22-k4: complete, cost 375.00" in done.stdout
    assert "gap to bound: unknown" in done.stdout


def test_schema_command(tmp_path: Path) -> None:
    done = run("schema", cwd=tmp_path)
    assert done.returncode == 0 and json.loads(done.stdout)["title"] == "Égide routing problem"


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"dimensions": ["fuel"],', encoding="utf-8")
    one_line_error(run("routes", "bad.json", cwd=tmp_path), "line 1, column 25")
    one_line_error(run("routes", "missing.json", cwd=tmp_path), "no such file")
    data = documented_example()
    data["demands"][0]["window"] = {"start": 200, "end": 100}  # type: ignore[index]
    (tmp_path / "reversed.json").write_text(json.dumps(data), encoding="utf-8")
    one_line_error(run("routes", "reversed.json", cwd=tmp_path), "before it opens at 200")
    assert not list(tmp_path.glob("*.plan.*"))
    (tmp_path / "not-a-plan.json").write_text("{}", encoding="utf-8")
    one_line_error(run("show", "not-a-plan.json", cwd=tmp_path), "not an Égide plan file")
    one_line_error(
        run("replan", "not-a-plan.json", "--set", "x", cwd=tmp_path), "not an Égide plan file"
    )
