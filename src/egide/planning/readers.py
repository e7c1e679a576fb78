"""Read a problem from a file: JSON (the schema), one CSV file, or VRPLIB / Solomon.

Every reader ends in `codec.problem_from_dict`, so every format is held to the same schema
and cross-reference checks; errors name the line (CSV, malformed JSON) or the path (JSON).

The CSV form is one file with a `type` column (`depot`, `demand`, `vehicle`, optionally one
`settings` row) and `load.<dimension>` / `pickup.<dimension>` columns: the quantity needed on
a demand row, the capacity on a vehicle row, the stock on a depot row. The full column list
is `CSV_COLUMNS`; docs/planning.md has an example.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from egide.errors import InvalidInput
from egide.planning.codec import loads_problem, problem_from_dict
from egide.planning.model import Problem

MAX_BYTES = 64 * 1024 * 1024
CSV_COLUMNS = (
    "type", "id", "name", "lat", "lon", "x", "y", "window_start", "window_end",
    "service_time", "priority", "optional", "prize", "count", "start_depot", "end_depot",
    "fixed_cost", "cost_per_distance", "max_distance", "max_duration", "speed", "rounding",
)  # fmt: skip
NUMBERS = {
    "lat", "lon", "x", "y", "window_start", "window_end", "service_time", "prize", "count",
    "fixed_cost", "cost_per_distance", "max_distance", "max_duration", "speed",
}  # fmt: skip


def read_problem(path: Path, fmt: str | None = None) -> Problem:
    """Read the problem in `path`; the format comes from `fmt` or the file's extension."""
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    if path.stat().st_size > MAX_BYTES:
        raise InvalidInput(f"{path}: larger than {MAX_BYTES // 2**20} MiB")
    kind = fmt or {".json": "json", ".csv": "csv", ".vrp": "vrplib", ".txt": "txt"}.get(
        path.suffix.lower(), ""
    )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text") from None
    if kind == "json":
        return loads_problem(text, str(path))
    if kind == "csv":
        return read_csv(text, str(path))
    if kind == "txt":
        kind = "vrplib" if re.search(r"^\s*DIMENSION\s*:", text, re.M) else "solomon"
    if kind in ("vrplib", "solomon"):
        return read_vrplib(path, kind)
    raise InvalidInput(
        f"{path}: unknown format; use .json, .csv, .vrp or .txt (VRPLIB or Solomon), "
        "or say --format json|csv|vrplib|solomon"
    )


