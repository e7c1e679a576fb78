"""Risk ranking of a fleet, with the sensor trends that drive each unit's risk as evidence.

For each unit at its last observed cycle: the probability of failing within a
horizon (from the model's conformal predictive distribution, never
understated — see :mod:`egide.forecasting.conformal`), the RUL forecast and
its 80 % and 90 % intervals; units are ranked by that probability, then by
forecast RUL.

Which sensors "drive" a unit's risk is chosen in two steps, both reported:

1. **Importance** — what the model listens to: the LightGBM *gain* of every
   feature (total loss reduction brought by its splits), summed over all the
   features computed from one sensor (its level, window means, deviations,
   slopes, drift) and over the boosters, as a share of the total. It is the
   same for every unit.
2. **Deviation** — what is unusual in this unit: the mean of its last
   :data:`RECENT` regime-normalised readings, measured from the middle of the
   fleet's *healthy range* in half-widths of that range (1 = at its edge).
   The healthy range of a sensor is the 5th to 95th percentile of the
   readings of every unit of the fleet in its first :data:`HEALTHY_CYCLES`
   observed cycles, when the units were youngest (half-width at least
   :data:`MIN_HALF_WIDTH` regime standard deviations).

A sensor's score for a unit is importance × deviation: an important sensor
that reads normal is not evidence, nor is a deviating sensor the model
ignores. The :data:`DRIVERS` highest scores are the unit's drivers, drawn in
its SVG plot over its last :data:`PLOT_CYCLES` cycles against the healthy band.

Pure: takes a model and histories, returns values and SVG text; writes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from egide.forecasting.histories import FloatArray, Histories
from egide.forecasting.model import RulModel

DRIVERS = 3
"""Sensors shown as evidence per unit."""
RECENT = 10
"""Cycles whose mean measures a unit's current deviation."""
HEALTHY_CYCLES = 20
"""First observed cycles of each unit that define the fleet's healthy range."""
PLOT_CYCLES = 60
"""Cycles drawn in a unit's plot."""
BAND = (5.0, 95.0)
"""Percentiles bounding the healthy range."""
MIN_HALF_WIDTH = 0.25
"""Smallest healthy half-width, in regime standard deviations: a sensor that barely
varies while healthy (quantised, nearly constant) would otherwise turn one step of
its last digit into an enormous deviation."""


@dataclass(frozen=True)
class Driver:
    """A sensor offered as evidence of a unit's risk."""

    sensor: str
    importance: float  # share of the model's gain, 0..1
    deviation: float  # |recent mean − healthy middle| / healthy half-width
    recent: float  # mean of the last RECENT normalised readings
    healthy: tuple[float, float]  # healthy range, normalised units

    def to_json(self) -> dict[str, Any]:
        """The driver as a JSON object."""
        return {
            "sensor": self.sensor,
            "importance": round(self.importance, 4),
            "deviation": round(self.deviation, 2),
            "recent": round(self.recent, 3),
            "healthy": [round(self.healthy[0], 3), round(self.healthy[1], 3)],
        }


@dataclass(frozen=True)
class UnitRisk:
    """One unit's risk at its last observed cycle."""

    rank: int
    unit: int
    last_cycle: int
    p_fail: float
    rul: float
    interval80: tuple[float, float]
    interval90: tuple[float, float]
    drivers: tuple[Driver, ...]

    def to_json(self) -> dict[str, Any]:
        """The unit's row as a JSON object."""
        return {
            "rank": self.rank,
            "unit": self.unit,
            "last_cycle": self.last_cycle,
            "p_fail": round(self.p_fail, 4),
            "rul": round(self.rul, 1),
            "rul_80": [round(self.interval80[0], 1), round(self.interval80[1], 1)],
            "rul_90": [round(self.interval90[0], 1), round(self.interval90[1], 1)],
            "drivers": [d.to_json() for d in self.drivers],
        }


@dataclass(frozen=True)
class Ranking:
    """A fleet ranked by probability of failure within `horizon` cycles."""

    horizon: int
    units: tuple[UnitRisk, ...]
    importance: dict[str, float]
    plots: dict[int, str]  # unit → SVG text

    def to_json(self) -> dict[str, Any]:
        """The ranking (without the plots) as a JSON object."""
        return {
            "horizon": self.horizon,
            "method": {
                "p_fail": "conformal predictive distribution, upper bound",
                "drivers": "LightGBM gain share per sensor × deviation from the fleet's "
                f"healthy range (p{BAND[0]:g}-p{BAND[1]:g} of each unit's first "
                f"{HEALTHY_CYCLES} cycles), mean of the last {RECENT} cycles",
            },
            "importance": {k: round(v, 4) for k, v in self.importance.items()},
            "units": [u.to_json() for u in self.units],
        }

    def lines(self) -> list[str]:
        """The ranking as a fixed-width table."""
        out = [
            f"{'rank':>4} {'unit':>5} {'cycle':>5} {'p_fail':>7} {'rul':>6} "
            f"{'80 % interval':>14} {'90 % interval':>14}  drivers",
        ]
        for u in self.units:
            drivers = ", ".join(f"{d.sensor} ({d.deviation:.1f})" for d in u.drivers)
            out.append(
                f"{u.rank:>4} {u.unit:>5} {u.last_cycle:>5} {u.p_fail:>7.3f} {u.rul:>6.1f} "
                f"{_span(u.interval80):>14} {_span(u.interval90):>14}  {drivers}"
            )
        return out


