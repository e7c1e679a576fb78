"""Watchlist kinds, pure: entities, areas (polygons and GeoJSON), semantic definitions."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from egide.errors import InvalidInput
from egide.extractors.mgrs import to_mgrs
from egide.streams.extract import Finding, extract_all
from egide.streams.geojson import areas_from_geojson
from egide.streams.watch import (
    DEFAULT_THRESHOLD,
    MAX_VERTICES,
    Seen,
    compile_watch,
    define,
    normalise_entity,
)

# A box around central Paris, (latitude, longitude).
PARIS = [[48.80, 2.20], [48.80, 2.45], [48.92, 2.45], [48.92, 2.20]]
# The same box in GeoJSON order, [longitude, latitude], closed.
PARIS_GEOJSON = {
    "type": "Polygon",
    "coordinates": [[[2.20, 48.80], [2.45, 48.80], [2.45, 48.92], [2.20, 48.92], [2.20, 48.80]]],
}


coordinate = st.tuples(
    st.floats(min_value=-60, max_value=60, allow_nan=False),
    st.floats(min_value=-170, max_value=170, allow_nan=False),
)
polygons = st.lists(coordinate, min_size=3, max_size=8, unique=True)


def matched(kind: str, terms: list[str], spec: dict[str, Any], text: str) -> list[str]:
    definition = define(kind, terms, spec)
    matcher = compile_watch(kind, definition.terms, definition.spec)
    return matcher(Seen(text, extract_all(text)))


# entities ------------------------------------------------------------------------------


def test_entities_match_findings_exactly_after_normalisation() -> None:
    terms = ["callsign:CLOU-7", "unit:2e rima", "equipment:vbci", "mgrs:31U DQ 48251 11932"]
    text = "CLOU-7 du 2e RIMa avec deux VBCI en 31UDQ4825111932."
    assert matched("entities", terms, {}, text) == terms
    # Not a substring of the text: CLOU-77 is another call sign, "VBCIs" no equipment.
    assert matched("entities", ["callsign:CLOU-7"], {}, "CLOU-77 en route.") == []
    # The value must be found as that kind: "VBCI" in a call-sign entity does not match.
    assert matched("entities", ["callsign:VBCI"], {}, "Deux VBCI.") == []


def test_entity_values_take_their_extractors_canonical_spelling() -> None:
    assert normalise_entity("mgrs", "31u dq 48251 11932") == "31udq4825111932"
    assert normalise_entity("callsign", "  CLOU-7 ") == "clou-7"
    assert normalise_entity("unit", "2e   RIMa") == "2e rima"


@pytest.mark.parametrize(
    ("terms", "why"),
    [
        (["CLOU-7"], "KIND:VALUE"),
        (["callsign:"], "KIND:VALUE"),
        (["vehicle:VBCI"], "unknown kind 'vehicle'"),
        ([], "1 to 500 terms"),
    ],
)
def test_bad_entities_say_why(terms: list[str], why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        define("entities", terms)


# areas ---------------------------------------------------------------------------------


def test_area_matches_mgrs_and_latlon_positions_and_names_them() -> None:
    spec = {"areas": [{"name": "Paris", "polygon": PARIS}]}
    text = "Vu en 31U DQ 48251 11932 puis à 48.8566N 2.3522E, enfin à 45.0000N 5.0000E."
    assert matched("area", [], spec, text) == [
        "Paris: mgrs 31UDQ4825111932",
        "Paris: latlon 48.856600 2.352200",
    ]
    assert matched("area", [], spec, "Rien à signaler à 45.0000N 5.0000E.") == []


def test_geojson_is_longitude_first() -> None:
    [area] = areas_from_geojson(PARIS_GEOJSON, "Paris")
    assert area["polygon"][0] == [48.80, 2.20]
    inside = "Position 48.8566N 2.3522E."
    assert matched("area", [], {"geojson": PARIS_GEOJSON}, inside)
    # Swapped by mistake, the box would lie in the Indian Ocean: nothing of France matches.
    swapped = {
        "type": "Polygon",
        "coordinates": [[[lat, lon] for lon, lat in PARIS_GEOJSON["coordinates"][0]]],
    }
    assert not matched("area", [], {"geojson": swapped}, inside)


@given(polygons)
def test_geojson_and_inline_polygons_are_the_same_areas(polygon: list[tuple[float, float]]) -> None:
    inline = [[lat, lon] for lat, lon in polygon]
    geojson = {"type": "Polygon", "coordinates": [[[lon, lat] for lat, lon in polygon]]}
    try:
        expected = define("area", [], {"areas": [{"name": "a", "polygon": inline}]})
    except InvalidInput:
        with pytest.raises(InvalidInput):
            define("area", [], {"geojson": {**geojson}})
        return
    got = define(
        "area",
        [],
        {"geojson": {"type": "Feature", "properties": {"name": "a"}, "geometry": geojson}},
    )
    assert got == expected


def test_feature_collections_multipolygons_and_holes() -> None:
    ring = PARIS_GEOJSON["coordinates"][0]
    hole = [[2.34, 48.85], [2.36, 48.85], [2.36, 48.86], [2.34, 48.86], [2.34, 48.85]]
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "Paris sauf Cité"},
                "geometry": {"type": "Polygon", "coordinates": [ring, hole]},
            },
            {
                "type": "Feature",
                "properties": {"nom": "Lyon"},
                "geometry": {
                    "type": "MultiPolygon",
                    "coordinates": [[[[4.8, 45.7], [4.9, 45.7], [4.9, 45.8], [4.8, 45.8]]]],
                },
            },
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Point", "coordinates": [0, 0]},
            },
        ],
    }
    definition = define("area", [], {"geojson": collection})
    assert definition.terms == ["Paris sauf Cité", "Lyon"]
    spec = {"geojson": collection}
    assert matched("area", [], spec, "À 48.8300N 2.3000E.") == [
        "Paris sauf Cité: latlon 48.830000 2.300000"
    ]
    assert matched("area", [], spec, "À 48.8566N 2.3522E.") == []  # in the hole
    assert matched("area", [], spec, "À 45.7500N 4.8500E.") == ["Lyon: latlon 45.750000 4.850000"]


@pytest.mark.parametrize(
    ("terms", "spec", "why"),
    [
        (["Paris"], {"areas": [{"name": "x", "polygon": PARIS}]}, "not terms"),
        ([], {}, "at least one polygon"),
        ([], {"areas": [{"name": "x", "polygon": [[0, 0], [1, 1]]}]}, "three distinct"),
        ([], {"areas": [{"name": "x", "polygon": [[95, 0], [0, 1], [1, 1]]}]}, "out of range"),
        (
            [],
            {"areas": [{"name": "x", "polygon": [[0, 170], [0, -170], [5, -170]]}]},
            "antimeridian",
        ),
        ([], {"areas": [{"name": "x", "polygon": [["a", 0], [0, 1], [1, 1]]}]}, "vertex"),
        ([], {"areas": "Paris"}, "must be a list"),
        ([], {"geojson": {"type": "Point", "coordinates": [2, 48]}}, "no Polygon"),
        ([], {"geojson": {"coordinates": []}}, "not a GeoJSON"),
        (
            [],
            {"geojson": {"type": "Polygon", "coordinates": [[[2, 48, 0, 0]]]}},
            "longitude, latitude",
        ),
        ([], {"description": "x"}, "not \\['description'\\]"),
        (
            [],
            {
                "geojson": {
                    **PARIS_GEOJSON,
                    "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}},
                }
            },
            "EPSG:4326",
        ),
        (
            [],
            {
                "areas": [
                    {"name": "x", "polygon": [[0, i / 1e4] for i in range(MAX_VERTICES)] + [[1, 1]]}
                ]
            },
            "simplify",
        ),
    ],
)
def test_bad_areas_say_why(terms: list[str], spec: dict[str, Any], why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        define("area", terms, spec)


def position_text(lat: float, lon: float) -> str:
    return f"{abs(lat):.4f}{'N' if lat >= 0 else 'S'} {abs(lon):.4f}{'E' if lon >= 0 else 'W'}"


def area_matches(polygon: list[tuple[float, float]], text: str) -> bool:
    try:
        spec = {"areas": [{"name": "a", "polygon": [list(p) for p in polygon]}]}
        return bool(matched("area", [], spec, text))
    except InvalidInput:
        return False


def far_from_edges(polygon: list[tuple[float, float]], lat: float, lon: float) -> bool:
    """Not within rounding (the text keeps 4 decimals) of an edge's line."""
    n = len(polygon)
    for i in range(n):
        (y1, x1), (y2, x2) = polygon[i], polygon[(i + 1) % n]
        length = max(abs(x2 - x1), abs(y2 - y1))
        cross = (x2 - x1) * (lat - y1) - (y2 - y1) * (lon - x1)
        if abs(cross) <= 1e-3 * max(length, 1e-9):
            return False
    return True


