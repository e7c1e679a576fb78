"""Sensor histories: one row per unit and cycle, with operating settings and sensors.

A :class:`Histories` value is what every importer produces and what features,
training and prediction consume. Rows are sorted by unit, then cycle; cycles
within a unit are distinct. It holds no label and no storage reference: the
service layer that imports a file labels and journals it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from egide.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Histories:
    """Sensor histories of a fleet, sorted by unit then cycle."""

    units: IntArray
    cycles: IntArray
    setting_names: tuple[str, ...]
    settings: FloatArray
    sensor_names: tuple[str, ...]
    sensors: FloatArray
    source: str = ""

    def __post_init__(self) -> None:
        rows = len(self.units)
        if not (len(self.cycles) == rows == len(self.settings) == len(self.sensors)):
            raise ValueError("histories: columns of different lengths")
        if self.settings.shape[1] != len(self.setting_names):
            raise ValueError("histories: setting names do not match the setting columns")
        if self.sensors.shape[1] != len(self.sensor_names):
            raise ValueError("histories: sensor names do not match the sensor columns")

    @property
    def rows(self) -> int:
        """Number of observations (unit-cycles)."""
        return len(self.units)

    def unit_ids(self) -> IntArray:
        """The distinct units, in ascending order."""
        return np.unique(self.units)

    def bounds(self) -> dict[int, tuple[int, int]]:
        """Each unit's row range ``[start, stop)`` in this (sorted) table."""
        ids, starts, counts = np.unique(self.units, return_index=True, return_counts=True)
        return {int(u): (int(s), int(s + c)) for u, s, c in zip(ids, starts, counts, strict=True)}

    def select_units(self, keep: IntArray | list[int]) -> Histories:
        """The histories of the given units only."""
        mask = np.isin(self.units, np.asarray(keep, dtype=np.int64))
        return Histories(
            units=self.units[mask],
            cycles=self.cycles[mask],
            setting_names=self.setting_names,
            settings=self.settings[mask],
            sensor_names=self.sensor_names,
            sensors=self.sensors[mask],
            source=self.source,
        )

    def sensor_matrix(self, names: tuple[str, ...] | list[str]) -> FloatArray:
        """The columns of the named sensors, in that order.

        Raises:
            InvalidInput: a sensor the caller needs is absent from these histories.
        """
        index = {name: i for i, name in enumerate(self.sensor_names)}
        missing = [n for n in names if n not in index]
        if missing:
            raise InvalidInput(
                f"{self.source or 'histories'}: missing sensor column(s) "
                f"{', '.join(missing)} that the model needs; supply a file with the same "
                "sensors as the training data"
            )
        return self.sensors[:, [index[n] for n in names]]

    def setting_matrix(self, names: tuple[str, ...] | list[str]) -> FloatArray:
        """The columns of the named operating settings, in that order.

        Raises:
            InvalidInput: a setting the caller needs is absent.
        """
        index = {name: i for i, name in enumerate(self.setting_names)}
        missing = [n for n in names if n not in index]
        if missing:
            raise InvalidInput(
                f"{self.source or 'histories'}: missing operating setting column(s) "
                f"{', '.join(missing)} that the model needs; supply a file with the same "
                "settings as the training data"
            )
        return self.settings[:, [index[n] for n in names]]


@dataclass(frozen=True)
class SensorSummary:
    """One sensor across the fleet."""

    name: str
    mean: float
    std: float
    minimum: float
    maximum: float
    constant: bool


@dataclass(frozen=True)
class Description:
    """What an import found: units, cycles per unit, sensors, constant sensors."""

    source: str
    rows: int
    units: int
    cycles_min: int
    cycles_median: float
    cycles_max: int
    settings: tuple[str, ...]
    sensors: tuple[SensorSummary, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def constant_sensors(self) -> tuple[str, ...]:
        """Sensors that never change: they carry no information and are dropped."""
        return tuple(s.name for s in self.sensors if s.constant)

    def to_json(self) -> dict[str, Any]:
        """A JSON object for manifests and reports."""
        return {
            "source": self.source,
            "rows": self.rows,
            "units": self.units,
            "cycles_per_unit": {
                "min": self.cycles_min,
                "median": self.cycles_median,
                "max": self.cycles_max,
            },
            "settings": list(self.settings),
            "sensors": [
                {
                    "name": s.name,
                    "mean": s.mean,
                    "std": s.std,
                    "min": s.minimum,
                    "max": s.maximum,
                    "constant": s.constant,
                }
                for s in self.sensors
            ],
            "constant_sensors": list(self.constant_sensors),
            "notes": list(self.notes),
        }

    def lines(self) -> list[str]:
        """A human-readable summary, one line each."""
        out = [
            f"{self.source}: {self.units} units, {self.rows} cycles "
            f"(per unit min {self.cycles_min}, median {self.cycles_median:g}, "
            f"max {self.cycles_max}); {len(self.settings)} operating settings, "
            f"{len(self.sensors)} sensors"
        ]
        out.extend(self.notes)
        return out


def describe(histories: Histories) -> Description:
    """Summarise units and sensors; flag sensors that take a single value as constant."""
    if histories.rows == 0:
        raise InvalidInput(f"{histories.source or 'histories'}: no rows; supply a non-empty file")
    _, counts = np.unique(histories.units, return_counts=True)
    summaries = []
    for i, name in enumerate(histories.sensor_names):
        column = histories.sensors[:, i]
        lo, hi = float(column.min()), float(column.max())
        summaries.append(
            SensorSummary(
                name=name,
                mean=round(float(column.mean()), 6),
                std=round(float(column.std()), 6),
                minimum=lo,
                maximum=hi,
                constant=lo == hi,
            )
        )
    notes = []
    constant = [s.name for s in summaries if s.constant]
    if constant:
        notes.append(
            f"constant sensors dropped (a single value in every row): {', '.join(constant)}"
        )
    return Description(
        source=histories.source,
        rows=histories.rows,
        units=len(counts),
        cycles_min=int(counts.min()),
        cycles_median=float(np.median(counts)),
        cycles_max=int(counts.max()),
        settings=histories.setting_names,
        sensors=tuple(summaries),
        notes=tuple(notes),
    )
