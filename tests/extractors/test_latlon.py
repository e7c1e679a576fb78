"""Latitude/longitude notations: examples, things that are not positions, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from egide.extractors.latlon import find_latlon, format_compact, format_dms, parse_latlon


@pytest.mark.parametrize(
    ("text", "lat", "lon"),
    [
        ("position 48.8566N 2.3522E confirmée", 48.8566, 2.3522),
        ("at N48.8566 E2.3522.", 48.8566, 2.3522),
        ("pos 48.8566, 2.3522 ok", 48.8566, 2.3522),
        ("pos -33.8688, 151.2093", -33.8688, 151.2093),
        ("48°51'24\"N 2°21'08\"E", 48.856667, 2.352222),
        ("48°51′24″N, 2°21′08″E", 48.856667, 2.352222),
        ("33°20.5'S 044°24'O", -33.341667, -44.4),
        ("48.8566° N, 2.3522° E", 48.8566, 2.3522),
        ("CP at 485124N0022108E.", 48.856667, 2.352222),
        ("CP at 4851N00221W", 48.85, -2.35),
        ("2.3522E 48.8566N", 48.8566, 2.3522),
    ],
)
def test_positions(text: str, lat: float, lon: float) -> None:
    got = parse_latlon(text)
    assert got is not None
    assert abs(got[0] - lat) < 1e-5 and abs(got[1] - lon) < 1e-5


@pytest.mark.parametrize(
    "text",
    [
        "Appelez le 06 12 34 56 78 ou le +33 1 23 45 67 89.",
        "Le 14/05/2026, pi vaut 3.14, 2.71 ; prix 1,250.00.",
        "version 1.5, 2.5 and 10.2N of force",
        "91.0000N 2.0000E",
        "48°61'N 2°E",
        "48.8566N 2.3522N",
        "995124N0022108E",
        "485124N1852108E",
        "141200ZMAY26",
    ],
)
def test_not_positions(text: str) -> None:
    assert find_latlon(text) == []


def test_format_examples() -> None:
    assert format_dms(48.856667, 2.352222) == "48°51'24.0\"N 2°21'08.0\"E"
    assert format_compact(48.856667, 2.352222) == "485124N0022108E"
    assert format_dms(-0.99999999, -33.5) == "1°00'00.0\"S 33°30'00.0\"W"


lats = st.floats(min_value=-90, max_value=90, allow_nan=False)
lons = st.floats(min_value=-180, max_value=180, allow_nan=False)


@given(lats, lons)
def test_dms_round_trip(lat: float, lon: float) -> None:
    got = parse_latlon(f"pos {format_dms(lat, lon)} fin")
    assert got is not None
    assert abs(got[0] - lat) <= 0.05 / 3600 + 1e-9 and abs(got[1] - lon) <= 0.05 / 3600 + 1e-9


@given(lats, lons)
def test_compact_round_trip(lat: float, lon: float) -> None:
    got = parse_latlon(format_compact(lat, lon))
    assert got is not None
    assert abs(got[0] - lat) <= 0.5 / 3600 + 1e-9 and abs(got[1] - lon) <= 0.5 / 3600 + 1e-9


@given(st.text())
def test_random_text_never_crashes(text: str) -> None:
    for f in find_latlon(text):
        assert -90 <= f.data["lat"] <= 90 and -180 <= f.data["lon"] <= 180
