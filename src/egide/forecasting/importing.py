"""Import sensor histories from C-MAPSS text, CSV or Parquet, with errors that name the line.

Formats, chosen by the file's extension:

- ``.txt`` — NASA C-MAPSS: no header, whitespace-separated, columns unit,
  cycle, three operating settings, then sensors (21 in the NASA files).
- ``.csv`` — a header row, comma-separated. ``unit`` and one of ``cycle`` or
  ``timestamp`` (ISO 8601) are required; columns whose name starts with
  ``setting`` or ``op_setting`` are operating settings; every other column is
  a sensor.
- ``.parquet`` — the same columns as CSV.

Every schema error raises :class:`~egide.errors.InvalidInput` naming the file,
the line (or Parquet row) and what to do. The CSV and text readers are the
standard library's: they keep exact line numbers, which a bulk reader does not.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np

from egide.errors import InvalidInput
from egide.forecasting.histories import Histories

CMAPSS_SETTINGS = 3
_SUFFIXES = {".txt": "cmapss", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
SETTING_PREFIXES = ("setting", "op_setting")


def read_histories(path: Path) -> Histories:
    """Read a history file in the format its extension names.

    Raises:
        InvalidInput: the file is missing, of an unknown kind, or malformed.
    """
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file; give the path of a sensor history file")
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InvalidInput(
            f"{path}: unknown file type {path.suffix or '(none)'}; use .txt (C-MAPSS), "
            ".csv or .parquet"
        )
    if kind == "cmapss":
        return read_cmapss(path)
    if kind == "csv":
        return read_csv(path)
    return read_parquet(path)


def read_cmapss(path: Path) -> Histories:
    """Read a NASA C-MAPSS text file (unit, cycle, 3 settings, sensors; no header)."""
    rows: list[list[float]] = []
    lines: list[int] = []
    width = 0
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if not width:
            width = len(fields)
            if width < 3 + CMAPSS_SETTINGS:
                raise InvalidInput(
                    f"{path}:{number}: {width} columns; a C-MAPSS file has unit, cycle, "
                    f"{CMAPSS_SETTINGS} operating settings and at least one sensor"
                )
        elif len(fields) != width:
            raise InvalidInput(
                f"{path}:{number}: {len(fields)} columns where the first line has {width}; "
                "every line needs the same columns"
            )
        rows.append([_number(path, number, f"column {i + 1}", v) for i, v in enumerate(fields)])
        lines.append(number)
    if not rows:
        raise InvalidInput(f"{path}: the file is empty; supply sensor histories")
    table = np.asarray(rows, dtype=np.float64)
    sensors = width - 2 - CMAPSS_SETTINGS
    return _assemble(
        str(path),
        table[:, 0],
        table[:, 1],
        tuple(f"setting_{i + 1}" for i in range(CMAPSS_SETTINGS)),
        table[:, 2 : 2 + CMAPSS_SETTINGS],
        tuple(f"sensor_{i + 1}" for i in range(sensors)),
        table[:, 2 + CMAPSS_SETTINGS :],
        np.asarray(lines),
        "line",
    )


def read_csv(path: Path) -> Histories:
    """Read a CSV file with a header (see the module docstring for the columns)."""
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    header = next(reader, None)
    if header is None:
        raise InvalidInput(f"{path}: the file is empty; supply a header and sensor histories")
    layout = _Layout(path, [h.strip() for h in header], "line 1")
    values: list[list[float]] = []
    stamps: list[str] = []
    lines: list[int] = []
    for record in reader:
        number = reader.line_num
        if not record or all(not f.strip() for f in record):
            continue
        if len(record) != len(header):
            raise InvalidInput(
                f"{path}:{number}: {len(record)} fields where the header has {len(header)}"
            )
        row = []
        for i in layout.numeric:
            row.append(_number(path, number, f"column {header[i]!r}", record[i]))
        values.append(row)
        if layout.timestamp is not None:
            stamps.append(record[layout.timestamp].strip())
        lines.append(number)
    if not values:
        raise InvalidInput(f"{path}: a header but no rows; supply sensor histories")
    return layout.build(np.asarray(values, dtype=np.float64), stamps, np.asarray(lines), "line")


def read_parquet(path: Path) -> Histories:
    """Read a Parquet file with the same columns as a CSV file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        raise InvalidInput(f"{path}: not a readable Parquet file ({error})") from None
    layout = _Layout(path, list(table.column_names), "schema")
    if table.num_rows == 0:
        raise InvalidInput(f"{path}: no rows; supply sensor histories")
    columns = []
    for i in layout.numeric:
        name = table.column_names[i]
        column = table.column(i)
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
            raise InvalidInput(
                f"{path}: column {name!r} has type {column.type}; it must be numeric"
            )
        array = column.to_numpy(zero_copy_only=False).astype(np.float64)
        if column.null_count:
            row = int(np.flatnonzero(np.isnan(array))[0]) + 1
            raise InvalidInput(f"{path}: row {row}, column {name!r}: missing value")
        columns.append(array)
    stamps: list[str] = []
    if layout.timestamp is not None:
        column = table.column(layout.timestamp)
        stamps = ["" if v is None else str(v) for v in column.to_pylist()]
    rows = np.arange(1, table.num_rows + 1)
    return layout.build(np.column_stack(columns), stamps, rows, "row")


