"""Train a RUL model on run-to-failure histories, calibrate and validate it on other units.

The units are split, never a unit in two parts. *Validation* units (20 % by
default) are put aside and seen by nothing until the report. The others are
cut into K folds by unit: K boosters are trained, each on K−1 folds, and each
predicts the fold it did not see. Those out-of-fold residuals — every one
from a unit its booster never trained on — calibrate the conformal intervals
(about 80 units on FD001 rather than the 20 a single calibration split would
leave, which is what makes the coverage hold from one split to the next).
The forecast is the mean of the K boosters. The regime statistics (per
operating condition, each sensor's mean and spread; no target) are fitted on
all non-validation units.

Validation imitates the official test set: each validation unit is cut at
several random cycles and forecast at the cut, as a unit in service is
forecast at its latest cycle. Because every feature looks only backwards,
forecasting row *t* of a full history is forecasting a history cut at *t*.
The report therefore describes exactly the model that is saved.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np

from egide.errors import InvalidInput
from egide.forecasting.conformal import MIN_PER_BIN, calibrate
from egide.forecasting.features import RUL_CAP, FeatureSpec, rul_target, unit_starts
from egide.forecasting.histories import Histories, IntArray, describe
from egide.forecasting.metrics import coverage, nasa_score, rmse
from egide.forecasting.model import (
    LEVELS,
    MIN_CYCLES,
    Preprocessing,
    RulModel,
    predict_booster,
    threads,
)
from egide.forecasting.regimes import fit_regimes

MIN_UNITS = 10
"""Fewest run-to-failure units to train, calibrate and validate on."""

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "regression",
    "learning_rate": 0.04,
    "num_leaves": 31,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.5,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbosity": -1,
    "deterministic": True,
    "force_row_wise": True,
}


@dataclass(frozen=True)
class TrainingConfig:
    """Hyper-parameters and the split; all recorded in the model manifest."""

    seed: int = 0
    rounds: int = 300
    params: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_PARAMS))
    spec: FeatureSpec = field(default_factory=FeatureSpec)
    cap: float = RUL_CAP
    folds: int = 5
    validation_fraction: float = 0.2
    cuts_per_unit: int = 10

    def to_json(self) -> dict[str, Any]:
        """The configuration as a JSON object."""
        return {
            "seed": self.seed,
            "rounds": self.rounds,
            "params": self.params,
            "features": self.spec.to_json(),
            "rul_cap": self.cap,
            "folds": self.folds,
            "validation_fraction": self.validation_fraction,
            "cuts_per_unit": self.cuts_per_unit,
        }


@dataclass(frozen=True)
class UnitSplit:
    """Disjoint sets of unit ids: cross-validation folds and validation units."""

    folds: tuple[IntArray, ...]
    validation: IntArray

    def training(self, fold: int) -> IntArray:
        """The units fold `fold`'s booster trains on: every other fold."""
        return np.sort(np.concatenate([f for i, f in enumerate(self.folds) if i != fold]))

    def to_json(self) -> dict[str, list[list[int]] | list[int]]:
        """The split as lists of unit ids."""
        return {
            "folds": [[int(u) for u in f] for f in self.folds],
            "validation": [int(u) for u in self.validation],
        }


def split_units(units: IntArray, seed: int, folds: int, validation_fraction: float) -> UnitSplit:
    """Shuffle the units (seeded), put `validation_fraction` aside, deal the rest into folds."""
    shuffled = np.random.default_rng(seed).permutation(np.unique(units))
    n_val = round(len(shuffled) * validation_fraction)
    rest = shuffled[n_val:]
    return UnitSplit(
        folds=tuple(np.sort(rest[k::folds]) for k in range(folds)),
        validation=np.sort(shuffled[:n_val]),
    )


def fit(histories: Histories, split: UnitSplit, config: TrainingConfig) -> RulModel:
    """Fit preprocessing on the folds' units, a booster per fold, conformal on out-of-fold.

    Raises:
        InvalidInput: the out-of-fold residuals are too few for the intervals.
    """
    pool = histories.select_units(np.concatenate(split.folds))
    sensors = tuple(s.name for s in describe(pool).sensors if not s.constant)
    preprocessing = Preprocessing(
        settings=pool.setting_names,
        sensors=sensors,
        regimes=fit_regimes(pool.settings, pool.sensor_matrix(sensors)),
        spec=config.spec,
    )
    features = preprocessing.features(pool)
    target = rul_target(pool.units, pool.cycles, config.cap)
    params = {**config.params, "seed": config.seed, "num_threads": threads()}
    boosters = []
    predicted = np.empty(len(target))
    for held in split.folds:
        inside = np.isin(pool.units, held)
        dataset = lgb.Dataset(
            features[~inside], label=target[~inside], feature_name=preprocessing.feature_names
        )
        booster = lgb.train(params, dataset, num_boost_round=config.rounds)
        predicted[inside] = predict_booster(booster, features[inside], config.cap)
        boosters.append(booster)
    try:
        conformal = calibrate(predicted, target)
    except ValueError:
        raise InvalidInput(
            f"the training units give {len(target)} cycles, fewer than the {MIN_PER_BIN} "
            "that prediction intervals need; supply more run-to-failure units"
        ) from None
    return RulModel(
        preprocessing=preprocessing, boosters=tuple(boosters), conformal=conformal, cap=config.cap
    )


