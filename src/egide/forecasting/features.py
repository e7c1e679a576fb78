"""Windowed features of sensor histories, and the capped remaining-useful-life target.

Every feature at a unit's cycle *t* uses only that unit's cycles up to *t*
(trailing windows): the features of a history cut at *t* are the features of
the full history at *t*, so a model validated on cut histories sees exactly
what it will see in service. Per sensor, on regime-normalised values:

- ``<sensor>``: the value at *t*;
- ``<sensor>_mean<w>``: mean over the last *w* cycles (fewer at the start);
- ``<sensor>_std<w>``: standard deviation over the last *w* cycles;
- ``<sensor>_slope<w>``: least-squares trend per cycle over the last *w* cycles;
- ``<sensor>_drift``: mean of the last ``baseline`` cycles minus the mean of the
  unit's first ``baseline`` cycles — wear relative to the unit's own start,
  which removes its manufacturing offset;

plus ``cycle``, the unit's age. All are computed from running sums in one
vectorised pass over the table (no Python loop over rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from egide.forecasting.histories import FloatArray, IntArray

RUL_CAP = 125
"""Remaining useful life is capped here (piecewise-linear target, Heimes 2008 and since)."""


@dataclass(frozen=True)
class FeatureSpec:
    """Which windows to compute; kept in the model manifest."""

    mean_windows: tuple[int, ...] = (5, 10, 20, 30)
    std_windows: tuple[int, ...] = (10, 30)
    slope_windows: tuple[int, ...] = (10, 20, 30)
    baseline: int = 10

    def names(self, sensors: tuple[str, ...] | list[str]) -> list[str]:
        """Feature names, in column order."""
        out = ["cycle"]
        for s in sensors:
            out.append(s)
            out += [f"{s}_mean{w}" for w in self.mean_windows]
            out += [f"{s}_std{w}" for w in self.std_windows]
            out += [f"{s}_slope{w}" for w in self.slope_windows]
            out.append(f"{s}_drift")
        return out

    def to_json(self) -> dict[str, Any]:
        """The spec as a JSON object."""
        return {
            "mean_windows": list(self.mean_windows),
            "std_windows": list(self.std_windows),
            "slope_windows": list(self.slope_windows),
            "baseline": self.baseline,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> FeatureSpec:
        """Rebuild from :meth:`to_json`."""
        return cls(
            mean_windows=tuple(int(w) for w in value["mean_windows"]),
            std_windows=tuple(int(w) for w in value["std_windows"]),
            slope_windows=tuple(int(w) for w in value["slope_windows"]),
            baseline=int(value["baseline"]),
        )


def unit_starts(units: IntArray) -> IntArray:
    """For each row of a unit-sorted table, the index of its unit's first row."""
    boundary = np.r_[True, units[1:] != units[:-1]]
    return np.asarray(np.maximum.accumulate(np.where(boundary, np.arange(len(units)), 0)))


class _Running:
    """Sums over trailing windows within each unit, from one cumulative sum per quantity."""

    def __init__(self, units: IntArray) -> None:
        self.index = np.arange(len(units))
        self.start = unit_starts(units)

    def window(self, w: int) -> tuple[IntArray, IntArray]:
        """First row (inclusive) and row count of each row's trailing window of `w`."""
        first = np.maximum(self.start, self.index - w + 1)
        return first, self.index - first + 1

    @staticmethod
    def cumulative(values: FloatArray) -> FloatArray:
        """Cumulative sums with a leading row of zeros (so ``c[b] - c[a]`` sums rows a..b-1)."""
        zero = np.zeros((1, *values.shape[1:]))
        return np.concatenate([zero, np.cumsum(values, axis=0)])


def window_features(
    units: IntArray, cycles: IntArray, values: FloatArray, spec: FeatureSpec
) -> FloatArray:
    """The feature matrix (rows as `values`, columns as ``spec.names(sensors)``).

    `units` must be sorted (rows grouped by unit, in cycle order within it).
    """
    rows, sensors = values.shape
    run = _Running(units)
    end = run.index + 1
    x = cycles.astype(np.float64)[:, None]
    c_v = run.cumulative(values)
    c_vv = run.cumulative(values * values)
    c_x = run.cumulative(x)
    c_xx = run.cumulative(x * x)
    c_xv = run.cumulative(x * values)

    def total(c: FloatArray, first: IntArray) -> FloatArray:
        return np.asarray(c[end] - c[first])

    blocks: dict[str, FloatArray] = {}
    for w in spec.mean_windows:
        first, n = run.window(w)
        blocks[f"mean{w}"] = total(c_v, first) / n[:, None]
    for w in spec.std_windows:
        first, n = run.window(w)
        mean = total(c_v, first) / n[:, None]
        variance = total(c_vv, first) / n[:, None] - mean * mean
        blocks[f"std{w}"] = np.sqrt(np.maximum(variance, 0.0))
    for w in spec.slope_windows:
        first, n = run.window(w)
        nn = n[:, None].astype(np.float64)
        sx, sxx = total(c_x, first), total(c_xx, first)
        sv, sxv = total(c_v, first), total(c_xv, first)
        denominator = nn * sxx - sx * sx
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = (nn * sxv - sx * sv) / denominator
        blocks[f"slope{w}"] = np.where(denominator > 0, slope, 0.0)
    recent_first, recent_n = run.window(spec.baseline)
    recent = total(c_v, recent_first) / recent_n[:, None]
    base_end = np.minimum(run.start + spec.baseline, end)
    baseline = (c_v[base_end] - c_v[run.start]) / (base_end - run.start)[:, None]
    blocks["drift"] = recent - baseline

    order = (
        [f"mean{w}" for w in spec.mean_windows]
        + [f"std{w}" for w in spec.std_windows]
        + [f"slope{w}" for w in spec.slope_windows]
        + ["drift"]
    )
    per_sensor = 1 + len(order)
    out = np.empty((rows, 1 + sensors * per_sensor), dtype=np.float64)
    out[:, 0] = cycles
    for j in range(sensors):
        base = 1 + j * per_sensor
        out[:, base] = values[:, j]
        for k, key in enumerate(order, start=1):
            out[:, base + k] = blocks[key][:, j]
    return out


def rul_target(units: IntArray, cycles: IntArray, cap: float = RUL_CAP) -> FloatArray:
    """Remaining useful life of run-to-failure histories, capped: ``min(cap, last - cycle)``.

    Each unit is taken to fail at its last observed cycle.
    """
    last = np.empty(len(units), dtype=np.int64)
    boundary = np.r_[units[1:] != units[:-1], True]
    ends = np.flatnonzero(boundary)
    starts = np.r_[0, ends[:-1] + 1]
    for s, e in zip(starts, ends, strict=True):
        last[s : e + 1] = cycles[e]
    return np.minimum(cap, (last - cycles).astype(np.float64))


def last_rows(units: IntArray) -> IntArray:
    """Index of each unit's last row in a unit-sorted table."""
    return np.flatnonzero(np.r_[units[1:] != units[:-1], True])
