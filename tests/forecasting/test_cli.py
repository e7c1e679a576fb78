"""`egide maintenance train|predict` end to end on real C-MAPSS FD001 engines."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest

EGIDE = shutil.which("egide") or str(Path(__file__).parents[2] / ".venv" / "bin" / "egide")
CMAPSS = Path(__file__).parents[3] / "shared" / "data" / "cmapss"


def _egide(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [EGIDE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
    )


def _first_units(source: Path, target: Path, units: int) -> Path:
    lines = [
        line
        for line in source.read_text(encoding="utf-8").splitlines(keepends=True)
        if line.split() and int(line.split()[0]) <= units
    ]
    target.write_text("".join(lines), encoding="utf-8")
    return target


def _one_line_error(done: subprocess.CompletedProcess[str], code: int, needle: str) -> None:
    assert done.returncode == code, done
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], lines


@pytest.mark.slow
def test_train_then_predict_real_fd001_engines(tmp_path: Path) -> None:
    train = _first_units(CMAPSS / "train_FD001.txt", tmp_path / "train.txt", 30)
    test = _first_units(CMAPSS / "test_FD001.txt", tmp_path / "test.txt", 20)
    done = _egide(
        "maintenance",
        "train",
        "--train",
        str(train),
        "--out",
        "model",
        "--rounds",
        "40",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done
    assert "validation on 6 held-out units (60 cut points): RMSE" in done.stdout
    assert "80 % interval: coverage" in done.stdout and "90 % interval" in done.stdout
    assert "30 units, 5987 cycles" in done.stderr and "sensor_1, sensor_5" in done.stderr

    done = _egide(
        "maintenance",
        "predict",
        "--model",
        "model",
        "--test",
        str(test),
        "--out",
        "p.csv",
        "--horizon",
        "30",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done
    with (tmp_path / "p.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "unit",
        "rul",
        "rul_low_80",
        "rul_high_80",
        "rul_low_90",
        "rul_high_90",
        "horizon",
        "p_fail",
    ]
    assert [int(r["unit"]) for r in rows] == list(range(1, 21))
    for r in rows:
        low90, low80, rul = float(r["rul_low_90"]), float(r["rul_low_80"]), float(r["rul"])
        high80, high90 = float(r["rul_high_80"]), float(r["rul_high_90"])
        assert 0 <= low90 <= low80 <= rul <= high80 <= high90 <= 125
        assert 0 < float(r["p_fail"]) <= 1

    # Bad input: one clear line, the right exit code, nothing written.
    _one_line_error(
        _egide(
            "maintenance",
            "predict",
            "--model",
            "model",
            "--test",
            str(test),
            "--out",
            "q.csv",
            "--horizon",
            "400",
            cwd=tmp_path,
        ),
        2,
        "horizon 400 is outside 1..125",
    )
    short = tmp_path / "short.txt"
    short.write_text("".join(test.read_text(encoding="utf-8").splitlines(True)[:3]), "utf-8")
    _one_line_error(
        _egide(
            "maintenance",
            "predict",
            "--model",
            "model",
            "--test",
            str(short),
            "--out",
            "q.csv",
            cwd=tmp_path,
        ),
        2,
        "unit(s) 1 have fewer than 5 cycles",
    )
    narrow = tmp_path / "narrow.csv"
    narrow.write_text(
        "unit,cycle,setting_1,setting_2,setting_3,sensor_2\n1,1,0,0,100,642\n", "utf-8"
    )
    _one_line_error(
        _egide(
            "maintenance",
            "predict",
            "--model",
            "model",
            "--test",
            str(narrow),
            "--out",
            "q.csv",
            cwd=tmp_path,
        ),
        2,
        "missing sensor column(s) sensor_3",
    )
    booster = tmp_path / "model" / "booster-1.txt"
    booster.write_text(booster.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    _one_line_error(
        _egide(
            "maintenance",
            "predict",
            "--model",
            "model",
            "--test",
            str(test),
            "--out",
            "q.csv",
            cwd=tmp_path,
        ),
        9,
        "SHA-256 does not match the manifest",
    )
    assert not (tmp_path / "q.csv").exists()


@pytest.mark.slow
def test_bad_training_input_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("1 1 0 0 100 518.67 641.8\n1 2 0 0 100 518.67\n", encoding="utf-8")
    _one_line_error(
        _egide("maintenance", "train", "--train", str(bad), cwd=tmp_path),
        2,
        "bad.txt:2: 6 columns where the first line has 7",
    )
    _one_line_error(
        _egide("maintenance", "train", "--train", str(tmp_path / "absent.txt"), cwd=tmp_path),
        2,
        "no such file",
    )
    (tmp_path / "rul-model").mkdir()
    (tmp_path / "rul-model" / "keep").write_text("x", encoding="utf-8")
    _one_line_error(
        _egide("maintenance", "train", "--train", str(bad), cwd=tmp_path),
        2,
        "already exists and is not empty",
    )


@pytest.mark.slow
def test_rank_and_plan_real_fd001_engines(tmp_path: Path) -> None:
    import json
    import xml.etree.ElementTree as ET

    train = _first_units(CMAPSS / "train_FD001.txt", tmp_path / "train.txt", 30)
    test = _first_units(CMAPSS / "test_FD001.txt", tmp_path / "test.txt", 20)
    done = _egide(
        "maintenance",
        "train",
        "--train",
        str(train),
        "--out",
        "model",
        "--rounds",
        "40",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done
    done = _egide(
        "maintenance",
        "rank",
        "--model",
        "model",
        "--test",
        str(test),
        "--out",
        "r",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done
    lines = done.stdout.splitlines()
    assert lines[0].split()[:4] == ["rank", "unit", "cycle", "p_fail"]
    p = [float(line.split()[3]) for line in lines[1:21]]
    assert p == sorted(p, reverse=True)
    ranking = json.loads((tmp_path / "r" / "ranking.json").read_text(encoding="utf-8"))
    assert len(ranking["units"]) == 20 and ranking["horizon"] == 30
    for unit in ranking["units"]:
        ET.parse(tmp_path / "r" / f"unit-{unit['unit']}.svg")  # well-formed XML

    shop = {
        "cycles_per_period": 10,
        "periods": [{"name": "S1", "slots": 1}, {"name": "S2", "slots": 1}],
        "failure_cost": 100000,
        "service_kinds": {"overhaul": {"cost": 1000, "parts": {"module": 1}}},
        "stock": {"module": 1},
    }
    (tmp_path / "w.json").write_text(json.dumps(shop), encoding="utf-8")
    done = _egide(
        "maintenance",
        "plan",
        "--model",
        "model",
        "--test",
        str(test),
        "--workshop",
        "w.json",
        "--json",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done
    plan = json.loads(done.stdout)["plan"]  # stdout is JSON only: no solver banner
    serviced = [d for d in plan["decisions"] if d["period"] is not None]
    assert len(serviced) == 1 and plan["parts"]["module"]["used"] == 1
    assert serviced[0]["unit"] == ranking["units"][0]["unit"] or plan["risk_accepted"]

    (tmp_path / "bad.json").write_text(json.dumps({**shop, "stock": {"module": -1}}), "utf-8")
    done = _egide(
        "maintenance",
        "plan",
        "--model",
        "model",
        "--test",
        str(test),
        "--workshop",
        "bad.json",
        cwd=tmp_path,
    )
    _one_line_error(done, 2, "stock of 'module' must be a whole number ≥ 0")
    done = _egide(
        "maintenance",
        "plan",
        "--model",
        "model",
        "--test",
        str(test),
        "--workshop",
        "w.json",
        "--lang",
        "de",
        cwd=tmp_path,
    )
    _one_line_error(done, 2, "choose fr or en")
