"""Operating regimes: find them from the settings, then standardise each sensor per regime.

An engine at altitude reads differently from one at sea level, whatever its
wear. C-MAPSS FD002 and FD004 fly six operating conditions; FD001 one. Each
sensor is standardised with the mean and standard deviation of its regime, so
what remains is wear and noise.

Regimes are found by gap clustering, one setting at a time: sort the values,
cut wherever two neighbours are further apart than a tolerance (a fraction of
the setting's largest magnitude), and call each combination of per-setting
clusters seen in the data a regime. Clusters holding under 1 % of the rows
are noise and join their nearest neighbour; and clusters that do not explain
most of the sensors' variance are not operating conditions at all (FD001's
settings are noise around one condition), so the data is then one regime.

Written here rather than taken from scikit-learn's KMeans because KMeans
needs the number of regimes in advance and is seeded; this finds them from
the data, deterministically (one on FD001; six on a synthetic fleet flown at
FD002's six conditions, tests/forecasting), and its whole state is a short
JSON list of centres (no pickle). FD002 itself is not in ../shared/data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from egide.forecasting.histories import FloatArray, IntArray

GAP_FRACTION = 0.05
"""Two setting values further apart than this fraction of the setting's scale differ."""
MIN_SHARE = 0.01
"""A regime holds at least this share of the rows; smaller clusters are noise."""
MIN_EXPLAINED = 0.5
"""Regimes must explain at least this share of the sensors' variance, on average."""
_MIN_STD = 1e-9


@dataclass(frozen=True)
class Regimes:
    """Regime centres in settings space and each sensor's mean and spread per regime."""

    centres: FloatArray  # regimes x settings
    scales: FloatArray  # settings
    means: FloatArray  # regimes x sensors
    stds: FloatArray  # regimes x sensors

    @property
    def count(self) -> int:
        """How many regimes there are."""
        return len(self.centres)

    def assign(self, settings: FloatArray) -> IntArray:
        """The nearest regime of each row, distances measured in setting scales."""
        if self.centres.shape[1] == 0:
            return np.zeros(len(settings), dtype=np.int64)
        scaled = settings / self.scales
        centres = self.centres / self.scales
        distance = ((scaled[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        return np.asarray(distance.argmin(axis=1), dtype=np.int64)

    def normalise(self, settings: FloatArray, sensors: FloatArray) -> FloatArray:
        """Sensors standardised by their regime's statistics."""
        regime = self.assign(settings)
        return np.asarray((sensors - self.means[regime]) / self.stds[regime], dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        """The state to keep in a model manifest."""
        return {
            "centres": self.centres.tolist(),
            "scales": self.scales.tolist(),
            "means": self.means.tolist(),
            "stds": self.stds.tolist(),
        }

    @classmethod
    def from_json(cls, value: dict[str, Any], settings: int, sensors: int) -> Regimes:
        """Rebuild from :meth:`to_json`, checking the shapes.

        Raises:
            ValueError: the shapes do not match the model's settings and sensors.
        """
        centres = np.asarray(value["centres"], dtype=np.float64).reshape(-1, settings)
        regimes = len(centres)
        out = cls(
            centres=centres,
            scales=np.asarray(value["scales"], dtype=np.float64).reshape(settings),
            means=np.asarray(value["means"], dtype=np.float64).reshape(regimes, sensors),
            stds=np.asarray(value["stds"], dtype=np.float64).reshape(regimes, sensors),
        )
        if regimes == 0 or not np.all(out.stds > 0) or not np.all(out.scales > 0):
            raise ValueError("regimes: empty, or a zero scale")
        return out


def cluster_1d(values: FloatArray, tolerance: float) -> IntArray:
    """Cluster ids of `values`: a new cluster starts at each gap wider than `tolerance`."""
    order = np.argsort(values, kind="stable")
    gaps = np.diff(values[order]) > tolerance
    ids = np.empty(len(values), dtype=np.int64)
    ids[order] = np.r_[0, np.cumsum(gaps)]
    return ids


def _absorb_small(settings: FloatArray, labels: IntArray, scales: FloatArray) -> IntArray:
    """Give the rows of clusters under `MIN_SHARE` of the data to the nearest large cluster.

    Sensor noise on a setting leaves wide gaps in the tails of its
    distribution; those slivers are not operating conditions.
    """
    counts = np.bincount(labels)
    large = np.flatnonzero(counts >= MIN_SHARE * len(labels))
    if len(large) == len(counts):
        return labels
    if len(large) == 0:
        return np.zeros(len(labels), dtype=np.int64)
    centres = np.vstack([settings[labels == r].mean(axis=0) for r in large]) / scales
    distance = (((settings / scales)[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return np.asarray(distance.argmin(axis=1), dtype=np.int64)


def _shift_sensors(sensors: FloatArray, labels: IntArray) -> bool:
    """Whether the clusters explain at least `MIN_EXPLAINED` of the sensors' variance.

    Noisy or finely quantised settings (FD001's) split into clusters that do
    not move the sensors: those are not operating conditions.
    """
    if labels.max() == 0:
        return False
    total = sensors.var(axis=0)
    varying = total > _MIN_STD
    if not varying.any():
        return False
    means = np.vstack([sensors[labels == r].mean(axis=0) for r in range(int(labels.max()) + 1)])
    between = means[labels].var(axis=0)
    return bool(np.mean(between[varying] / total[varying]) >= MIN_EXPLAINED)


def fit_regimes(settings: FloatArray, sensors: FloatArray) -> Regimes:
    """Find the operating regimes in `settings` and each sensor's statistics within them."""
    if settings.shape[1] == 0:
        labels = np.zeros(len(settings), dtype=np.int64)
        scales = np.ones(0)
    else:
        scales = np.maximum(np.abs(settings).max(axis=0), _MIN_STD)
        per_setting = [
            cluster_1d(settings[:, j], GAP_FRACTION * scales[j]) for j in range(settings.shape[1])
        ]
        _, labels = np.unique(np.column_stack(per_setting), axis=0, return_inverse=True)
        labels = _absorb_small(settings, labels.reshape(-1), scales)
    if not _shift_sensors(sensors, labels):
        labels = np.zeros(len(settings), dtype=np.int64)
    count = int(labels.max()) + 1
    centres = np.vstack([settings[labels == r].mean(axis=0) for r in range(count)])
    means = np.vstack([sensors[labels == r].mean(axis=0) for r in range(count)])
    stds = np.vstack([sensors[labels == r].std(axis=0) for r in range(count)])
    # A sensor constant within a regime carries no wear signal there: divide by 1, not 0.
    stds = np.where(stds > _MIN_STD, stds, 1.0)
    return Regimes(
        centres=centres.reshape(count, settings.shape[1]), scales=scales, means=means, stds=stds
    )
