"""MGRS: reference points, validation, free-text finding, and the lat/long round trip."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from egide.errors import InvalidInput
from egide.extractors.mgrs import find_mgrs, from_utm, parse_mgrs, to_mgrs, to_utm


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Equirectangular distance, good to well under a millimetre over a few metres."""
    dlat = math.radians(b[0] - a[0])
    dlon = math.radians((b[1] - a[1] + 180) % 360 - 180) * math.cos(math.radians((a[0] + b[0]) / 2))
    return 6_371_000 * math.hypot(dlat, dlon)


# Published values: GeographicLib's GeoConvert manual (Baghdad), the proj4js/mgrs
# test vectors (forward at 1 m) and NGA's mgrs-java (UTM of a 10 m reference).
def test_utm_matches_geoconvert() -> None:
    zone, north, e, n = to_utm(33.3, 44.4)
    assert (zone, north) == (38, True)
    assert abs(e - 444140.54) < 0.01 and abs(n - 3684706.36) < 0.01


@pytest.mark.parametrize(
    ("lat", "lon", "expected"),
    [
        (0.0, 0.0, "31NAA6602100000"),
        (0.00001, 0.0, "31NAA6602100001"),
        (36.2361322, -115.0820944, "11SPA7234911844"),
    ],
)
def test_forward_reference_points(lat: float, lon: float, expected: str) -> None:
    assert to_mgrs(lat, lon) == expected


def test_square_centre_matches_geoconvert() -> None:
    ref = parse_mgrs("38SMB4488")
    assert (ref.easting + 500, ref.northing + 500) == (444500, 3688500)
    assert metres((ref.lat, ref.lon), (33.33424, 44.40363)) < 1.0


def test_utm_of_a_reference_matches_nga() -> None:
    ref = parse_mgrs("33XVG74594359")
    assert (ref.zone, ref.easting, ref.northing) == (33, 474590, 8643590)


def test_high_arctic_reference_matches_geographiclib() -> None:
    ref = parse_mgrs("24XWT783908")
    assert metres((ref.lat, ref.lon), (83.6277742673141, -32.664336398663515)) < 1.0
    assert to_mgrs(ref.lat, ref.lon, 3) == "25XEN041865"  # the point lies in zone 25


def test_spaced_and_packed_forms_agree() -> None:
    spaced = parse_mgrs("31U DQ 48251 11932")
    packed = parse_mgrs("31udq4825111932")
    assert spaced == packed and spaced.canonical == "31UDQ4825111932"
    assert metres((spaced.lat, spaced.lon), (48.85820, 2.29450)) < 2  # Eiffel Tower
    assert spaced.precision_m == 1


@pytest.mark.parametrize(
    ("ref", "size"),
    [
        ("31UDQ", 100_000),
        ("31UDQ41", 10_000),
        ("31UDQ4811", 1000),
        ("31UDQ482119", 100),
        ("31UDQ48251193", 10),
    ],
)
def test_every_precision(ref: str, size: int) -> None:
    assert parse_mgrs(ref).precision_m == size


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        ("61UDQ4811", "zone 61"),
        ("0UDQ4811", "zone 0"),
        ("31IDQ4811", "not a latitude band"),
        ("31ODQ4811", "not a latitude band"),
        ("31UJQ4811", "column letter J"),  # zone 31 uses A-H
        ("31UDW4811", "row letter W"),
        ("31UDQ48111", "odd number"),
        ("32XDQ4811", "32X does not exist"),
        ("31UDQ482511193211", "0 to 5 digits"),
        ("ZDQ4811", "expected"),
    ],
)
def test_invalid_references_say_why(ref: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        parse_mgrs(ref)


@pytest.mark.parametrize("band", ["A", "B", "Y", "Z"])
def test_polar_ups_zones_are_refused_clearly(band: str) -> None:
    with pytest.raises(InvalidInput, match="polar UPS"):
        parse_mgrs(f"30{band}DQ4811")
    with pytest.raises(InvalidInput, match="polar UPS"):
        to_mgrs(85.0 if band in "YZ" else -85.0, 0.0)


def test_found_in_french_and_english_text() -> None:
    text = (
        "Contact en 31U DQ 48251 11932 à 1412Z, puis repli vers 31udq4825111932. "
        "Enemy seen at 4QFJ12345678; rally 38SMB4488."
    )
    found = find_mgrs(text)
    assert [f.value for f in found] == [
        "31UDQ4825111932",
        "31UDQ4825111932",
        "4QFJ12345678",
        "38SMB4488",
    ]
    assert text[found[0].span[0] : found[0].span[1]] == "31U DQ 48251 11932"
    assert found[2].data["precision_m"] == 10


@pytest.mark.parametrize(
    "text",
    [
        "Appelez le 06 12 34 56 78 ou le +33 1 23 45 67 89.",
        "Le 14/05/2026 à 14h30, 2 500 hommes et 31 chars.",
        "Invoice 2024-0042 for 1,250.00 EUR, ref ABC12345",
        "141200ZMAY26 and 10 km north, 3 RDA 2020",
        "31UDQ482511193 has an odd digit count; 31UJQ4811 a wrong column",
        "The 1st Battalion went 40 km on 12 May.",
        "x31UDQ4811 31UDQ4811x 31UDQ4811.5",
    ],
)
def test_not_grid_references(text: str) -> None:
    assert find_mgrs(text) == []


lats = st.floats(min_value=-80, max_value=83.999, allow_nan=False)
lons = st.floats(min_value=-180, max_value=179.99999, allow_nan=False)


@given(lats, lons)
def test_round_trip_lat_lon_to_mgrs_and_back(lat: float, lon: float) -> None:
    ref = parse_mgrs(to_mgrs(lat, lon))
    # A 1 m square: its centre is within √0.5 m of any point in it.
    assert metres((ref.lat, ref.lon), (lat, lon)) < 0.75
    assert find_mgrs(f"grid {to_mgrs(lat, lon)}, over")[0].value == ref.canonical


@given(lats, lons, st.integers(min_value=0, max_value=5))
def test_coarser_references_hold_the_point(lat: float, lon: float, precision: int) -> None:
    ref = parse_mgrs(to_mgrs(lat, lon, precision))
    assert metres((ref.lat, ref.lon), (lat, lon)) <= ref.precision_m * 0.71 + 1


@given(lats, lons)
def test_utm_round_trip_is_millimetric(lat: float, lon: float) -> None:
    back = from_utm(*to_utm(lat, lon))
    assert metres(back, (lat, lon)) < 0.002


@given(st.text())
def test_random_text_never_crashes(text: str) -> None:
    for f in find_mgrs(text):
        assert 0 <= f.span[0] < f.span[1] <= len(text)
