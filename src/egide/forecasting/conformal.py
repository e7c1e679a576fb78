"""Split conformal prediction intervals and failure probabilities, calibrated on held-out units.

The calibration units are units the model never trained on. Their signed
residuals (truth − prediction) are sorted into bins of predicted RUL
("Mondrian" conformal prediction): an engine predicted to have 10 cycles left
is judged by the errors made on other engines predicted near 10, not by the
larger errors made in mid-life. Within a bin, for a new unit whose residual is
exchangeable with the calibration residuals, the interval
``[ŷ + e_(lo), ŷ + e_(hi)]`` with ``lo = ⌊(n+1)α/2⌋`` and ``hi = ⌈(n+1)(1−α/2)⌉``
covers the truth with probability at least ``1 − α`` (Vovk et al. 2005;
Lei et al. 2018). The same residuals give a predictive distribution, hence the
probability that the unit fails within a horizon.

Hand-written rather than MAPIE's: the calibrated state must live in a JSON
manifest (MAPIE objects are saved by pickle, which we refuse), it must be
calibrated on a split by unit that we control, and the whole method is the
two quantile indices above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from egide.forecasting.histories import FloatArray, IntArray

MIN_PER_BIN = 100
"""Fewest calibration residuals in a bin: enough for a 95 % upper quantile and more."""


@dataclass(frozen=True)
class Conformal:
    """Sorted calibration residuals per bin of predicted RUL."""

    edges: tuple[float, ...]  # interior edges between bins, ascending
    residuals: tuple[FloatArray, ...]  # sorted truth − prediction, one array per bin

    def bins(self, predicted: FloatArray) -> IntArray:
        """The bin of each prediction."""
        return np.asarray(np.searchsorted(np.asarray(self.edges), predicted, side="right"))

    def interval(
        self, predicted: FloatArray, level: float, low: float = 0.0, high: float = math.inf
    ) -> tuple[FloatArray, FloatArray]:
        """Lower and upper bounds holding the truth with probability `level`, clipped."""
        alpha = 1.0 - level
        lo = np.empty(len(predicted))
        hi = np.empty(len(predicted))
        for b, found in enumerate(self.bins(predicted)):
            residuals = self.residuals[found]
            n = len(residuals)
            k_lo = math.floor((n + 1) * alpha / 2)
            k_hi = math.ceil((n + 1) * (1 - alpha / 2))
            lo[b] = predicted[b] + residuals[k_lo - 1] if k_lo >= 1 else -math.inf
            hi[b] = predicted[b] + residuals[k_hi - 1] if k_hi <= n else math.inf
        return np.clip(lo, low, high), np.clip(hi, low, high)

    def probability_at_most(self, predicted: FloatArray, horizon: float) -> FloatArray:
        """Probability that the truth is at most `horizon` (fails within `horizon` cycles).

        ``(#{e_i ≤ horizon − ŷ} + 1) / (n + 1)``: the upper of the conformal
        predictive distribution's two bounds, so a risk is never understated.
        """
        out = np.empty(len(predicted))
        for i, found in enumerate(self.bins(predicted)):
            residuals = self.residuals[found]
            below = np.searchsorted(residuals, horizon - predicted[i], side="right")
            out[i] = (below + 1) / (len(residuals) + 1)
        return np.minimum(out, 1.0)

    def to_json(self) -> dict[str, Any]:
        """The calibrated state for a model manifest (residuals rounded to 1e-4 cycles).

        ``interval_offsets`` (per level, per bin: what is added to the forecast
        for the lower and upper bound) is for readers; loading uses the residuals.
        """
        offsets = {}
        for level in (0.8, 0.9):
            alpha = 1.0 - level
            per_bin = []
            for r in self.residuals:
                k_lo = math.floor((len(r) + 1) * alpha / 2)
                k_hi = math.ceil((len(r) + 1) * (1 - alpha / 2))
                low = round(float(r[k_lo - 1]), 4) if k_lo >= 1 else None
                high = round(float(r[k_hi - 1]), 4) if k_hi <= len(r) else None
                per_bin.append([low, high])
            offsets[f"{round(level * 100)}"] = per_bin
        return {
            "method": "split conformal, Mondrian bins of predicted RUL, signed residuals",
            "edges": list(self.edges),
            "interval_offsets": offsets,
            "residuals": [[round(float(r), 4) for r in bin_] for bin_ in self.residuals],
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Conformal:
        """Rebuild from :meth:`to_json`.

        Raises:
            ValueError: the bins and edges disagree, or a bin is empty.
        """
        edges = tuple(float(e) for e in value["edges"])
        residuals = tuple(np.sort(np.asarray(r, dtype=np.float64)) for r in value["residuals"])
        if len(residuals) != len(edges) + 1 or any(len(r) == 0 for r in residuals):
            raise ValueError("conformal: bins and edges disagree, or a bin is empty")
        if list(edges) != sorted(edges):
            raise ValueError("conformal: edges are not ascending")
        return cls(edges=edges, residuals=residuals)


def calibrate(
    predicted: FloatArray, truth: FloatArray, bins: int = 4, min_per_bin: int = MIN_PER_BIN
) -> Conformal:
    """Calibrate on held-out predictions: up to `bins` equal-count bins of predicted RUL.

    Raises:
        ValueError: fewer calibration points than one bin needs.
    """
    n = len(predicted)
    if n < min_per_bin:
        raise ValueError(
            f"conformal calibration needs at least {min_per_bin} held-out points, got {n}"
        )
    bins = max(1, min(bins, n // min_per_bin))
    quantiles = np.quantile(predicted, np.arange(1, bins) / bins) if bins > 1 else np.empty(0)
    edge_tuple = tuple(float(e) for e in np.unique(quantiles))
    found = np.searchsorted(np.asarray(edge_tuple), predicted, side="right")
    residuals = truth - predicted
    groups = [np.sort(residuals[found == b]) for b in range(len(edge_tuple) + 1)]
    # Ties in the predictions can leave a bin short: merge it into its neighbour.
    while len(groups) > 1 and min(len(g) for g in groups) < min_per_bin:
        b = min(range(len(groups)), key=lambda i: len(groups[i]))
        other = b - 1 if b == len(groups) - 1 else b + 1
        merged = np.sort(np.concatenate([groups[b], groups[other]]))
        low, high = min(b, other), max(b, other)
        groups[low : high + 1] = [merged]
        edge_list = list(edge_tuple)
        del edge_list[low]
        edge_tuple = tuple(edge_list)
    return Conformal(edges=edge_tuple, residuals=tuple(groups))