@given(polygons, coordinate, st.integers(0, 7), st.booleans())
def test_area_matching_ignores_where_the_vertices_start_and_their_direction(
    polygon: list[tuple[float, float]], point: tuple[float, float], shift: int, reverse: bool
) -> None:
    lat, lon = round(point[0], 4), round(point[1], 4)
    assume(far_from_edges(polygon, lat, lon))
    turned = polygon[shift % len(polygon) :] + polygon[: shift % len(polygon)]
    if reverse:
        turned.reverse()
    text = f"Contact à {position_text(lat, lon)}."
    assert area_matches(polygon, text) == area_matches(turned, text)


@given(polygons, st.floats(min_value=-60, max_value=60, allow_nan=False))
def test_a_point_outside_the_polygons_bounds_never_matches(
    polygon: list[tuple[float, float]], lat: float
) -> None:
    far = max(lon for _, lon in polygon) + 5
    assume(far <= 180)
    assert not area_matches(polygon, f"Contact à {position_text(lat, far)}.")


@given(
    st.floats(min_value=-79, max_value=83, allow_nan=False),
    st.floats(min_value=-179, max_value=179, allow_nan=False),
)
def test_an_mgrs_reference_falls_in_a_small_box_around_its_point(lat: float, lon: float) -> None:
    box = [
        [lat - 0.01, lon - 0.01],
        [lat - 0.01, lon + 0.01],
        [lat + 0.01, lon + 0.01],
        [lat + 0.01, lon - 0.01],
    ]
    text = f"Grid {to_mgrs(lat, lon, 5)} confirmed."
    assert matched("area", [], {"areas": [{"name": "box", "polygon": box}]}, text)