def _span(interval: tuple[float, float]) -> str:
    return f"[{interval[0]:.0f}, {interval[1]:.0f}]"


def sensor_importance(model: RulModel) -> dict[str, float]:
    """Share of the model's total gain per sensor, summed over its features and boosters."""
    names = model.preprocessing.feature_names
    gain = np.zeros(len(names))
    for booster in model.boosters:
        gain += np.asarray(booster.feature_importance(importance_type="gain"), dtype=np.float64)
    per_sensor: dict[str, float] = {}
    for sensor in model.preprocessing.sensors:
        per_sensor[sensor] = float(
            sum(g for n, g in zip(names, gain, strict=True) if n == sensor or _of(n, sensor))
        )
    total = sum(per_sensor.values())
    if total <= 0:
        return {s: 1.0 / len(per_sensor) for s in per_sensor} if per_sensor else {}
    return {s: v / total for s, v in sorted(per_sensor.items(), key=lambda kv: -kv[1])}


def _of(feature: str, sensor: str) -> bool:
    prefix = sensor + "_"
    if not feature.startswith(prefix):
        return False
    rest = feature[len(prefix) :]
    return rest == "drift" or any(
        rest.startswith(k) and rest[len(k) :].isdigit() for k in ("mean", "std", "slope")
    )


def rank(model: RulModel, histories: Histories, horizon: int, drivers: int = DRIVERS) -> Ranking:
    """Rank every unit of `histories` by probability of failure within `horizon` cycles.

    Raises:
        InvalidInput: as :meth:`RulModel.forecast` (missing sensors, short
            histories, horizon outside 1..cap).
    """
    forecast = model.forecast(histories, horizon=horizon)
    p_fail = forecast.p_fail
    if p_fail is None:  # forecast() sets it whenever a horizon is given
        raise ValueError("forecast without failure probabilities")
    pre = model.preprocessing
    values = pre.regimes.normalise(
        histories.setting_matrix(pre.settings), histories.sensor_matrix(pre.sensors)
    )
    bounds = histories.bounds()
    healthy_rows = np.concatenate(
        [np.arange(a, min(b, a + HEALTHY_CYCLES)) for a, b in bounds.values()]
    )
    low = np.percentile(values[healthy_rows], BAND[0], axis=0)
    high = np.percentile(values[healthy_rows], BAND[1], axis=0)
    importance = sensor_importance(model)
    order = sorted(
        range(len(forecast.units)),
        key=lambda i: (-float(p_fail[i]), float(forecast.rul[i]), int(forecast.units[i])),
    )
    rows: list[UnitRisk] = []
    plots: dict[int, str] = {}
    for position, i in enumerate(order, start=1):
        unit = int(forecast.units[i])
        start, stop = bounds[unit]
        recent = values[max(start, stop - RECENT) : stop].mean(axis=0)
        chosen = _drivers(pre.sensors, importance, recent, low, high, drivers)
        risk = UnitRisk(
            rank=position,
            unit=unit,
            last_cycle=int(forecast.last_cycles[i]),
            p_fail=float(p_fail[i]),
            rul=float(forecast.rul[i]),
            interval80=_pair(forecast.intervals[0.8], i),
            interval90=_pair(forecast.intervals[0.9], i),
            drivers=chosen,
        )
        rows.append(risk)
        first = max(start, stop - PLOT_CYCLES)
        series = {d.sensor: values[first:stop, pre.sensors.index(d.sensor)] for d in chosen}
        plots[unit] = svg_plot(risk, histories.cycles[first:stop], series, horizon)
    return Ranking(horizon=horizon, units=tuple(rows), importance=importance, plots=plots)


def _pair(interval: tuple[FloatArray, FloatArray], i: int) -> tuple[float, float]:
    return float(interval[0][i]), float(interval[1][i])


