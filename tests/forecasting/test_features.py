"""Windowed features on hand-made series; causality; the capped target; regimes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from egide.forecasting.features import FeatureSpec, rul_target, window_features
from egide.forecasting.regimes import fit_regimes
from tests.forecasting.fleet import fleet

SPEC = FeatureSpec(mean_windows=(2,), std_windows=(2,), slope_windows=(3,), baseline=2)


def test_hand_computed_windows_do_not_cross_units() -> None:
    units = np.array([1, 1, 1, 1, 1, 2, 2])
    cycles = np.array([1, 2, 3, 4, 5, 1, 2])
    values = np.array([[1.0], [2], [4], [4], [9], [100], [102]])
    f = window_features(units, cycles, values, SPEC)
    assert SPEC.names(["s"]) == ["cycle", "s", "s_mean2", "s_std2", "s_slope3", "s_drift"]
    expected = np.array(
        [
            [1, 1, 1.0, 0.0, 0.0, 0.0],
            [2, 2, 1.5, 0.5, 1.0, 0.0],
            [3, 4, 3.0, 1.0, 1.5, 1.5],
            [4, 4, 4.0, 0.0, 1.0, 2.5],
            [5, 9, 6.5, 2.5, 2.5, 5.0],
            [1, 100, 100.0, 0.0, 0.0, 0.0],
            [2, 102, 101.0, 1.0, 2.0, 0.0],
        ]
    )
    np.testing.assert_allclose(f, expected, atol=1e-9)


def test_slope_uses_cycle_numbers_when_cycles_skip() -> None:
    units = np.array([1, 1, 1])
    cycles = np.array([1, 3, 5])
    f = window_features(units, cycles, np.array([[0.0], [1.0], [2.0]]), SPEC)
    assert f[2, 4] == 0.5  # one unit of value per two cycles


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=1, max_value=60), st.integers(min_value=0, max_value=10_000))
def test_features_look_only_backwards(cut: int, seed: int) -> None:
    """Features at cycle t of a full history equal those of the history cut at t."""
    rng = np.random.default_rng(seed)
    cycles = np.arange(1, 61)
    units = np.ones(60, dtype=np.int64)
    values = rng.normal(size=(60, 3)).cumsum(axis=0)
    full = window_features(units, cycles, values, FeatureSpec())
    cut_short = window_features(units[:cut], cycles[:cut], values[:cut], FeatureSpec())
    np.testing.assert_allclose(full[cut - 1], cut_short[-1], rtol=1e-9, atol=1e-9)


def test_rul_target_is_capped_and_counts_down_per_unit() -> None:
    units = np.array([1] * 130 + [2] * 3)
    cycles = np.r_[np.arange(1, 131), np.arange(1, 4)]
    rul = rul_target(units, cycles, cap=125)
    assert rul[0] == 125 and rul[4] == 125 and rul[5] == 124 and rul[129] == 0
    assert rul[130:].tolist() == [2, 1, 0]


def test_six_operating_conditions_are_found_and_normalised_away() -> None:
    h = fleet(12, seed=3, conditions=6)
    regimes = fit_regimes(h.settings, h.sensors[:, :4])
    assert regimes.count == 6
    normal = regimes.normalise(h.settings, h.sensors[:, :4])
    # The conditions shift sensors by tens of noise widths; normalised, per-regime means are 0.
    assigned = regimes.assign(h.settings)
    for r in range(6):
        np.testing.assert_allclose(normal[assigned == r].mean(axis=0), 0, atol=1e-9)


def test_noise_in_one_condition_is_one_regime() -> None:
    """FD001's settings: quantised noise around a single condition."""
    h = fleet(12, seed=4, conditions=1)
    assert len(np.unique(h.settings[:, 1])) > 5
    assert fit_regimes(h.settings, h.sensors[:, :4]).count == 1
