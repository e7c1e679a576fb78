"""Watchlist kinds, pure: how each is defined (validated once) and how it matches a message.

Four kinds, in a registry like the extractors (one more kind is one more entry):

- `terms`: words or phrases, matched as whole words whatever their case
  (`clou-7` matches `CLOU-7`, `Marsk` does not match `Marskovo`);
- `entities`: `kind:value` pairs matched against the extractors' findings,
  exactly after normalisation (`callsign:CLOU-7`, `unit:2e RIMa`,
  `equipment:VBCI`) — never a substring of the text;
- `area`: named polygons; a message matches when a position found in it (an
  MGRS grid reference, at the centre of the square it names, or a latitude/
  longitude pair) falls inside one (`egide.extractors.areas`);
- `semantic`: a description; a message matches when its embedding is close
  enough (cosine) to the description's — the similarity is computed before
  matching, by `egide.streams.semantic`, and handed in as `Seen.similarity`.

A definition is what the service stores: `terms` (what a listing shows) and a
JSON `spec` (what the kind needs: polygons, a description and threshold).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from egide.errors import InvalidInput
from egide.extractors.areas import Area
from egide.extractors.mgrs import parse_mgrs
from egide.knowledge.folding import fold_chars
from egide.streams.extract import EXTRACTORS, Finding
from egide.streams.geojson import areas_from_geojson

MAX_TERMS = 500
MAX_TERM_CHARS = 200
MAX_AREAS = 200
MAX_VERTICES = 20_000
"""Vertices of all of a watchlist's polygons together (each message is tested against them)."""
MAX_DESCRIPTION_CHARS = 1000
DEFAULT_THRESHOLD = 0.845
"""Cosine similarity a semantic watchlist needs by default (measured: docs/streams.md)."""
ENTITY_KINDS = ("callsign", "unit", "equipment", "mgrs", "latlon", "dtg", "language", "model")


@dataclass(frozen=True)
class Seen:
    """What matching sees of a message: its text, its findings, its semantic similarities."""

    text: str
    findings: Sequence[Finding]
    similarity: Mapping[str, float] = field(default_factory=dict)
    """Cosine similarity of the message to each semantic description (by description)."""


@dataclass(frozen=True)
class Definition:
    """A validated watchlist: the terms a listing shows and the kind's specification."""

    terms: list[str]
    spec: dict[str, Any]


Matcher = Callable[[Seen], list[str]]
"""A compiled watchlist: what of it a message matched (empty: no alert)."""


@dataclass(frozen=True)
class Kind:
    """A watchlist kind: `define` validates what a person gives, `compile` makes its matcher."""

    define: Callable[[Sequence[str], Mapping[str, Any]], Definition]
    compile: Callable[[Sequence[str], Mapping[str, Any]], Matcher]


def define(kind: str, terms: Sequence[str], spec: Mapping[str, Any] | None = None) -> Definition:
    """Validate a watchlist of `kind`.

    Raises:
        InvalidInput: an unknown kind, or what is wrong with the terms or the spec.
    """
    if kind not in KINDS:
        raise InvalidInput(f"unknown watchlist kind {kind!r}; use one of {', '.join(KINDS)}")
    return KINDS[kind].define(terms, spec or {})


def compile_watch(kind: str, terms: Sequence[str], spec: Mapping[str, Any]) -> Matcher:
    """The matcher of a stored watchlist."""
    return KINDS[kind].compile(terms, spec)


# terms -------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _pattern(term: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(term.casefold()) + r"(?!\w)")


@lru_cache(maxsize=4096)
def _folded_pattern(term: str) -> re.Pattern[str]:
    return _pattern(fold_chars(term, display=False))


@lru_cache(maxsize=1024)
def _folded_text(text: str) -> str:
    """`text` folded once per message, however many term watchlists read it."""
    return fold_chars(text, display=False).casefold()


def match_terms(terms: Sequence[str], text: str, findings: Sequence[Finding]) -> list[str]:
    """The terms found in `text` or among the findings' values, in the watchlist's order.

    The text is also read folded as the marking reader folds it (`fold_chars`): an
    invisible character, a look-alike letter or a full-width form cannot hide a term.
    """
    plain = text.casefold()
    folded = _folded_text(text)
    values = {f.value.casefold() for f in findings}
    return [
        t
        for t in terms
        if t.casefold() in values or _pattern(t).search(plain) or _folded_pattern(t).search(folded)
    ]


def _clean_terms(terms: Sequence[str]) -> list[str]:
    cleaned = [t.strip() for t in terms if t.strip()]
    if not cleaned or len(cleaned) > MAX_TERMS or max(map(len, cleaned)) > MAX_TERM_CHARS:
        raise InvalidInput(
            f"a watchlist needs 1 to {MAX_TERMS} terms of at most {MAX_TERM_CHARS} characters"
        )
    return cleaned


