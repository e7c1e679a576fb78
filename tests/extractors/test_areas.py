"""Point in polygon: edges, vertices, and invariants."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from egide.errors import InvalidInput
from egide.extractors.areas import Area, areas_containing

SQUARE = Area.of("square", [(0, 0), (0, 10), (10, 10), (10, 0)])
# A concave "U": the notch between lon 3 and 7 above lat 3 is outside.
U = Area.of("u", [(0, 0), (0, 10), (10, 10), (10, 7), (3, 7), (3, 3), (10, 3), (10, 0)])


def test_inside_outside_and_boundary() -> None:
    assert SQUARE.contains(5, 5)
    assert not SQUARE.contains(11, 5) and not SQUARE.contains(5, -0.001)
    assert SQUARE.contains(0, 5) and SQUARE.contains(10, 10)  # edge and vertex count as inside


def test_concave_polygon_and_ray_through_vertices() -> None:
    assert U.contains(1, 5) and U.contains(5, 1) and U.contains(5, 9)
    assert not U.contains(5, 5)
    # The ray from (3, -1) runs along the bottom of the notch and through its vertices.
    assert not U.contains(3, -1)
    assert U.contains(3, 1) and U.contains(3, 5)  # on the notch's bottom edge


def test_areas_containing() -> None:
    assert areas_containing([SQUARE, U], 5, 5) == ["square"]


@pytest.mark.parametrize(
    ("vertices", "why"),
    [
        ([(0, 0), (1, 1)], "three distinct"),
        ([(0, 0), (0, 0), (0, 0), (0, 0)], "three distinct"),
        ([(95, 0), (0, 1), (1, 1)], "out of range"),
        ([(0, 170), (0, -170), (5, -170)], "antimeridian"),
    ],
)
def test_bad_areas(vertices: list[tuple[float, float]], why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        Area.of("bad", vertices)


coord = st.floats(min_value=-60, max_value=60, allow_nan=False)
triangle = st.lists(st.tuples(coord, coord), min_size=3, max_size=3, unique=True)


def area2(t: list[tuple[float, float]]) -> float:
    (a, b), (c, d), (e, f) = t
    return (c - a) * (f - b) - (e - a) * (d - b)


@given(triangle)
def test_centroid_and_vertices_of_a_triangle_are_inside(t: list[tuple[float, float]]) -> None:
    assume(abs(area2(t)) > 1e-3)
    area = Area.of("t", t)
    centroid = (sum(p[0] for p in t) / 3, sum(p[1] for p in t) / 3)
    assert area.contains(*centroid)
    assert all(area.contains(*p) for p in t)


def edge_distance(t: list[tuple[float, float]], lat: float, lon: float) -> float:
    """How far the point lies from the triangle's nearest edge (degrees, planar)."""
    nearest = float("inf")
    for (y1, x1), (y2, x2) in zip(t, t[1:] + t[:1], strict=True):
        dy, dx = y2 - y1, x2 - x1
        along = max(0.0, min(1.0, ((lat - y1) * dy + (lon - x1) * dx) / (dy * dy + dx * dx)))
        nearest = min(nearest, ((lat - y1 - along * dy) ** 2 + (lon - x1 - along * dx) ** 2) ** 0.5)
    return nearest


@given(triangle, coord, coord, st.integers(0, 2))
def test_order_and_rotation_do_not_matter(
    t: list[tuple[float, float]], lat: float, lon: float, shift: int
) -> None:
    assume(abs(area2(t)) > 1e-3)
    # A point within rounding of an edge may fall either side once the edges are walked
    # in another order; the boundary itself is tested exactly above.
    assume(edge_distance(t, lat, lon) > 1e-9)
    answer = Area.of("t", t).contains(lat, lon)
    assert Area.of("r", t[shift:] + t[:shift]).contains(lat, lon) == answer
    assert Area.of("v", t[::-1]).contains(lat, lon) == answer


@given(coord, coord, coord, coord, coord, coord)
def test_rectangle_is_its_bounding_box(
    s: float, n: float, w: float, e: float, lat: float, lon: float
) -> None:
    s, n = sorted((s, n))
    w, e = sorted((w, e))
    assume(n - s > 1e-6 and e - w > 1e-6)
    rect = Area.of("r", [(s, w), (s, e), (n, e), (n, w)])
    assert rect.contains(lat, lon) == (s <= lat <= n and w <= lon <= e)