def _drivers(
    sensors: tuple[str, ...],
    importance: dict[str, float],
    recent: FloatArray,
    low: FloatArray,
    high: FloatArray,
    count: int,
) -> tuple[Driver, ...]:
    found = []
    for j, sensor in enumerate(sensors):
        middle = (low[j] + high[j]) / 2
        half = max((high[j] - low[j]) / 2, MIN_HALF_WIDTH)
        deviation = abs(float(recent[j]) - float(middle)) / float(half)
        found.append(
            Driver(
                sensor=sensor,
                importance=importance.get(sensor, 0.0),
                deviation=deviation,
                recent=float(recent[j]),
                healthy=(float(low[j]), float(high[j])),
            )
        )
    found.sort(key=lambda d: (-d.importance * d.deviation, -d.importance, d.sensor))
    return tuple(found[:count])


# --- SVG --------------------------------------------------------------------------------

_W, _PANEL_H, _LEFT, _RIGHT, _TOP, _GAP = 640, 120, 64, 16, 56, 28
_COLOURS = ("#1f4e79", "#8a3b12", "#2e6b30", "#5b2c83")


def svg_plot(risk: UnitRisk, cycles: Any, series: dict[str, FloatArray], horizon: int) -> str:
    """A self-contained SVG: one panel per driver sensor, the unit's readings over its
    last cycles against the fleet's healthy band. No external font, image or script."""
    panels = max(1, len(series))
    height = _TOP + panels * (_PANEL_H + _GAP) + 8
    cyc = np.asarray(cycles, dtype=np.float64)
    x0, x1 = (float(cyc.min()), float(cyc.max())) if len(cyc) else (0.0, 1.0)
    if x1 <= x0:
        x1 = x0 + 1.0
    plot_w = _W - _LEFT - _RIGHT

    def x(c: float) -> float:
        return _LEFT + (c - x0) / (x1 - x0) * plot_w

    lo80, hi80 = risk.interval80
    title = (
        f"Unit {risk.unit} — rank {risk.rank}, P(failure within {horizon} cycles) = "
        f"{risk.p_fail:.2f}, RUL {risk.rul:.0f} cycles (80 %: {lo80:.0f}–{hi80:.0f})"
    )
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{height}" '
        f'viewBox="0 0 {_W} {height}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{_W}" height="{height}" fill="#ffffff"/>',
        f'<text x="{_LEFT}" y="18" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<text x="{_LEFT}" y="36" fill="#555555">Regime-normalised readings, last '
        f"{len(cyc)} cycles; grey band: fleet healthy range (p{BAND[0]:g}–p{BAND[1]:g} of "
        f"first {HEALTHY_CYCLES} cycles)</text>",
    ]
    driver_by_sensor = {d.sensor: d for d in risk.drivers}
    for k, (sensor, ys) in enumerate(series.items()):
        top = _TOP + k * (_PANEL_H + _GAP)
        d = driver_by_sensor[sensor]
        band_lo, band_hi = d.healthy
        finite = ys[np.isfinite(ys)] if len(ys) else np.empty(0)
        y_min = min(band_lo, float(finite.min()) if len(finite) else band_lo)
        y_max = max(band_hi, float(finite.max()) if len(finite) else band_hi)
        pad = (y_max - y_min) * 0.08 or 1.0
        y_min, y_max = y_min - pad, y_max + pad

        def y(v: float, top: float = top, y_min: float = y_min, y_max: float = y_max) -> float:
            return top + _PANEL_H - (v - y_min) / (y_max - y_min) * _PANEL_H

        colour = _COLOURS[k % len(_COLOURS)]
        parts.append(
            f'<rect x="{_LEFT}" y="{top}" width="{plot_w}" height="{_PANEL_H}" '
            'fill="none" stroke="#999999"/>'
        )
        parts.append(
            f'<rect x="{_LEFT}" y="{_f(y(band_hi))}" width="{plot_w}" '
            f'height="{_f(max(0.0, y(band_lo) - y(band_hi)))}" fill="#dddddd"/>'
        )
        points = " ".join(
            f"{_f(x(float(c)))},{_f(y(float(v)))}"
            for c, v in zip(cyc, ys, strict=True)
            if math.isfinite(float(v))
        )
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"/>'
        )
        label = (
            f"{sensor}: model importance {d.importance * 100:.0f} %, "
            f"deviation {d.deviation:.1f} half-widths"
        )
        parts.append(f'<text x="{_LEFT}" y="{top - 6}">{escape(label)}</text>')
        parts.append(
            f'<text x="{_LEFT - 4}" y="{_f(y(y_max - pad) + 4)}" text-anchor="end">'
            f"{y_max - pad:.2f}</text>"
        )
        parts.append(
            f'<text x="{_LEFT - 4}" y="{_f(y(y_min + pad) + 4)}" text-anchor="end">'
            f"{y_min + pad:.2f}</text>"
        )
        bottom = top + _PANEL_H + 12
        parts.append(f'<text x="{_LEFT}" y="{bottom}">cycle {x0:.0f}</text>')
        parts.append(
            f'<text x="{_W - _RIGHT}" y="{bottom}" text-anchor="end">cycle {x1:.0f}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _f(v: float) -> str:
    return f"{v:.1f}"