def cut_points(units: IntArray, per_unit: int, seed: int, min_cycles: int = MIN_CYCLES) -> IntArray:
    """Row indices where each unit is cut, `per_unit` per unit, at least `min_cycles` in."""
    rng = np.random.default_rng(seed)
    start = unit_starts(units)
    picked: list[int] = []
    for first in np.unique(start):
        stop = int(first) + int(np.sum(start == first))
        lowest = int(first) + min_cycles - 1
        if lowest < stop:
            picked.extend(rng.integers(lowest, stop, size=per_unit).tolist())
    return np.asarray(sorted(picked), dtype=np.int64)


def evaluate(model: RulModel, histories: Histories, per_unit: int, seed: int) -> dict[str, Any]:
    """RMSE, NASA score and interval coverage on run-to-failure units the model never saw.

    Scored at `per_unit` random cuts of each unit (as the official test set is
    cut) and, for reference, at every cycle.
    """
    every = model.predict_features(model.features(histories))
    truth = rul_target(histories.units, histories.cycles, model.cap)
    cuts = cut_points(histories.units, per_unit, seed)
    predicted, actual = every[cuts], truth[cuts]
    report: dict[str, Any] = {
        "units": len(np.unique(histories.units)),
        "cuts": len(cuts),
        "rmse": round(rmse(predicted, actual), 3),
        "nasa_score_per_unit": round(nasa_score(predicted, actual) / len(cuts), 4),
        "rmse_every_cycle": round(rmse(every, truth), 3),
        "intervals": {},
    }
    for level in LEVELS:
        low, high = model.conformal.interval(predicted, level, 0.0, model.cap)
        low_all, high_all = model.conformal.interval(every, level, 0.0, model.cap)
        report["intervals"][f"{round(level * 100)}"] = {
            "coverage": round(coverage(low, high, actual), 4),
            "mean_width": round(float(np.mean(high - low)), 2),
            "coverage_every_cycle": round(coverage(low_all, high_all, truth), 4),
        }
    return report


@dataclass(frozen=True)
class Trained:
    """A fitted model with the split it came from and its validation report."""

    model: RulModel
    split: UnitSplit
    report: dict[str, Any]
    seconds: float


def train(
    histories: Histories, config: TrainingConfig | None = None, split: UnitSplit | None = None
) -> Trained:
    """Split by unit (unless `split` is given), fit, calibrate, validate.

    Raises:
        InvalidInput: too few units, or too few cycles for calibration.
    """
    config = config or TrainingConfig()
    ids = histories.unit_ids()
    if config.folds < 2:
        raise InvalidInput(f"folds is {config.folds}; cross-validation needs at least 2")
    if len(ids) < MIN_UNITS:
        raise InvalidInput(
            f"{histories.source or 'histories'}: {len(ids)} run-to-failure units; training "
            f"needs at least {MIN_UNITS} (split into folds and validation units)"
        )
    if split is None:
        split = split_units(ids, config.seed, config.folds, config.validation_fraction)
    _check_split(split, ids)
    start = time.perf_counter()
    model = fit(histories, split, config)
    seconds = time.perf_counter() - start
    report = evaluate(
        model, histories.select_units(split.validation), config.cuts_per_unit, config.seed
    )
    return Trained(model=model, split=split, report=report, seconds=seconds)


def _check_split(split: UnitSplit, ids: IntArray) -> None:
    """Every unit in at most one part, every part non-empty and made of known units."""
    parts = [*split.folds, split.validation]
    joined = np.concatenate(parts)
    if len(np.unique(joined)) != len(joined):
        raise InvalidInput("the unit split puts a unit in two parts; each unit belongs to one")
    if not np.isin(joined, ids).all():
        raise InvalidInput("the unit split names units that are not in the histories")
    if any(len(p) == 0 for p in parts):
        raise InvalidInput("the unit split has an empty fold or no validation units")


__all__ = [
    "DEFAULT_PARAMS",
    "Trained",
    "TrainingConfig",
    "UnitSplit",
    "evaluate",
    "fit",
    "split_units",
    "train",
]