class _Layout:
    """Which header column is the unit, the cycle or timestamp, a setting, a sensor."""

    def __init__(self, path: Path, header: Sequence[str], where: str) -> None:
        self.path = path
        lowered = [h.lower() for h in header]
        seen: set[str] = set()
        for name in lowered:
            if not name:
                raise InvalidInput(f"{path}: {where}: a column has no name")
            if name in seen:
                raise InvalidInput(f"{path}: {where}: column {name!r} appears twice")
            seen.add(name)
        if "unit" not in lowered:
            raise InvalidInput(
                f"{path}: {where}: no 'unit' column; the header needs unit, cycle (or "
                "timestamp), the operating settings (setting_*) and the sensors"
            )
        has_cycle, has_time = "cycle" in lowered, "timestamp" in lowered
        if has_cycle == has_time:
            raise InvalidInput(
                f"{path}: {where}: the header needs exactly one of 'cycle' or 'timestamp'"
            )
        self.timestamp = lowered.index("timestamp") if has_time else None
        order = [lowered.index("unit")] + ([lowered.index("cycle")] if has_cycle else [])
        self.settings = [i for i, n in enumerate(lowered) if n.startswith(SETTING_PREFIXES)]
        self.sensors = [
            i
            for i, n in enumerate(lowered)
            if i not in order and i != self.timestamp and i not in self.settings
        ]
        if not self.sensors:
            raise InvalidInput(f"{path}: {where}: no sensor columns")
        self.numeric = order + self.settings + self.sensors
        self.names = list(header)

    def build(
        self, values: np.ndarray, stamps: list[str], where: np.ndarray, kind: str
    ) -> Histories:
        units = values[:, 0]
        first = 1 if self.timestamp is not None else 2
        if self.timestamp is not None:
            cycles = _cycles_from_timestamps(self.path, units, stamps, where, kind)
        else:
            cycles = values[:, 1]
        s = len(self.settings)
        return _assemble(
            str(self.path),
            units,
            cycles,
            tuple(self.names[i] for i in self.settings),
            values[:, first : first + s],
            tuple(self.names[i] for i in self.sensors),
            values[:, first + s :],
            where,
            kind,
        )


def _cycles_from_timestamps(
    path: Path, units: np.ndarray, stamps: list[str], where: np.ndarray, kind: str
) -> np.ndarray:
    """Number each unit's observations 1, 2, … in time order: one row is one cycle."""
    moments = np.empty(len(stamps), dtype=np.float64)
    for i, text in enumerate(stamps):
        try:
            moments[i] = datetime.fromisoformat(text).timestamp()
        except ValueError:
            raise InvalidInput(
                f"{path}: {kind} {where[i]}: timestamp {text!r} is not ISO 8601 "
                "(e.g. 2026-05-14T06:00:00)"
            ) from None
    order = np.lexsort((moments, units))
    cycles = np.empty(len(stamps), dtype=np.float64)
    sorted_units = units[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_units)) + 1]
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    cycles[order] = rank + 1
    repeated = np.flatnonzero((np.diff(moments[order]) == 0) & (np.diff(sorted_units) == 0))
    if len(repeated):
        first, second = where[order[repeated[0]]], where[order[repeated[0] + 1]]
        raise InvalidInput(
            f"{path}: {kind}s {first} and {second}: the same unit has two rows with the "
            "same timestamp; keep one"
        )
    return cycles


def _assemble(
    source: str,
    units: np.ndarray,
    cycles: np.ndarray,
    setting_names: tuple[str, ...],
    settings: np.ndarray,
    sensor_names: tuple[str, ...],
    sensors: np.ndarray,
    where: np.ndarray,
    kind: str,
) -> Histories:
    """Check identifiers and values, then sort by unit and cycle."""
    for name, column in (("unit", units), ("cycle", cycles)):
        bad = np.flatnonzero((column != np.round(column)) | (column < 1))
        if len(bad):
            raise InvalidInput(
                f"{source}: {kind} {where[bad[0]]}: {name} {column[bad[0]]:g} is not a "
                "positive whole number"
            )
    for names, block in ((setting_names, settings), (sensor_names, sensors)):
        bad_rows, bad_cols = np.nonzero(~np.isfinite(block))
        if len(bad_rows):
            raise InvalidInput(
                f"{source}: {kind} {where[bad_rows[0]]}: {names[bad_cols[0]]} is not a finite "
                "number"
            )
    order = np.lexsort((cycles, units))
    u, c = units[order].astype(np.int64), cycles[order].astype(np.int64)
    dup = np.flatnonzero((np.diff(u) == 0) & (np.diff(c) == 0))
    if len(dup):
        first, second = where[order[dup[0]]], where[order[dup[0] + 1]]
        raise InvalidInput(
            f"{source}: {kind}s {first} and {second}: unit {u[dup[0]]} has cycle "
            f"{c[dup[0]]} twice; keep one row per unit and cycle"
        )
    return Histories(
        units=u,
        cycles=c,
        setting_names=setting_names,
        settings=np.ascontiguousarray(settings[order]),
        sensor_names=sensor_names,
        sensors=np.ascontiguousarray(sensors[order]),
        source=source,
    )


def _number(path: Path, line: int, column: str, text: str) -> float:
    stripped = text.strip()
    if not stripped:
        raise InvalidInput(f"{path}:{line}: {column}: missing value")
    try:
        return float(stripped)
    except ValueError:
        raise InvalidInput(f"{path}:{line}: {column}: {stripped!r} is not a number") from None


def _read_text(path: Path) -> str:
    """The file as UTF-8 text; a decoding failure names its line."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InvalidInput(
            f"{path}:{line}: not UTF-8 text; is this a binary file? Parquet files end in .parquet"
        ) from None
