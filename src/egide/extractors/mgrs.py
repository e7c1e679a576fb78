"""MGRS grid references: find them in text, validate them, convert to and from WGS84.

MGRS names a square on the UTM grid: a grid zone (1-60 and a latitude band
C-X), a 100 km square (two letters), then 1 to 5 digits of easting and as
many of northing (10 km to 1 m). The conversion is the Krüger series for the
transverse Mercator projection (Karney 2011, terms to n³: under a millimetre
inside a UTM zone) written out here in pure Python rather than pulling in
PROJ for two formulas. The polar UPS zones (bands A, B, Y, Z) are refused
with a clear message.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from egide.errors import InvalidInput
from egide.extractors.found import Found

# WGS84 and UTM constants.
_A = 6378137.0
_F = 1 / 298.257223563
_K0 = 0.9996
_E0 = 500_000.0
_N0_SOUTH = 10_000_000.0
_N = _F / (2 - _F)
_RECT = _A / (1 + _N) * (1 + _N**2 / 4 + _N**4 / 64)
_ECC = 2 * math.sqrt(_N) / (1 + _N)
_ALPHA = (
    _N / 2 - 2 * _N**2 / 3 + 5 * _N**3 / 16,
    13 * _N**2 / 48 - 3 * _N**3 / 5,
    61 * _N**3 / 240,
)
_BETA = (
    _N / 2 - 2 * _N**2 / 3 + 37 * _N**3 / 96,
    _N**2 / 48 + _N**3 / 15,
    17 * _N**3 / 480,
)
_DELTA = (
    2 * _N - 2 * _N**2 / 3 - 2 * _N**3,
    7 * _N**2 / 3 - 8 * _N**3 / 5,
    56 * _N**3 / 15,
)

BANDS = "CDEFGHJKLMNPQRSTUVWX"
_COLUMNS = ("ABCDEFGH", "JKLMNPQR", "STUVWXYZ")
_ROWS = "ABCDEFGHJKLMNPQRSTUV"
# Band X (72-84°N) has no zones 32, 34 and 36: Svalbard's zones 31, 33, 35, 37 are widened.
_MISSING_X_ZONES = frozenset({32, 34, 36})


@dataclass(frozen=True)
class GridReference:
    """A parsed MGRS reference and the WGS84 position of its square.

    `lat`/`lon` are the centre of the square the reference names (for a
    1 m reference, within 0.71 m of any point in it); `corner_lat`/
    `corner_lon` its south-west corner, the point the digits spell.
    """

    zone: int
    band: str
    square: str
    easting: float
    northing: float
    precision_m: int
    lat: float
    lon: float
    corner_lat: float
    corner_lon: float

    @property
    def canonical(self) -> str:
        """The reference with no spaces, upper case, at its own precision."""
        digits = 5 - round(math.log10(self.precision_m))
        if digits == 0:
            return f"{self.zone}{self.band}{self.square}"
        scale = self.precision_m
        e = int(self.easting % 100_000) // scale
        n = int(self.northing % 100_000) // scale
        return f"{self.zone}{self.band}{self.square}{e:0{digits}d}{n:0{digits}d}"


def to_utm(lat: float, lon: float, zone: int | None = None) -> tuple[int, bool, float, float]:
    """(zone, northern hemisphere, easting, northing) of a WGS84 point.

    `zone` forces a zone (for points near a zone edge); by default the MGRS
    zone is used, Norway's and Svalbard's exceptions included.
    """
    _check_lat_lon(lat, lon)
    if zone is None:
        zone = utm_zone(lat, lon)
    lam = math.radians(_wrap(lon - _central_meridian(zone)))
    phi = math.radians(lat)
    sin_phi = math.sin(phi)
    t = math.sinh(math.atanh(sin_phi) - _ECC * math.atanh(_ECC * sin_phi))
    xi_p = math.atan2(t, math.cos(lam))
    eta_p = math.atanh(math.sin(lam) / math.sqrt(1 + t * t))
    xi, eta = xi_p, eta_p
    for j, a in enumerate(_ALPHA, start=1):
        xi += a * math.sin(2 * j * xi_p) * math.cosh(2 * j * eta_p)
        eta += a * math.cos(2 * j * xi_p) * math.sinh(2 * j * eta_p)
    easting = _E0 + _K0 * _RECT * eta
    northing = _K0 * _RECT * xi
    north = lat >= 0
    if not north:
        northing += _N0_SOUTH
    return zone, north, easting, northing


def from_utm(zone: int, north: bool, easting: float, northing: float) -> tuple[float, float]:
    """WGS84 (latitude, longitude) in degrees of a UTM coordinate."""
    if not 1 <= zone <= 60:
        raise InvalidInput(f"UTM zone {zone} is out of range: zones run from 1 to 60")
    xi = (northing - (0.0 if north else _N0_SOUTH)) / (_K0 * _RECT)
    eta = (easting - _E0) / (_K0 * _RECT)
    xi_p, eta_p = xi, eta
    for j, b in enumerate(_BETA, start=1):
        xi_p -= b * math.sin(2 * j * xi) * math.cosh(2 * j * eta)
        eta_p -= b * math.cos(2 * j * xi) * math.sinh(2 * j * eta)
    chi = math.asin(max(-1.0, min(1.0, math.sin(xi_p) / math.cosh(eta_p))))
    phi = chi + sum(d * math.sin(2 * j * chi) for j, d in enumerate(_DELTA, start=1))
    lam = math.atan2(math.sinh(eta_p), math.cos(xi_p))
    return math.degrees(phi), _wrap(_central_meridian(zone) + math.degrees(lam))


def utm_zone(lat: float, lon: float) -> int:
    """The MGRS grid zone number of a point (with the Norway and Svalbard exceptions)."""
    zone = min(60, int((lon + 180) // 6) + 1)
    if 56 <= lat < 64 and 3 <= lon < 12:
        return 32
    if 72 <= lat <= 84 and 0 <= lon < 42:
        return 31 if lon < 9 else 33 if lon < 21 else 35 if lon < 33 else 37
    return zone


def to_mgrs(lat: float, lon: float, precision: int = 5) -> str:
    """The MGRS reference (no spaces) of the square of `10**(5 - precision)` m holding a point.

    Digits are truncated, not rounded, as MGRS requires: the reference names
    the square the point lies in.
    """
    if not 0 <= precision <= 5:
        raise InvalidInput(f"MGRS precision {precision} is out of range: use 0 to 5 digit pairs")
    _check_lat_lon(lat, lon)
    if not -80 <= lat <= 84:
        raise InvalidInput(
            f"latitude {lat} is in a polar UPS zone, which MGRS here does not cover "
            "(use latitude/longitude between 80°S and 84°N)"
        )
    zone, _, easting, northing = to_utm(lat, lon)
    band = BANDS[min(19, int((lat + 80) // 8))]
    # Truncate to the metre first so that 99999.9999 m never spills into the next square.
    e, n = math.floor(easting), math.floor(northing)
    column = _COLUMNS[(zone - 1) % 3][e // 100_000 - 1]
    row = _ROWS[(n // 100_000 + (0 if zone % 2 else 5)) % 20]
    scale = 10 ** (5 - precision)
    digits = ""
    if precision:
        digits = f"{(e % 100_000) // scale:0{precision}d}{(n % 100_000) // scale:0{precision}d}"
    return f"{zone}{band}{column}{row}{digits}"


def parse_mgrs(reference: str) -> GridReference:
    """Parse and validate one MGRS reference, spaces allowed (``31U DQ 48251 11932``).

    Raises:
        InvalidInput: naming what is wrong (zone, band, square letters, digits).
    """
    text = " ".join(reference.split()).upper()
    match = _WHOLE.fullmatch(text)
    if match is None:
        raise InvalidInput(
            f"{reference!r} is not an MGRS reference: expected a zone (1-60), a band letter, "
            "two 100 km square letters and 0 to 5 digit pairs, e.g. 31U DQ 48251 11932"
        )
    zone_s, band, column, row, rest = match.groups()
    groups = rest.split()
    if len(groups) == 2:
        e_s, n_s = groups
    else:
        packed = "".join(groups)
        if len(packed) % 2:
            raise InvalidInput(
                f"{reference!r} has an odd number of digits: easting and northing need as many"
            )
        e_s, n_s = packed[: len(packed) // 2], packed[len(packed) // 2 :]
    return _decode(int(zone_s), band, column, row, e_s, n_s, reference)


def find_mgrs(text: str) -> list[Found]:
    """Every valid MGRS reference in `text` (kind ``mgrs``), in order.

    Candidates that look like MGRS but fail validation (zone 0, band I,
    square letters outside the zone's set) are skipped, not reported.
    """
    found: list[Found] = []
    for m in _FIND.finditer(text):
        zone_s, band, column, row, spaced_e, spaced_n, packed = m.groups()
        if packed is not None:
            if len(packed) % 2:
                continue
            half = len(packed) // 2
            e_s, n_s = packed[:half], packed[half:]
        else:
            e_s, n_s = spaced_e or "", spaced_n or ""
        try:
            ref = _decode(int(zone_s), band.upper(), column.upper(), row.upper(), e_s, n_s, "")
        except InvalidInput:
            continue
        found.append(
            Found(
                kind="mgrs",
                value=ref.canonical,
                span=m.span(),
                data={
                    "lat": ref.lat,
                    "lon": ref.lon,
                    "precision_m": ref.precision_m,
                    "zone": ref.zone,
                    "band": ref.band,
                    "square": ref.square,
                    "easting": ref.easting,
                    "northing": ref.northing,
                },
            )
        )
    return found


_WHOLE = re.compile(r"(\d{1,2}) ?([A-Z]) ?([A-Z])([A-Z]) ?((?:\d+ ?)*)")
# In free text the digits are either packed (an even count, 2-10) or two spaced groups
# of equal length; letters may be typed in lower case. Lookarounds keep a reference from
# starting or ending inside a longer word or number.
_FIND = re.compile(
    r"(?<![\w.,/-])(\d{1,2}) ?([C-HJ-NP-X]) ?([A-HJ-NP-Z])([A-HJ-NP-V])"
    r"(?:(?: (\d{1,5}) (\d{1,5}))|(?: ?(\d{2,10})))?(?![\w/-]|[.,]\d)",
    re.IGNORECASE,
)


def _decode(
    zone: int, band: str, column: str, row: str, e_s: str, n_s: str, reference: str
) -> GridReference:
    shown = reference or f"{zone}{band}{column}{row}{e_s}{n_s}"
    if not 1 <= zone <= 60:
        raise InvalidInput(f"{shown!r}: grid zone {zone} is out of range (1-60)")
    if band in "ABYZ":
        raise InvalidInput(
            f"{shown!r}: band {band} is a polar UPS zone, which is not supported; "
            "give the position as latitude/longitude"
        )
    if band not in BANDS:
        raise InvalidInput(f"{shown!r}: {band} is not a latitude band (C-X, without I and O)")
    if band == "X" and zone in _MISSING_X_ZONES:
        raise InvalidInput(f"{shown!r}: grid zone {zone}X does not exist (Svalbard exception)")
    columns = _COLUMNS[(zone - 1) % 3]
    if column not in columns:
        raise InvalidInput(
            f"{shown!r}: 100 km column letter {column} is not used in zone {zone} "
            f"(its letters are {columns[0]}-{columns[-1]})"
        )
    if row not in _ROWS:
        raise InvalidInput(f"{shown!r}: 100 km row letter {row} is not valid (A-V, no I or O)")
    if len(e_s) != len(n_s) or len(e_s) > 5:
        raise InvalidInput(f"{shown!r}: easting and northing need 0 to 5 digits each, as many")
    precision = len(e_s)
    size = 10 ** (5 - precision)
    easting = (columns.index(column) + 1) * 100_000.0 + (int(e_s) * size if e_s else 0)
    row_n = ((_ROWS.index(row) - (0 if zone % 2 else 5)) % 20) * 100_000.0
    row_n += int(n_s) * size if n_s else 0
    north = band >= "N"
    band_south = -80 + 8 * BANDS.index(band)
    band_north = 84 if band == "X" else band_south + 8
    # The row letters repeat every 2,000 km: keep the repeat whose latitude falls in the
    # band (with a degree of slack, since a coarse square may start in the band below).
    for k in range(6):
        northing = row_n + k * 2_000_000.0
        corner = from_utm(zone, north, easting, northing)
        centre = from_utm(zone, north, easting + size / 2, northing + size / 2)
        if band_south - 1 <= centre[0] <= band_north + 1:
            return GridReference(
                zone, band, column + row, easting, northing, size, *centre, *corner
            )
    raise InvalidInput(f"{shown!r}: square {column}{row} does not lie in band {band}")


def _central_meridian(zone: int) -> float:
    return zone * 6 - 183.0


def _wrap(lon: float) -> float:
    return (lon + 180) % 360 - 180 if not -180 <= lon <= 180 else lon


def _check_lat_lon(lat: float, lon: float) -> None:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput(f"({lat}, {lon}) is not a position: latitude ±90, longitude ±180")
