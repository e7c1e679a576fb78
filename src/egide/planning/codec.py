"""The problem's JSON form: the published schema, validation with precise errors, and conversion.

Errors name where the input is wrong: the line and column for malformed JSON, the path
(`$.demands[3].quantities.fuel`) for a value the schema or the cross-references refuse.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any, cast

from egide.errors import InvalidInput
from egide.planning.model import (
    Demand,
    Depot,
    Location,
    Matrix,
    Problem,
    TimeWindow,
    VehicleType,
)

MAX_ERRORS = 5


@cache
def schema() -> dict[str, Any]:
    """The published JSON schema of a problem (draft 2020-12)."""
    text = resources.files("egide.planning").joinpath("schema.json").read_text(encoding="utf-8")
    return cast(dict[str, Any], json.loads(text))


def loads_problem(text: str, source: str = "input") -> Problem:
    """Parse, validate and convert a problem's JSON text."""
    data = _parse(text, source)
    try:
        return problem_from_dict(data, source)
    except InvalidInput as error:
        # Add the line of each path the message names, so an editor can jump to it.
        def with_line(match: re.Match[str]) -> str:
            line = line_of(text, _parts(match.group(0)))
            return match.group(0) if line is None else f"{match.group(0)} (line {line})"

        raise InvalidInput(
            re.sub(r"\$(?:\.[^\s.\[:;,()]+|\[\d+\])*", with_line, error.message)
        ) from None


def _parse(text: str, source: str) -> Any:
    def refuse(constant: str) -> None:
        raise InvalidInput(f"{source}: {constant} is not a number JSON allows; give a finite value")

    try:
        return json.loads(text, parse_constant=refuse)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"{source}: not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        raise InvalidInput(f"{source}: nested too deeply to be a problem file") from None


def _parts(path: str) -> list[str | int]:
    return [
        int(p[1:-1]) if p.startswith("[") else p[1:] for p in re.findall(r"\.[^.\[]+|\[\d+\]", path)
    ]


def line_of(text: str, parts: list[str | int]) -> int | None:
    """The line where the value at `parts` starts in the JSON `text`, or None if absent."""
    decoder = json.JSONDecoder()
    space = re.compile(r"[ \t\n\r]*")

    def skip(i: int) -> int:
        return space.match(text, i).end()  # type: ignore[union-attr]

    i = skip(0)
    try:
        for part in parts:
            if isinstance(part, int) and text[i] == "[":
                i = skip(i + 1)
                for _ in range(part):
                    i = skip(decoder.raw_decode(text, i)[1])
                    i = skip(i + 1)  # the comma
                if text[i] == "]":
                    return None
            elif isinstance(part, str) and text[i] == "{":
                i = skip(i + 1)
                while text[i] == '"':
                    key, i = scanstring(text, i + 1)
                    i = skip(skip(i) + 1)  # the colon
                    if key == part:
                        break
                    i = skip(decoder.raw_decode(text, i)[1])
                    i = skip(i + 1) if text[i] == "," else i
                else:
                    return None
            else:
                return None
    except (IndexError, ValueError):
        return None
    return text.count("\n", 0, i) + 1


