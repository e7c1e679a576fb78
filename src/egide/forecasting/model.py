"""A trained RUL model: preprocessing, the LightGBM booster and its conformal calibration.

:meth:`RulModel.forecast` answers the operational question: for each unit, at
its last observed cycle, how many cycles are left, within which interval at
80 % and 90 %, and how likely it is to fail within a horizon.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np

from egide.errors import InvalidInput
from egide.forecasting.conformal import Conformal
from egide.forecasting.features import FeatureSpec, last_rows, window_features
from egide.forecasting.histories import FloatArray, Histories, IntArray
from egide.forecasting.regimes import Regimes

LEVELS = (0.8, 0.9)
"""Interval levels reported with every forecast."""
MIN_CYCLES = 5
"""Fewest observed cycles a unit needs for a forecast: below, trends are noise."""


@dataclass(frozen=True)
class Forecast:
    """Per unit, at its last observed cycle: RUL, intervals and failure probability."""

    units: IntArray
    last_cycles: IntArray
    rul: FloatArray
    intervals: dict[float, tuple[FloatArray, FloatArray]]
    horizon: int | None = None
    p_fail: FloatArray | None = field(default=None)

    def rows(self) -> list[dict[str, float | int]]:
        """One dictionary per unit, keys as the predictions file's columns."""
        out: list[dict[str, float | int]] = []
        for i, unit in enumerate(self.units):
            row: dict[str, float | int] = {"unit": int(unit), "rul": round(float(self.rul[i]), 1)}
            for level, (low, high) in sorted(self.intervals.items()):
                pct = round(level * 100)
                row[f"rul_low_{pct}"] = round(float(low[i]), 1)
                row[f"rul_high_{pct}"] = round(float(high[i]), 1)
            if self.p_fail is not None and self.horizon is not None:
                row["horizon"] = self.horizon
                row["p_fail"] = round(float(self.p_fail[i]), 4)
            out.append(row)
        return out


@dataclass(frozen=True)
class Preprocessing:
    """From raw histories to the feature matrix: sensors kept, regimes, windows."""

    settings: tuple[str, ...]
    sensors: tuple[str, ...]
    regimes: Regimes
    spec: FeatureSpec

    @property
    def feature_names(self) -> list[str]:
        """Feature names in column order."""
        return self.spec.names(self.sensors)

    def features(self, histories: Histories) -> FloatArray:
        """The feature matrix of every row of `histories`.

        Raises:
            InvalidInput: a setting or sensor the model needs is missing.
        """
        settings = histories.setting_matrix(self.settings)
        values = self.regimes.normalise(settings, histories.sensor_matrix(self.sensors))
        return window_features(histories.units, histories.cycles, values, self.spec)


@dataclass(frozen=True)
class RulModel:
    """Everything needed to turn sensor histories into RUL forecasts.

    The point forecast is the mean of the boosters (one per cross-validation
    fold); the conformal residuals are those of each fold's booster on the
    units it did not train on.
    """

    preprocessing: Preprocessing
    boosters: tuple[lgb.Booster, ...]
    conformal: Conformal
    cap: float

    def features(self, histories: Histories) -> FloatArray:
        """The feature matrix of every row of `histories` (see :class:`Preprocessing`)."""
        return self.preprocessing.features(histories)

    def predict_features(self, features: FloatArray) -> FloatArray:
        """Point predictions of RUL (mean of the boosters), clipped to ``[0, cap]``."""
        each = [predict_booster(b, features, self.cap) for b in self.boosters]
        return np.asarray(np.mean(each, axis=0), dtype=np.float64)

    def forecast(
        self,
        histories: Histories,
        horizon: int | None = None,
        levels: tuple[float, ...] = LEVELS,
        min_cycles: int = MIN_CYCLES,
    ) -> Forecast:
        """Forecast each unit at its last observed cycle.

        Raises:
            InvalidInput: a needed column is missing, a unit's history is shorter
                than `min_cycles`, or the horizon is outside ``1..cap``.
        """
        if horizon is not None and not 1 <= horizon <= self.cap:
            raise InvalidInput(
                f"horizon {horizon} is outside 1..{self.cap:g} cycles: remaining life is "
                f"capped at {self.cap:g}, so no probability beyond it is meaningful"
            )
        features = self.features(histories)  # missing columns are reported first
        ids, counts = np.unique(histories.units, return_counts=True)
        short = ids[counts < min_cycles]
        if len(short):
            listed = ", ".join(str(u) for u in short[:10]) + (" …" if len(short) > 10 else "")
            raise InvalidInput(
                f"{histories.source or 'histories'}: unit(s) {listed} have fewer than "
                f"{min_cycles} cycles of history; a forecast needs at least {min_cycles} — "
                "remove them or wait for more data"
            )
        last = last_rows(histories.units)
        predicted = self.predict_features(features[last])
        intervals = {
            level: self.conformal.interval(predicted, level, 0.0, self.cap) for level in levels
        }
        p_fail = None
        if horizon is not None:
            p_fail = self.conformal.probability_at_most(predicted, float(horizon))
        return Forecast(
            units=histories.units[last],
            last_cycles=histories.cycles[last],
            rul=predicted,
            intervals=intervals,
            horizon=horizon,
            p_fail=p_fail,
        )


def predict_booster(booster: lgb.Booster, features: FloatArray, cap: float) -> FloatArray:
    """The booster's RUL predictions, clipped to ``[0, cap]``."""
    raw = np.asarray(booster.predict(features, num_threads=threads()), dtype=np.float64)
    return np.clip(raw, 0.0, cap)


def threads() -> int:
    """LightGBM threads: one.

    LightGBM's OpenMP workers spin while they wait; on a machine whose cores
    are shared with other work (2 cores, load 4) 100 rounds on FD001 took
    26.6 s with 2 threads and 2.8 s with 1. One thread is predictable
    everywhere; the folds are where parallelism would pay, not inside a tree.
    """
    return 1
