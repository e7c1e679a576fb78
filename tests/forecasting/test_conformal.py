"""Conformal intervals hold their coverage where the truth is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from egide.forecasting.conformal import Conformal, calibrate


def _draw(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Predictions and truths whose error grows with the prediction (heteroscedastic)."""
    predicted = rng.uniform(0, 125, n)
    truth = predicted + rng.normal(0, 2 + predicted / 10)
    return predicted, truth


@pytest.mark.parametrize("level", [0.8, 0.9])
def test_coverage_holds_on_fresh_draws(level: float) -> None:
    rng = np.random.default_rng(7)
    conformal = calibrate(*_draw(2000, rng))
    predicted, truth = _draw(20_000, rng)
    low, high = conformal.interval(predicted, level)
    covered = np.mean((truth >= low) & (truth <= high))
    assert level - 0.02 <= covered <= level + 0.03
    # Mondrian bins adapt the width: small predictions, small errors, narrow intervals.
    narrow = predicted < 30
    assert np.mean((high - low)[narrow]) < 0.6 * np.mean((high - low)[~narrow])


def test_failure_probability_matches_the_known_distribution() -> None:
    rng = np.random.default_rng(8)
    conformal = calibrate(*_draw(4000, rng))
    predicted = np.array([20.0, 50.0, 100.0])
    horizon = 40.0
    p = conformal.probability_at_most(predicted, horizon)
    sigma = 2 + predicted / 10
    exact = 0.5 * (
        1 + np.array([math.erf(z) for z in (horizon - predicted) / sigma / math.sqrt(2)])
    )
    # Bins pool predictions of different spread, so compare loosely; the ordering is exact.
    np.testing.assert_allclose(p, exact, atol=0.08)
    assert p[0] > p[1] > p[2] > 0


def test_json_round_trip_and_refusals() -> None:
    rng = np.random.default_rng(9)
    conformal = calibrate(*_draw(1000, rng))
    again = Conformal.from_json(conformal.to_json())
    predicted = rng.uniform(0, 125, 50)
    np.testing.assert_allclose(
        again.interval(predicted, 0.9)[1], conformal.interval(predicted, 0.9)[1], atol=1e-3
    )
    with pytest.raises(ValueError, match="at least 100"):
        calibrate(np.zeros(50), np.zeros(50))
    with pytest.raises(ValueError, match="disagree"):
        Conformal.from_json({"edges": [1.0], "residuals": [[0.0]]})


def test_ties_merge_bins_rather_than_leave_one_short() -> None:
    predicted = np.r_[np.zeros(300), np.full(150, 125.0)]
    conformal = calibrate(predicted, predicted + 1.0, bins=4)
    assert all(len(r) >= 100 for r in conformal.residuals)
    assert len(conformal.residuals) == len(conformal.edges) + 1