def path_of(parts: Iterable[Any]) -> str:
    """`$.demands[3].quantities.fuel` for the path parts ['demands', 3, 'quantities', 'fuel']."""
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def schema_errors(data: Any) -> list[str]:
    """Every place where `data` breaks the schema, as 'path: message' (empty when valid)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    found = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    messages = []
    for error in found:
        message = error.message
        if error.validator == "oneOf" and "location" in map(str, error.absolute_path):
            message = "a location is either {lat, lon} or {x, y}, with numbers"
        messages.append(f"{path_of(error.absolute_path)}: {message}")
    return messages


def problem_from_dict(data: Any, source: str = "input") -> Problem:
    """Validate a problem's JSON form (schema, then cross-references) and build the value."""
    errors = _non_finite(data)
    errors = errors or schema_errors(data)
    if not errors:
        errors = _reference_errors(data)
    if errors:
        more = f" (and {len(errors) - MAX_ERRORS} more)" if len(errors) > MAX_ERRORS else ""
        raise InvalidInput(
            f"{source} does not follow the problem schema (`egide plan schema`): "
            + "; ".join(errors[:MAX_ERRORS])
            + more
        )
    kinds = {_kind(item["location"]) for item in [*data["depots"], *data["demands"]]}
    matrix = data.get("matrix")
    return Problem(
        name=data.get("name", ""),
        dimensions=tuple(data["dimensions"]),
        depots=tuple(
            Depot(
                id=d["id"],
                name=d.get("name", ""),
                location=_location(d["location"]),
                window=_window(d.get("window")),
                stock=dict(d.get("stock", {})),
            )
            for d in data["depots"]
        ),
        demands=tuple(
            Demand(
                id=d["id"],
                name=d.get("name", ""),
                location=_location(d["location"]),
                quantities=dict(d.get("quantities", {})),
                pickup=dict(d.get("pickup", {})),
                window=_window(d.get("window")),
                service_time=float(d.get("service_time", 0)),
                priority=bool(d.get("priority", False)),
                optional=bool(d.get("optional", False)),
                prize=float(d.get("prize", 0)),
            )
            for d in data["demands"]
        ),
        vehicles=tuple(
            VehicleType(
                id=v["id"],
                name=v.get("name", ""),
                count=int(v.get("count", 1)),
                start_depot=v["start_depot"],
                end_depot=v.get("end_depot"),
                capacity=dict(v["capacity"]),
                fixed_cost=float(v.get("fixed_cost", 0)),
                cost_per_distance=float(v.get("cost_per_distance", 1)),
                max_distance=_optional_float(v.get("max_distance")),
                max_duration=_optional_float(v.get("max_duration")),
            )
            for v in data["vehicles"]
        ),
        coordinates="latlon" if kinds == {"latlon"} else "xy",
        speed=float(data.get("speed", 40.0 if kinds == {"latlon"} else 1.0)),
        rounding=data.get("rounding", "none"),
        matrix=None
        if matrix is None
        else Matrix(
            distance=tuple(tuple(map(float, row)) for row in matrix["distance"]),
            duration=None
            if "duration" not in matrix
            else tuple(tuple(map(float, row)) for row in matrix["duration"]),
        ),
    )


def problem_to_dict(problem: Problem) -> dict[str, Any]:
    """The JSON form of a problem; `problem_from_dict` reads it back to an equal value."""

    def location(loc: Location) -> dict[str, float]:
        if problem.coordinates == "latlon":
            return {"lat": loc.y, "lon": loc.x}
        return {"x": loc.x, "y": loc.y}

    def window(w: TimeWindow) -> dict[str, float]:
        return {"start": w.start} if w.end is None else {"start": w.start, "end": w.end}

    data: dict[str, Any] = {
        "name": problem.name,
        "dimensions": list(problem.dimensions),
        "speed": problem.speed,
        "rounding": problem.rounding,
        "depots": [
            {
                "id": d.id,
                "name": d.name,
                "location": location(d.location),
                "window": window(d.window),
                "stock": dict(d.stock),
            }
            for d in problem.depots
        ],
        "demands": [
            {
                "id": d.id,
                "name": d.name,
                "location": location(d.location),
                "quantities": dict(d.quantities),
                "pickup": dict(d.pickup),
                "window": window(d.window),
                "service_time": d.service_time,
                "priority": d.priority,
                "optional": d.optional,
                "prize": d.prize,
            }
            for d in problem.demands
        ],
        "vehicles": [
            {
                key: value
                for key, value in {
                    "id": v.id,
                    "name": v.name,
                    "count": v.count,
                    "start_depot": v.start_depot,
                    "end_depot": v.end_depot,
                    "capacity": dict(v.capacity),
                    "fixed_cost": v.fixed_cost,
                    "cost_per_distance": v.cost_per_distance,
                    "max_distance": v.max_distance,
                    "max_duration": v.max_duration,
                }.items()
                if value is not None
            }
            for v in problem.vehicles
        ],
    }
    if problem.matrix is not None:
        data["matrix"] = {"distance": [list(r) for r in problem.matrix.distance]}
        if problem.matrix.duration is not None:
            data["matrix"]["duration"] = [list(r) for r in problem.matrix.duration]
    return data


