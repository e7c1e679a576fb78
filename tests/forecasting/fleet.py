"""A synthetic fleet whose remaining useful life is known exactly, for tests."""

from __future__ import annotations

import numpy as np

from egide.forecasting.histories import Histories

FD002_CONDITIONS = np.array(
    [
        [0.0, 0.0, 100.0],
        [10.0, 0.25, 100.0],
        [20.0, 0.70, 100.0],
        [25.0, 0.62, 60.0],
        [35.0, 0.84, 100.0],
        [42.0, 0.84, 100.0],
    ]
)


def fleet(units: int, seed: int, conditions: int = 1, first_unit: int = 1) -> Histories:
    """Run-to-failure histories: damage grows quadratically after an onset, plus noise.

    Four informative sensors, one constant sensor; with ``conditions > 1`` each
    cycle flies one of FD002's operating conditions, which shifts every sensor.
    """
    rng = np.random.default_rng(seed)
    gains = np.array([3.0, -2.0, 1.5, 2.5])
    offsets = rng.normal(0, 5, size=(len(FD002_CONDITIONS), 4))
    rows_u, rows_c, rows_s, rows_x = [], [], [], []
    for u in range(first_unit, first_unit + units):
        life = int(rng.integers(130, 260))
        onset = life - int(rng.integers(70, 130))
        t = np.arange(1, life + 1)
        damage = (np.maximum(0, t - onset) / (life - onset)) ** 2
        wear = rng.normal(0, 0.3, size=4)
        condition = (
            rng.integers(0, conditions, size=life) if conditions > 1 else np.zeros(life, int)
        )
        settings = FD002_CONDITIONS[condition] + rng.normal(0, [0.002, 0.0002, 0.0], (life, 3))
        if conditions == 1:
            settings = rng.normal(0, [0.002, 0.0003, 0.0], (life, 3)) + np.array([0, 0, 100])
            settings = np.round(settings, 4)
        sensors = (
            10.0
            + wear
            + damage[:, None] * gains
            + offsets[condition]
            + rng.normal(0, 0.15, size=(life, 4))
        )
        rows_u.append(np.full(life, u))
        rows_c.append(t)
        rows_x.append(settings)
        rows_s.append(np.column_stack([sensors, np.full(life, 7.5)]))
    return Histories(
        units=np.concatenate(rows_u).astype(np.int64),
        cycles=np.concatenate(rows_c).astype(np.int64),
        setting_names=("setting_1", "setting_2", "setting_3"),
        settings=np.vstack(rows_x),
        sensor_names=("s1", "s2", "s3", "s4", "flat"),
        sensors=np.vstack(rows_s),
        source="synthetic",
    )


def write_cmapss(histories: Histories, path: str) -> None:
    """Write histories in NASA's C-MAPSS text layout."""
    with open(path, "w", encoding="utf-8") as out:
        for i in range(histories.rows):
            values = [*histories.settings[i], *histories.sensors[i]]
            fields = " ".join(f"{v:.4f}" for v in values)
            out.write(f"{histories.units[i]} {histories.cycles[i]} {fields}\n")


def in_service(histories: Histories, keep: dict[int, int]) -> Histories:
    """The first `keep[unit]` cycles of each listed unit: a fleet still in service."""
    mask = np.zeros(histories.rows, dtype=bool)
    for unit, cycles in keep.items():
        mask |= (histories.units == unit) & (histories.cycles <= cycles)
    return Histories(
        units=histories.units[mask],
        cycles=histories.cycles[mask],
        setting_names=histories.setting_names,
        settings=histories.settings[mask],
        sensor_names=histories.sensor_names,
        sensors=histories.sensors[mask],
        source=histories.source,
    )


def lives(histories: Histories) -> dict[int, int]:
    """Each unit's last cycle (its failure, for run-to-failure histories)."""
    return {int(u): int(histories.cycles[histories.units == u].max()) for u in histories.unit_ids()}