# semantic ------------------------------------------------------------------------------


def test_semantic_definition_and_defaults() -> None:
    definition = define("semantic", [], {"description": "  Attaque   par drone  "})
    assert definition.spec == {"description": "Attaque par drone", "threshold": DEFAULT_THRESHOLD}
    matcher = compile_watch("semantic", definition.terms, definition.spec)
    assert matcher(Seen("x", [], {"Attaque par drone": 0.9})) == [
        f"similarity 0.900 (threshold {DEFAULT_THRESHOLD:.3f})"
    ]
    assert matcher(Seen("x", [], {"Attaque par drone": 0.5})) == []
    assert matcher(Seen("x", [])) == []  # not scored (no embedder): no alert


@pytest.mark.parametrize(
    ("terms", "spec", "why"),
    [
        ([], {}, "needs a `description`"),
        (["drone"], {"description": "drone"}, "not terms"),
        ([], {"description": "drone", "threshold": 1.5}, "between 0 and 1"),
        ([], {"description": "drone", "threshold": True}, "between 0 and 1"),
        ([], {"description": "x" * 1001}, "at most 1000"),
        ([], {"description": "drone", "polygon": []}, "not \\['polygon'\\]"),
    ],
)
def test_bad_semantic_watchlists_say_why(terms: list[str], spec: dict[str, Any], why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        define("semantic", terms, spec)


def test_unknown_kind_and_terms_with_a_spec() -> None:
    with pytest.raises(InvalidInput, match="unknown watchlist kind 'polygon'"):
        define("polygon", ["x"])
    with pytest.raises(InvalidInput, match="only terms"):
        define("terms", ["x"], {"areas": []})


def test_a_model_finding_can_be_watched_as_an_entity() -> None:
    definition = define("entities", ['model:{"unit":"2e RIMa"}'])
    matcher = compile_watch("entities", definition.terms, definition.spec)
    finding = Finding("model", '{"unit":"2e RIMa"}', (0, 1))
    assert matcher(Seen("x", [finding])) == ['model:{"unit":"2e RIMa"}']


@pytest.mark.parametrize(
    "text",
    [
        "Opération HI\u200bBOU à l'aube",  # zero-width space
        "Opération H\u0406BOU à l'aube",  # Cyrillic І
        "Opération ＨＩＢＯＵ à l'aube",  # full-width letters
        "Opération HIB\u00adOU à l'aube",  # soft hyphen
    ],
)
def test_a_term_is_found_however_the_text_hides_it(text: str) -> None:
    from egide.streams.watch import match_terms

    assert match_terms(["hibou"], text, []) == ["hibou"]
    assert match_terms(["HIBOU"], "rien à signaler", []) == []
