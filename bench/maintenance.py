"""Maintenance forecasting on NASA C-MAPSS FD001: RMSE, NASA score, interval coverage, time.

    .venv/bin/python bench/maintenance.py [--outer-folds 5] [--rounds 300] [--seed 0]

The official test set's true RULs are not in ../shared/data, so the 100
training engines are cross-validated by unit: each outer fold holds out a
fifth of the engines; the model (5 inner folds by unit, conformal intervals
on their out-of-fold residuals) is trained on the rest, then each held-out
engine is cut at 10 random cycles and forecast at the cut, as the official
test engines are. Two baselines run on the same cuts: the mean life of the
training engines minus the age, and one LightGBM booster on the current
readings only (no windows). Published figures are on the official test set,
not on this split: compare with care. Results go to
bench/results/maintenance.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from egide.forecasting.features import FeatureSpec, rul_target
from egide.forecasting.histories import Histories, describe
from egide.forecasting.importing import read_histories
from egide.forecasting.metrics import coverage, nasa_score, rmse
from egide.forecasting.model import LEVELS, Preprocessing, predict_booster
from egide.forecasting.regimes import fit_regimes
from egide.forecasting.storage import data_file, load, save
from egide.forecasting.training import TrainingConfig, UnitSplit, cut_points, train

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "cmapss"
PUBLISHED = [
    {"model": "LSTM (Zheng et al. 2017)", "rmse": 16.14, "nasa_score": 338},
    {"model": "deep CNN (Li, Ding & Sun 2018)", "rmse": 12.61, "nasa_score": 274},
]


def outer_splits(histories: Histories, outer: int, inner: int, seed: int) -> list[UnitSplit]:
    """`outer` splits whose validation parts partition the units; the rest dealt into folds."""
    units = np.random.default_rng(seed).permutation(histories.unit_ids())
    splits = []
    for k in range(outer):
        validation = np.sort(units[k::outer])
        rest = np.setdiff1d(units, validation)
        rest = np.random.default_rng(seed + k + 1).permutation(rest)
        folds = tuple(np.sort(rest[j::inner]) for j in range(inner))
        splits.append(UnitSplit(folds=folds, validation=validation))
    return splits


def baselines(
    histories: Histories, split: UnitSplit, cuts: np.ndarray, rounds: int, seed: int
) -> dict[str, np.ndarray]:
    """Predictions of the two baselines at the cut rows of the validation units."""
    train_units = np.concatenate(split.folds)
    train = histories.select_units(train_units)
    held = histories.select_units(split.validation)
    _, lives = np.unique(train.units, return_counts=True)
    age = np.clip(lives.mean() - held.cycles[cuts], 0, 125).astype(np.float64)
    sensors = tuple(s.name for s in describe(train).sensors if not s.constant)
    regimes = fit_regimes(train.settings, train.sensor_matrix(sensors))
    current = FeatureSpec(mean_windows=(), std_windows=(), slope_windows=(), baseline=1)
    pre = Preprocessing(train.setting_names, sensors, regimes, current)
    x_train = pre.features(train)
    keep = [i for i, n in enumerate(pre.feature_names) if not n.endswith("_drift")]
    params = {**TrainingConfig().params, "seed": seed, "num_threads": 1}
    booster = lgb.train(
        params,
        lgb.Dataset(x_train[:, keep], label=rul_target(train.units, train.cycles)),
        num_boost_round=rounds,
    )
    readings = predict_booster(booster, pre.features(held)[cuts][:, keep], 125)
    return {"age": age, "current readings": readings}


def run(outer: int, rounds: int, seed: int) -> dict[str, Any]:
    path = DATA / "train_FD001.txt"
    histories = read_histories(path)
    config = TrainingConfig(seed=seed, rounds=rounds)
    folds: list[dict[str, Any]] = []
    pooled: dict[str, list[np.ndarray]] = {
        "truth": [],
        "uncapped": [],
        "model": [],
        "age": [],
        "readings": [],
    }
    bounds: dict[float, list[tuple[np.ndarray, np.ndarray]]] = {level: [] for level in LEVELS}
    last = None
    for k, split in enumerate(outer_splits(histories, outer, config.folds, seed)):
        trained = train(histories, config, split)
        held = histories.select_units(split.validation)
        cuts = cut_points(held.units, config.cuts_per_unit, seed)
        truth = rul_target(held.units, held.cycles)[cuts]
        predicted = trained.model.predict_features(trained.model.features(held)[cuts])
        base = baselines(histories, split, cuts, rounds, seed)
        pooled["truth"].append(truth)
        pooled["uncapped"].append(rul_target(held.units, held.cycles, np.inf)[cuts])
        pooled["model"].append(predicted)
        pooled["age"].append(base["age"])
        pooled["readings"].append(base["current readings"])
        for level in LEVELS:
            bounds[level].append(trained.model.conformal.interval(predicted, level, 0.0, 125))
        folds.append(
            {
                "fold": k,
                "validation_units": len(split.validation),
                "rmse": round(rmse(predicted, truth), 3),
                "train_seconds": round(trained.seconds, 2),
                "coverage": trained.report["intervals"],
            }
        )
        print(
            f"fold {k}: RMSE {folds[-1]['rmse']:.2f}, trained in {trained.seconds:.1f} s",
            file=sys.stderr,
        )
        last = trained
    assert last is not None
    truth = np.concatenate(pooled["truth"])
    # The official test engines are cut 7 to 145 cycles before failure: the same subset here.
    uncapped = np.concatenate(pooled["uncapped"])
    test_like = (uncapped >= 7) & (uncapped <= 145)
    rows = []
    for name, key in (
        ("LightGBM windows + conformal", "model"),
        ("baseline: LightGBM current readings", "readings"),
        ("baseline: mean life − age", "age"),
    ):
        predicted = np.concatenate(pooled[key])
        rows.append(
            {
                "model": name,
                "rmse": round(rmse(predicted, truth), 2),
                "nasa_score_per_100": round(nasa_score(predicted, truth) / len(truth) * 100, 1),
                "rmse_test_like": round(rmse(predicted[test_like], truth[test_like]), 2),
                "nasa_score_per_100_test_like": round(
                    nasa_score(predicted[test_like], truth[test_like]) / test_like.sum() * 100, 1
                ),
            }
        )
    intervals = {}
    for level in LEVELS:
        low = np.concatenate([b[0] for b in bounds[level]])
        high = np.concatenate([b[1] for b in bounds[level]])
        per_fold = [
            coverage(b[0], b[1], t) for b, t in zip(bounds[level], pooled["truth"], strict=True)
        ]
        intervals[f"{round(level * 100)}"] = {
            "coverage": round(coverage(low, high, truth), 4),
            "coverage_test_like": round(
                coverage(low[test_like], high[test_like], truth[test_like]), 4
            ),
            "mean_width_test_like": round(float(np.mean((high - low)[test_like])), 2),
            "coverage_min_fold": round(min(per_fold), 4),
            "coverage_max_fold": round(max(per_fold), 4),
            "mean_width": round(float(np.mean(high - low)), 2),
        }
    prediction = measure_prediction(last, histories, path, config)
    return {
        "data": "C-MAPSS FD001 training engines, cross-validated by unit",
        "protocol": {
            "outer_folds": outer,
            "inner_folds": config.folds,
            "cuts_per_engine": config.cuts_per_unit,
            "forecasts": len(truth),
            "forecasts_test_like": int(test_like.sum()),
            "rul_cap": 125,
            "rounds": rounds,
            "seed": seed,
        },
        "models": rows,
        "intervals": intervals,
        "folds": folds,
        "published_on_official_test_set": PUBLISHED,
        "train_seconds_mean": round(float(np.mean([f["train_seconds"] for f in folds])), 2),
        "prediction": prediction,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "lightgbm": lgb.__version__,
            "load_average": [round(x, 2) for x in os.getloadavg()],
        },
    }


def measure_prediction(
    trained: Any, histories: Histories, path: Path, config: TrainingConfig
) -> dict[str, Any]:
    """Save the last fold's model, load it (digests checked), forecast test_FD001."""
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch) / "model"
        save(
            trained.model,
            directory,
            data=[data_file(path, histories.rows, len(histories.unit_ids()))],
            training=config.to_json(),
            split=trained.split.to_json(),
            report=trained.report,
            description=describe(histories).to_json(),
        )
        size = sum(f.stat().st_size for f in directory.iterdir())
        start = time.perf_counter()
        stored = load(directory)
        loaded = time.perf_counter() - start
        test = read_histories(DATA / "test_FD001.txt")
        start = time.perf_counter()
        forecast = stored.model.forecast(test, horizon=30)
        seconds = time.perf_counter() - start
    return {
        "test_units": len(forecast.units),
        "test_cycles": test.rows,
        "load_seconds": round(loaded, 3),
        "forecast_seconds": round(seconds, 3),
        "model_directory_mib": round(size / 2**20, 2),
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        f"{'model':42} {'RMSE':>6} {'NASA/100':>9}   {'RMSE*':>6} {'NASA/100*':>9}",
    ]
    for row in report["models"]:
        lines.append(
            f"{row['model']:42} {row['rmse']:>6.2f} {row['nasa_score_per_100']:>9.1f}   "
            f"{row['rmse_test_like']:>6.2f} {row['nasa_score_per_100_test_like']:>9.1f}"
        )
    for row in report["published_on_official_test_set"]:
        name = f"published: {row['model']}"
        lines.append(f"{name:42} {'':>6} {'':>9}   {row['rmse']:>6.2f} {row['nasa_score']:>9}")
    lines.append("* cuts 7 to 145 cycles before failure, the official test set's range")
    lines.append("")
    lines.append(
        f"{'interval':9} {'coverage':>9} {'min fold':>9} {'max fold':>9} {'width':>7} "
        f"{'coverage*':>10} {'width*':>7}"
    )
    for level, item in report["intervals"].items():
        lines.append(
            f"{level + ' %':9} {item['coverage']:>9.3f} {item['coverage_min_fold']:>9.3f} "
            f"{item['coverage_max_fold']:>9.3f} {item['mean_width']:>7.1f} "
            f"{item['coverage_test_like']:>10.3f} {item['mean_width_test_like']:>7.1f}"
        )
    p = report["prediction"]
    lines.append("")
    lines.append(
        f"train {report['train_seconds_mean']:.1f} s per model (5 boosters, 1 thread); load "
        f"{p['load_seconds']:.2f} s; forecast {p['test_units']} test units "
        f"({p['test_cycles']} cycles) {p['forecast_seconds']:.2f} s; model "
        f"{p['model_directory_mib']:.1f} MiB; peak RSS {report['peak_rss_mib']:.0f} MiB"
    )
    proto = report["protocol"]
    lines.append(
        f"{proto['forecasts']} forecasts ({proto['cuts_per_engine']} random cuts per engine, "
        f"{proto['outer_folds']} outer folds by unit); published figures are on the "
        "official test set"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outer-folds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=TrainingConfig().rounds)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    report = run(args.outer_folds, args.rounds, args.seed)
    print(table(report))
    out = ROOT / "bench" / "results" / "maintenance.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
