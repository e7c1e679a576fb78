"""Accuracy of RUL forecasts: RMSE, the NASA asymmetric score, interval coverage."""

from __future__ import annotations

import numpy as np

from egide.forecasting.histories import FloatArray


def rmse(predicted: FloatArray, truth: FloatArray) -> float:
    """Root mean squared error, in cycles."""
    return float(np.sqrt(np.mean((predicted - truth) ** 2)))


def nasa_score(predicted: FloatArray, truth: FloatArray) -> float:
    """The PHM08 challenge score (Saxena et al. 2008), summed over the forecasts.

    ``exp(−d/13) − 1`` for an early forecast (d = predicted − truth < 0),
    ``exp(d/10) − 1`` for a late one: a late forecast, which lets an engine fail
    in service, costs more than an early one.
    """
    d = predicted - truth
    return float(np.sum(np.where(d < 0, np.exp(-d / 13.0) - 1.0, np.exp(d / 10.0) - 1.0)))


def coverage(low: FloatArray, high: FloatArray, truth: FloatArray) -> float:
    """Fraction of truths inside their interval (bounds included)."""
    return float(np.mean((truth >= low) & (truth <= high)))