def _non_finite(data: Any, parts: tuple[Any, ...] = ()) -> list[str]:
    """NaN and infinities pass every schema comparison: refuse them by path first."""
    if isinstance(data, float) and not math.isfinite(data):
        return [f"{path_of(parts)}: {data} is not a finite number"]
    if isinstance(data, dict):
        return [e for k, v in data.items() for e in _non_finite(v, (*parts, k))]
    if isinstance(data, list):
        return [e for k, v in enumerate(data) for e in _non_finite(v, (*parts, k))]
    return []


def _reference_errors(data: Mapping[str, Any]) -> list[str]:
    errors: list[str] = []
    dimensions = set(data["dimensions"])
    seen: dict[str, str] = {}
    for group in ("depots", "demands", "vehicles"):
        for k, item in enumerate(data[group]):
            where = f"$.{group}[{k}].id"
            key = ("vehicle:" if group == "vehicles" else "place:") + item["id"]
            if key in seen:
                errors.append(f"{where}: id {item['id']!r} is already used at {seen[key]}")
            seen.setdefault(key, where)
    depots = [d["id"] for d in data["depots"]]
    kinds = {_kind(item["location"]) for item in [*data["depots"], *data["demands"]]}
    if len(kinds) > 1:
        errors.append("$: mix of lat/lon and x/y locations; use one kind for every place")
    for group, fields in (
        ("depots", ("stock",)),
        ("demands", ("quantities", "pickup")),
        ("vehicles", ("capacity",)),
    ):
        for k, item in enumerate(data[group]):
            for name in fields:
                for dim in item.get(name, {}):
                    if dim not in dimensions:
                        errors.append(
                            f"$.{group}[{k}].{name}.{dim}: unknown load dimension; "
                            f"declare it in $.dimensions ({', '.join(data['dimensions'])})"
                        )
    for k, v in enumerate(data["vehicles"]):
        for key in ("start_depot", "end_depot"):
            if key in v and v[key] not in depots:
                errors.append(
                    f"$.vehicles[{k}].{key}: no depot {v[key]!r} (depots: {', '.join(depots)})"
                )
    matrix = data.get("matrix")
    if matrix is not None:
        size = len(data["depots"]) + len(data["demands"])
        for name, rows in matrix.items():
            if len(rows) != size or any(len(row) != size for row in rows):
                errors.append(
                    f"$.matrix.{name}: must be {size} x {size} (the depots then the demands)"
                )
    return errors


def _kind(location: Mapping[str, Any]) -> str:
    return "latlon" if "lat" in location else "xy"


def _location(data: Mapping[str, Any]) -> Location:
    if "lat" in data:
        return Location(x=float(data["lon"]), y=float(data["lat"]))
    return Location(x=float(data["x"]), y=float(data["y"]))


def _window(data: Mapping[str, Any] | None) -> TimeWindow:
    if not data:
        return TimeWindow()
    return TimeWindow(start=float(data.get("start", 0)), end=_optional_float(data.get("end")))


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


PLAN_FORMAT = "egide-plan/1"


def plan_document(problem: Problem, solution: Any) -> dict[str, Any]:
    """The plan file: the problem and its solution together, so either can be re-checked."""
    return {
        "format": PLAN_FORMAT,
        "problem": problem_to_dict(problem),
        "solution": solution.to_dict(),
    }


def loads_plan(text: str, source: str = "plan") -> tuple[Problem, Any]:
    """Read a plan file written by `plan_document` (problem validated against the schema)."""
    from egide.planning.solution import Solution

    data = _parse(text, source)
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        raise InvalidInput(
            f'{source}: not an Égide plan file (expected "format": "{PLAN_FORMAT}"); '
            "write one with `egide plan routes PROBLEM --out DIR`"
        )
    problem = problem_from_dict(data.get("problem"), f"{source} problem")
    try:
        solution = Solution.from_dict(data["solution"])
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise InvalidInput(
            f"{source}: the solution part is incomplete or malformed ({error!r})"
        ) from None
    return problem, solution
