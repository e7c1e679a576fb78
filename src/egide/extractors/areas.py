"""Geographic areas for watchlists: does a found position fall inside a polygon?

Polygons are lists of (latitude, longitude) vertices, treated as plane
figures in degrees: right for the areas a watchlist draws (a valley, a
district, a few hundred kilometres), wrong for polygons around a pole or
across the antimeridian, which are refused with a message saying to split
them. The test is ray casting (crossing number) with a half-open rule at
vertices, so a ray through a vertex is counted once; points on an edge or a
vertex count as inside, checked before the ray is cast.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from egide.errors import InvalidInput

Point = tuple[float, float]


@dataclass(frozen=True)
class Area:
    """A named polygon of (latitude, longitude) vertices; the closing vertex is implied."""

    name: str
    vertices: tuple[Point, ...]

    @classmethod
    def of(cls, name: str, vertices: Iterable[Sequence[float]]) -> Area:
        """Build and validate an area.

        Raises:
            InvalidInput: fewer than three distinct vertices, a coordinate out of range,
                or an edge longer than 180° of longitude (crossing the antimeridian).
        """
        points: list[Point] = []
        for vertex in vertices:
            if len(vertex) != 2:
                raise InvalidInput(f"area {name!r}: each vertex is a (latitude, longitude) pair")
            lat, lon = float(vertex[0]), float(vertex[1])
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise InvalidInput(
                    f"area {name!r}: vertex ({lat}, {lon}) is out of range "
                    "(latitude ±90, longitude ±180)"
                )
            points.append((lat, lon))
        if len(points) > 1 and points[0] == points[-1]:
            points.pop()
        if len(set(points)) < 3:
            raise InvalidInput(f"area {name!r} needs at least three distinct vertices")
        for (_, lon1), (_, lon2) in zip(points, points[1:] + points[:1], strict=True):
            if abs(lon2 - lon1) > 180:
                raise InvalidInput(
                    f"area {name!r} crosses the antimeridian (180°): split it into two areas, "
                    "one on each side"
                )
        return cls(name, tuple(points))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(south, west, north, east)."""
        lats = [p[0] for p in self.vertices]
        lons = [p[1] for p in self.vertices]
        return min(lats), min(lons), max(lats), max(lons)

    def contains(self, lat: float, lon: float) -> bool:
        """True if the point is inside the polygon or on its boundary."""
        south, west, north, east = self.bounds
        if not (south <= lat <= north and west <= lon <= east):
            return False
        return point_in_polygon((lat, lon), self.vertices)


def point_in_polygon(point: Point, polygon: Sequence[Point]) -> bool:
    """Crossing-number test; a point on an edge or vertex is inside."""
    y, x = point
    inside = False
    n = len(polygon)
    for i in range(n):
        y1, x1 = polygon[i]
        y2, x2 = polygon[(i + 1) % n]
        if _on_segment(y, x, y1, x1, y2, x2):
            return True
        # Half-open in latitude: an edge counts when it straddles the ray's latitude with
        # one end strictly above, so a vertex on the ray is counted once, and horizontal
        # edges never.
        if (y1 > y) != (y2 > y):
            crossing = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < crossing:
                inside = not inside
    return inside


def areas_containing(areas: Iterable[Area], lat: float, lon: float) -> list[str]:
    """Names of the areas that hold the point, in the order given."""
    return [a.name for a in areas if a.contains(lat, lon)]


def _on_segment(y: float, x: float, y1: float, x1: float, y2: float, x2: float) -> bool:
    if not (min(x1, x2) <= x <= max(x1, x2) and min(y1, y2) <= y <= max(y1, y2)):
        return False
    cross = (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1)
    # Relative tolerance: coordinates are degrees, floating error is ~1e-15 of their size.
    scale = max(abs(x2 - x1), abs(y2 - y1), 1e-12)
    return abs(cross) <= 1e-12 * scale