def read_csv(text: str, source: str = "input.csv") -> Problem:
    """One CSV file with a `type` column (see the module docstring)."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in CSV_COLUMNS and not c.startswith(("load.", "pickup."))]
    if "type" not in header or "id" not in header:
        raise InvalidInput(f"{source} line 1: the header needs a `type` and an `id` column")
    if unknown:
        raise InvalidInput(
            f"{source} line 1: unknown column(s) {', '.join(unknown)}; allowed: "
            f"{', '.join(CSV_COLUMNS)}, load.<dimension>, pickup.<dimension>"
        )
    dims = [c.removeprefix("load.") for c in header if c.startswith("load.")]
    data: dict[str, Any] = {"dimensions": dims, "depots": [], "demands": [], "vehicles": []}
    lines: dict[str, list[int]] = {"depots": [], "demands": [], "vehicles": []}
    for row in reader:
        line = reader.line_num
        if None in row:
            raise InvalidInput(f"{source} line {line}: more fields than the header has")
        values = {k: _cell(v, k, source, line) for k, v in row.items() if v not in ("", None)}
        kind = values.pop("type", "")
        if kind == "settings":
            data.update({k: values[k] for k in ("name", "speed", "rounding") if k in values})
            continue
        group = {"depot": "depots", "demand": "demands", "vehicle": "vehicles"}.get(str(kind))
        if group is None:
            raise InvalidInput(
                f"{source} line {line}: type {kind!r}; use depot, demand, vehicle or settings"
            )
        item: dict[str, Any] = {"id": values.get("id", "")}
        for key in (
            "name",
            "service_time",
            "prize",
            "count",
            "start_depot",
            "end_depot",
            "fixed_cost",
            "cost_per_distance",
            "max_distance",
            "max_duration",
        ):
            if key in values:
                item[key] = values[key]
        for key in ("priority", "optional"):
            if key in values:
                item[key] = str(values[key]).lower() in ("1", "true", "yes", "y")
        if group != "vehicles":
            if "lat" in values or "lon" in values:
                item["location"] = {k: values.get(k) for k in ("lat", "lon")}
            else:
                item["location"] = {k: values.get(k) for k in ("x", "y")}
            window = {k: values[f"window_{k}"] for k in ("start", "end") if f"window_{k}" in values}
            if window:
                item["window"] = window
        amounts = {d: values[f"load.{d}"] for d in dims if f"load.{d}" in values}
        pickups = {d: values[f"pickup.{d}"] for d in dims if f"pickup.{d}" in values}
        item[{"depots": "stock", "demands": "quantities", "vehicles": "capacity"}[group]] = amounts
        if pickups and group == "demands":
            item["pickup"] = pickups
        data[group].append(item)
        lines[group].append(line)
    try:
        return problem_from_dict(data, source)
    except InvalidInput as error:
        # Name the CSV line rather than the JSON path the schema speaks of.
        def to_line(match: re.Match[str]) -> str:
            return f"line {lines[match.group(1)][int(match.group(2))]}"

        message = re.sub(r"\$\.(depots|demands|vehicles)\[(\d+)\]", to_line, error.message)
        raise InvalidInput(message) from None


def _cell(value: str, column: str, source: str, line: int) -> Any:
    value = value.strip()
    if column not in NUMBERS and not column.startswith(("load.", "pickup.")):
        return value
    try:
        number = float(value)
    except ValueError:
        raise InvalidInput(
            f"{source} line {line}: column {column}: {value!r} is not a number"
        ) from None
    return int(number) if column == "count" and number.is_integer() else number


def read_vrplib(path: Path, kind: str = "vrplib") -> Problem:
    """A VRPLIB `.vrp` (CVRP, VRPTW, VRPB) or Solomon `.txt` instance.

    Distances follow the benchmark conventions: rounded to the nearest integer (TSPLIB) for
    instances without time windows, truncated to one decimal (DIMACS) with time windows.
    """
    import numpy as np
    import vrplib

    try:
        raw = vrplib.read_instance(str(path), instance_format=kind, compute_edge_weights=True)
    except Exception as error:
        raise InvalidInput(f"{path}: not a readable {kind} instance ({error})") from None
    try:
        coords = np.asarray(raw.get("node_coord", []), dtype=float)
        size = int(raw.get("dimension", len(coords)))
        demand = np.asarray(raw.get("demand", np.zeros(size)), dtype=float)
        if demand.ndim == 1:
            demand = demand[:, None]
        dims = (
            ["load"] if demand.shape[1] == 1 else [f"load{k + 1}" for k in range(demand.shape[1])]
        )
        backhaul = np.asarray(raw.get("backhaul", np.zeros(size)), dtype=float).reshape(size, -1)
        depots = [int(d) for d in np.asarray(raw.get("depot", [0])).ravel()]
        windows = raw.get("time_window")
        service = np.broadcast_to(np.asarray(raw.get("service_time", 0), dtype=float), (size,))
        has_coords = len(coords) == size
        explicit = raw.get("edge_weight_type", "EUC_2D") == "EXPLICIT" or not has_coords

        def location(i: int) -> dict[str, float]:
            return (
                {"x": float(coords[i][0]), "y": float(coords[i][1])}
                if has_coords
                else {"x": float(i), "y": 0.0}
            )

        def window(i: int) -> dict[str, float]:
            if windows is None:
                return {}
            return {"start": float(windows[i][0]), "end": float(windows[i][1])}

        capacity = np.asarray(raw.get("capacity", 0), dtype=float).ravel()
        clients = [i for i in range(size) if i not in depots]
        count = int(raw.get("vehicles", len(clients)))
        data: dict[str, Any] = {
            "name": str(raw.get("name", path.stem)),
            "dimensions": dims,
            "rounding": "dimacs" if windows is not None else "round",
            "depots": [
                {
                    "id": f"depot{k + 1}" if len(depots) > 1 else "depot",
                    "location": location(i),
                    **({"window": window(i)} if windows is not None else {}),
                }
                for k, i in enumerate(depots)
            ],
            "demands": [
                {
                    "id": str(i + 1),
                    "location": location(i),
                    "quantities": {d: float(demand[i][k]) for k, d in enumerate(dims)},
                    **(
                        {"pickup": {d: float(backhaul[i][k]) for k, d in enumerate(dims)}}
                        if backhaul.any()
                        else {}
                    ),
                    **({"window": window(i)} if windows is not None else {}),
                    "service_time": float(service[i]),
                }
                for i in clients
            ],
            "vehicles": [
                {
                    "id": "vehicle",
                    "count": count,
                    "start_depot": "depot" if len(depots) == 1 else "depot1",
                    "capacity": {
                        d: float(capacity[min(k, len(capacity) - 1)]) for k, d in enumerate(dims)
                    },
                    **({"max_distance": float(raw["distance"])} if "distance" in raw else {}),
                }
            ],
        }
        if explicit:
            weights = np.asarray(raw["edge_weight"], dtype=float)
            order = depots + clients
            data["matrix"] = {"distance": weights[np.ix_(order, order)].tolist()}
    except (KeyError, IndexError, ValueError, TypeError) as error:
        raise InvalidInput(f"{path}: incomplete {kind} instance ({error})") from None
    return problem_from_dict(data, str(path))
