"""Polygons of a GeoJSON document (RFC 7946) as watchlist areas.

GeoJSON writes positions as [longitude, latitude] (an optional altitude
after); areas are (latitude, longitude), as messages and MGRS give them, so
every position is swapped here, once. Accepted: a Polygon, a MultiPolygon, a
Feature holding one, a FeatureCollection of such features, or a
GeometryCollection. A feature's name is its `name` property (or `nom`,
`title`, `id`); the parts of a MultiPolygon share their feature's name. The
first ring of a polygon is its outline, the others its holes. A document
declaring another coordinate system (a projected `crs`, as old GIS exports
in Lambert-93 do) is refused with what to do.
"""

from __future__ import annotations

from typing import Any

from egide.errors import InvalidInput

MAX_FEATURES = 200
_NAME_KEYS = ("name", "nom", "title", "titre", "label")


def areas_from_geojson(document: Any, default_name: str) -> list[dict[str, Any]]:
    """Areas `{name, polygon, holes}` in (latitude, longitude) from a GeoJSON object.

    Raises:
        InvalidInput: not a GeoJSON object, or no polygon in it, or a malformed polygon.
    """
    if not isinstance(document, dict) or not isinstance(document.get("type"), str):
        raise InvalidInput(
            "not a GeoJSON object: expected a Polygon, MultiPolygon, Feature or "
            "FeatureCollection with a `type`"
        )
    _check_crs(document)
    areas = _areas(document, default_name, depth=0)
    if not areas:
        raise InvalidInput("the GeoJSON holds no Polygon or MultiPolygon: nothing to watch")
    return areas


def _check_crs(document: dict[str, Any]) -> None:
    """Refuse a document in projected coordinates (old GeoJSON's `crs` member)."""
    crs = document.get("crs")
    if crs is None:
        return
    name = crs.get("properties", {}).get("name") if isinstance(crs, dict) else None
    if not isinstance(name, str) or not name.upper().endswith(("CRS84", "4326")):
        raise InvalidInput(
            f"the GeoJSON is in the coordinate system {name or crs!r}: export it in WGS84 "
            "longitude/latitude (EPSG:4326), as RFC 7946 requires"
        )


def _areas(obj: dict[str, Any], name: str, depth: int) -> list[dict[str, Any]]:
    if depth > 3:
        raise InvalidInput("GeoJSON nested too deep: give features of polygons")
    kind = obj.get("type")
    if kind == "FeatureCollection":
        features = obj.get("features")
        if not isinstance(features, list) or len(features) > MAX_FEATURES:
            raise InvalidInput(
                f"a FeatureCollection needs a `features` list of at most {MAX_FEATURES}"
            )
        found: list[dict[str, Any]] = []
        for number, feature in enumerate(features, start=1):
            if not isinstance(feature, dict):
                raise InvalidInput(f"feature {number} of the collection is not an object")
            found += _areas(feature, f"{name} {number}", depth + 1)
        return found
    if kind == "Feature":
        geometry = obj.get("geometry")
        if geometry is None:
            return []
        if not isinstance(geometry, dict):
            raise InvalidInput(f"feature {name!r}: `geometry` is not an object")
        return _areas(geometry, _feature_name(obj) or name, depth + 1)
    if kind == "GeometryCollection":
        geometries = obj.get("geometries")
        if not isinstance(geometries, list) or len(geometries) > MAX_FEATURES:
            raise InvalidInput(
                f"a GeometryCollection needs a `geometries` list of at most {MAX_FEATURES}"
            )
        return [
            area
            for geometry in geometries
            if isinstance(geometry, dict)
            for area in _areas(geometry, name, depth + 1)
        ]
    if kind == "Polygon":
        return [_polygon(obj.get("coordinates"), name)]
    if kind == "MultiPolygon":
        parts = obj.get("coordinates")
        if not isinstance(parts, list) or not parts:
            raise InvalidInput(f"MultiPolygon {name!r}: `coordinates` is a list of polygons")
        return [_polygon(part, name) for part in parts]
    return []  # points and lines are not areas


def _feature_name(feature: dict[str, Any]) -> str | None:
    properties = feature.get("properties")
    if isinstance(properties, dict):
        for key in _NAME_KEYS:
            value = properties.get(key)
            if isinstance(value, str | int) and str(value).strip():
                return str(value).strip()
    identifier = feature.get("id")
    return str(identifier) if isinstance(identifier, str | int) else None


def _polygon(rings: Any, name: str) -> dict[str, Any]:
    if not isinstance(rings, list) or not rings:
        raise InvalidInput(f"polygon {name!r}: `coordinates` is a list of rings")
    swapped = [_ring(ring, name) for ring in rings]
    return {"name": name, "polygon": swapped[0], "holes": swapped[1:]}


def _ring(ring: Any, name: str) -> list[list[float]]:
    if not isinstance(ring, list):
        raise InvalidInput(f"polygon {name!r}: a ring is a list of [longitude, latitude]")
    vertices: list[list[float]] = []
    for position in ring:
        if (
            not isinstance(position, list)
            or not 2 <= len(position) <= 3
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in position)
        ):
            raise InvalidInput(
                f"polygon {name!r}: a GeoJSON position is [longitude, latitude], got {position!r}"[
                    :300
                ]
            )
        vertices.append([float(position[1]), float(position[0])])
    return vertices