def _no_spec(kind: str, spec: Mapping[str, Any]) -> None:
    if spec:
        raise InvalidInput(
            f"a {kind} watchlist takes only terms, not {', '.join(sorted(spec))}; "
            "polygons belong to kind `area`, a description to kind `semantic`"
        )


def _define_terms(terms: Sequence[str], spec: Mapping[str, Any]) -> Definition:
    _no_spec("terms", spec)
    return Definition(_clean_terms(terms), {})


def _compile_terms(terms: Sequence[str], spec: Mapping[str, Any]) -> Matcher:
    chosen = tuple(terms)
    return lambda seen: match_terms(chosen, seen.text, seen.findings)


# entities ----------------------------------------------------------------------------


def normalise_entity(kind: str, value: str) -> str:
    """The canonical spelling of an entity of `kind`, as its extractor writes it, case-folded.

    The kind's extractor reads `value`: if it finds exactly one entity spanning all
    of it, its canonical value is used (`31U DQ 48251 11932` → `31UDQ4825111932`);
    otherwise the value as written, with its spaces collapsed.
    """
    text = " ".join(value.split())
    extractor = EXTRACTORS.get(kind)
    if extractor is not None and text:
        found = [f for f in extractor(text) if f.kind == kind]
        if len(found) == 1 and found[0].span == (0, len(text)):
            text = found[0].value
    return " ".join(text.split()).casefold()


def _define_entities(terms: Sequence[str], spec: Mapping[str, Any]) -> Definition:
    _no_spec("entities", spec)
    entities: list[str] = []
    for term in _clean_terms(terms):
        kind, colon, value = term.partition(":")
        kind = kind.strip().lower()
        if not colon or not value.strip():
            raise InvalidInput(
                f"entity {term!r} needs a kind and a value, as KIND:VALUE "
                f"(e.g. callsign:CLOU-7, unit:2e RIMa, equipment:VBCI)"
            )
        if kind not in ENTITY_KINDS:
            raise InvalidInput(
                f"entity {term!r}: unknown kind {kind!r}; use one of {', '.join(ENTITY_KINDS)}"
            )
        entities.append(f"{kind}:{' '.join(value.split())}")
    return Definition(entities, {})


def _compile_entities(terms: Sequence[str], spec: Mapping[str, Any]) -> Matcher:
    wanted = []
    for term in terms:
        kind, _, value = term.partition(":")
        wanted.append((term, kind, normalise_entity(kind, value)))

    def match(seen: Seen) -> list[str]:
        found = {(f.kind, " ".join(f.value.split()).casefold()) for f in seen.findings}
        return [term for term, kind, value in wanted if (kind, value) in found]

    return match


# areas -------------------------------------------------------------------------------


def _define_area(terms: Sequence[str], spec: Mapping[str, Any]) -> Definition:
    if [t for t in terms if t.strip()]:
        raise InvalidInput(
            "an area watchlist takes polygons, not terms: give `areas` "
            "(name and [latitude, longitude] vertices) or a `geojson` object"
        )
    unknown = set(spec) - {"areas", "geojson"}
    if unknown:
        raise InvalidInput(f"an area watchlist takes `areas` and `geojson`, not {sorted(unknown)}")
    given: list[Any] = list(_as_list(spec.get("areas"), "areas"))
    for number, document in enumerate(_as_list(spec.get("geojson"), "geojson"), start=1):
        given += areas_from_geojson(document, f"area {len(given) + number}")
    if not given:
        raise InvalidInput(
            "an area watchlist needs at least one polygon: give `areas` or a `geojson` object"
        )
    if len(given) > MAX_AREAS:
        raise InvalidInput(f"an area watchlist holds at most {MAX_AREAS} polygons")
    areas = [_area(item, number) for number, item in enumerate(given, start=1)]
    vertices = sum(len(a["polygon"]) + sum(len(h) for h in a["holes"]) for a in areas)
    if vertices > MAX_VERTICES:
        raise InvalidInput(
            f"the polygons have {vertices} vertices, more than {MAX_VERTICES}: simplify them"
        )
    names = list(dict.fromkeys(a["name"] for a in areas))
    return Definition(names, {"areas": areas})


def _as_list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if name == "geojson" and isinstance(value, dict):
        return [value]
    raise InvalidInput(f"`{name}` must be a list")


