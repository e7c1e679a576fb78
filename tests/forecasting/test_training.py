"""Training: units never leak across the split; intervals hold on units never seen."""

from __future__ import annotations

import numpy as np
import pytest

from egide.errors import InvalidInput
from egide.forecasting.features import rul_target
from egide.forecasting.metrics import coverage, rmse
from egide.forecasting.training import TrainingConfig, UnitSplit, cut_points, split_units, train
from tests.forecasting.fleet import fleet

FAST = TrainingConfig(rounds=60, folds=4)


def test_split_puts_each_unit_in_exactly_one_part() -> None:
    split = split_units(np.arange(1, 101), seed=3, folds=5, validation_fraction=0.2)
    parts = [*split.folds, split.validation]
    joined = np.concatenate(parts)
    assert sorted(joined.tolist()) == list(range(1, 101))
    assert len(split.validation) == 20
    for k in range(5):
        assert not set(split.training(k)) & set(split.folds[k])
        assert not set(split.training(k)) & set(split.validation)


def test_a_split_with_a_unit_in_two_parts_is_refused() -> None:
    h = fleet(12, seed=1)
    leaky = UnitSplit(
        folds=(np.array([1, 2, 3, 4]), np.array([5, 6, 7, 8])), validation=np.array([8, 9])
    )
    with pytest.raises(InvalidInput, match="a unit in two parts"):
        train(h, FAST, leaky)


def test_calibration_residuals_come_from_boosters_that_never_saw_the_unit() -> None:
    """Each booster errs more on its held-out fold than on its training units.

    Had the calibration units leaked into a booster's training, its held-out
    error would fall to its training error and the intervals would be too narrow.
    """
    h = fleet(40, seed=2)
    trained = train(h, FAST)
    pool = h.select_units(np.concatenate(trained.split.folds))
    assert sum(len(r) for r in trained.model.conformal.residuals) == pool.rows
    per_booster = []
    for k, booster in enumerate(trained.model.boosters):
        seen = pool.select_units(trained.split.training(k))
        unseen = pool.select_units(trained.split.folds[k])
        errors = [
            rmse(
                np.asarray(booster.predict(trained.model.features(part)), dtype=np.float64),
                rul_target(part.units, part.cycles),
            )
            for part in (seen, unseen)
        ]
        per_booster.append(errors)
    assert all(unseen > seen for seen, unseen in per_booster)


def test_intervals_cover_fresh_units_at_their_nominal_level() -> None:
    trained = train(fleet(60, seed=5), FAST)
    fresh = fleet(80, seed=6, first_unit=1000)
    model = trained.model
    cuts = cut_points(fresh.units, 10, seed=0)
    predicted = model.predict_features(model.features(fresh))[cuts]
    truth = rul_target(fresh.units, fresh.cycles)[cuts]
    assert rmse(predicted, truth) < 20
    for level in (0.8, 0.9):
        low, high = model.conformal.interval(predicted, level, 0.0, 125)
        assert coverage(low, high, truth) >= level - 0.06, level
    assert trained.report["units"] == 12 and trained.report["cuts"] == 120


def test_too_few_units_is_refused() -> None:
    with pytest.raises(InvalidInput, match="needs at least 10"):
        train(fleet(6, seed=1), FAST)