def _area(item: Any, number: int) -> dict[str, Any]:
    """One area, validated and stored as {name, polygon, holes} in (latitude, longitude)."""
    if not isinstance(item, dict) or not isinstance(item.get("polygon"), list):
        raise InvalidInput(
            f"area {number} must be an object with a `name` and a `polygon` of "
            "[latitude, longitude] vertices"
        )
    name = item.get("name") or f"area {number}"
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_TERM_CHARS:
        raise InvalidInput(f"area {number}: a name is 1 to {MAX_TERM_CHARS} characters")
    name = " ".join(name.split())
    holes = item.get("holes") or []
    if not isinstance(holes, list) or not all(isinstance(h, list) for h in holes):
        raise InvalidInput(f"area {name!r}: `holes` is a list of polygons")
    outer = _ring(name, item["polygon"])
    inner = [_ring(f"{name} (hole {i})", hole) for i, hole in enumerate(holes, start=1)]
    return {"name": name, "polygon": outer, "holes": inner}


def _ring(name: str, vertices: list[Any]) -> list[list[float]]:
    for vertex in vertices:
        if not isinstance(vertex, list | tuple) or not all(
            isinstance(c, int | float) and not isinstance(c, bool) for c in vertex
        ):
            raise InvalidInput(f"area {name!r}: each vertex is a [latitude, longitude] pair")
    area = Area.of(name, vertices)
    return [list(p) for p in area.vertices]


def position_of(finding: Finding) -> tuple[float, float] | None:
    """(latitude, longitude) of a position finding: an MGRS square's centre, or a lat/lon pair."""
    if finding.kind == "latlon":
        lat, lon = finding.value.split()
        return float(lat), float(lon)
    if finding.kind == "mgrs":
        return _mgrs_centre(finding.value)
    return None


@lru_cache(maxsize=4096)
def _mgrs_centre(reference: str) -> tuple[float, float]:
    parsed = parse_mgrs(reference)  # several area watchlists ask for the same reference
    return parsed.lat, parsed.lon


def _compile_area(terms: Sequence[str], spec: Mapping[str, Any]) -> Matcher:
    areas = [
        (
            Area.of(a["name"], a["polygon"]),
            [Area.of(a["name"], h) for h in a.get("holes", [])],
        )
        for a in spec["areas"]
    ]

    def match(seen: Seen) -> list[str]:
        matched: list[str] = []
        for finding in seen.findings:
            position = position_of(finding)
            if position is None:
                continue
            for area, holes in areas:
                inside = area.contains(*position) and not any(h.contains(*position) for h in holes)
                said = f"{area.name}: {finding.kind} {finding.value}"
                if inside and said not in matched:
                    matched.append(said)
        return matched

    return match


# semantic ----------------------------------------------------------------------------


def _define_semantic(terms: Sequence[str], spec: Mapping[str, Any]) -> Definition:
    if [t for t in terms if t.strip()]:
        raise InvalidInput(
            "a semantic watchlist takes a `description` of what to alert on, not terms"
        )
    unknown = set(spec) - {"description", "threshold"}
    if unknown:
        raise InvalidInput(
            f"a semantic watchlist takes `description` and `threshold`, not {sorted(unknown)}"
        )
    description = spec.get("description")
    if not isinstance(description, str) or not description.strip():
        raise InvalidInput("a semantic watchlist needs a `description` of what to alert on")
    description = " ".join(description.split())
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise InvalidInput(f"a description is at most {MAX_DESCRIPTION_CHARS} characters")
    threshold = spec.get("threshold", DEFAULT_THRESHOLD)
    if threshold is None:
        threshold = DEFAULT_THRESHOLD
    if (
        not isinstance(threshold, int | float)
        or isinstance(threshold, bool)
        or not 0 < threshold < 1
    ):
        raise InvalidInput(
            f"threshold {threshold!r} is not a cosine similarity between 0 and 1 (exclusive); "
            f"the default is {DEFAULT_THRESHOLD}"
        )
    return Definition([description], {"description": description, "threshold": float(threshold)})


def _compile_semantic(terms: Sequence[str], spec: Mapping[str, Any]) -> Matcher:
    description, threshold = str(spec["description"]), float(spec["threshold"])

    def match(seen: Seen) -> list[str]:
        similarity = seen.similarity.get(description)
        if similarity is None or similarity < threshold:
            return []
        return [f"similarity {similarity:.3f} (threshold {threshold:.3f})"]

    return match


KINDS: dict[str, Kind] = {
    "terms": Kind(_define_terms, _compile_terms),
    "entities": Kind(_define_entities, _compile_entities),
    "area": Kind(_define_area, _compile_area),
    "semantic": Kind(_define_semantic, _compile_semantic),
}
"""Watchlist kinds by name."""
