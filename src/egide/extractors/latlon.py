"""Latitude/longitude pairs in the notations of military and civil messages.

Recognised (docs/streams-extractors.md): degrees-minutes-seconds and
degrees-decimal-minutes with a degree sign (``48°51'24"N 2°21'08"E``), decimal
degrees with hemisphere letters (``48.8566N 2.3522E``, ``N48.8566 E2.3522``),
signed decimal degrees separated by a comma (``48.8566, -2.3522``, at least
three decimals so that ``1.5, 2.5`` in prose is not a position), and the
compact form of air and naval messages (``485124N0022108E``, ``4851N00221E``).
French ``O`` (ouest) is read as west. Every value is range-checked: latitude
±90, longitude ±180, minutes and seconds under 60.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from egide.extractors.found import Found

_NUM = r"\d{1,3}(?:[.,]\d+)?"
_SEC_MARK = r"(?:\"|″|”|''|’’)"
_MIN_MARK = r"(?:'|′|’)"


def _angle(tag: str) -> str:
    """One coordinate: a hemisphere letter before or after, degree sign or decimals."""
    with_sign = (
        rf"(?P<{tag}d>\d{{1,3}}(?:\.\d+)?) ?°"
        rf"(?: ?(?P<{tag}m>\d{{1,2}}(?:\.\d+)?) ?{_MIN_MARK}"
        rf"(?: ?(?P<{tag}s>\d{{1,2}}(?:\.\d+)?) ?{_SEC_MARK})?)?"
    )
    bare = rf"(?P<{tag}x>\d{{1,3}}\.\d+)"
    return (
        rf"(?:(?P<{tag}h1>[NSEWO]) ?)?(?:{with_sign}|{bare})"
        rf"(?: ?(?P<{tag}h2>[NSEWO])(?!\w))?"
    )


_HEMI_PAIR = re.compile(
    r"(?<![\w.°'])" + _angle("a") + r" ?[,;/]? ?" + _angle("b") + r"(?![\w°]|[.,]\d)"
)
_SIGNED_PAIR = re.compile(
    r"(?<![\w.,°-])(?P<lat>-?\d{1,2}\.\d{3,}) ?, ?(?P<lon>-?\d{1,3}\.\d{3,})(?![\w°]|[.,]\d)"
)
_COMPACT = re.compile(
    r"(?<![\w.])(?P<ad>\d{2})(?P<am>\d{2})(?P<as>\d{2}(?:\.\d+)?)?(?P<ah>[NS]) ?/? ?"
    r"(?P<bd>\d{3})(?P<bm>\d{2})(?P<bs>\d{2}(?:\.\d+)?)?(?P<bh>[EWO])(?![\w]|[.,]\d)"
)


def find_latlon(text: str) -> list[Found]:
    """Every valid latitude/longitude pair in `text` (kind ``latlon``), in order."""
    candidates: list[Found] = []
    for m in _HEMI_PAIR.finditer(text):
        found = _hemi_pair(m)
        if found is not None:
            candidates.append(found)
    for m in _SIGNED_PAIR.finditer(text):
        lat, lon = float(m["lat"]), float(m["lon"])
        if _valid(lat, lon):
            candidates.append(_found(m.span(), lat, lon, "decimal"))
    for m in _COMPACT.finditer(text):
        a = _dms(m["ad"], m["am"], m["as"])
        b = _dms(m["bd"], m["bm"], m["bs"])
        if a is None or b is None:
            continue
        lat = -a if m["ah"] == "S" else a
        lon = b if m["bh"] == "E" else -b
        if _valid(lat, lon):
            candidates.append(_found(m.span(), lat, lon, "compact"))
    return _without_overlaps(candidates)


def parse_latlon(text: str) -> tuple[float, float] | None:
    """The (latitude, longitude) of the first position in `text`, or None."""
    found = find_latlon(text)
    return (found[0].data["lat"], found[0].data["lon"]) if found else None


def format_dms(lat: float, lon: float, decimals: int = 1) -> str:
    """``48°51'24.0"N 2°21'08.0"E``: degrees, minutes, seconds with hemisphere letters."""
    return f"{_format(lat, 'NS', decimals)} {_format(lon, 'EW', decimals)}"


def format_compact(lat: float, lon: float) -> str:
    """``485124N0022108E``: whole seconds, as in air and naval messages."""
    (ad, am, a_s), (bd, bm, bs) = _split(abs(lat), 0), _split(abs(lon), 0)
    return (
        f"{ad:02d}{am:02d}{int(a_s):02d}{'N' if lat >= 0 else 'S'}"
        f"{bd:03d}{bm:02d}{int(bs):02d}{'E' if lon >= 0 else 'W'}"
    )


def _format(value: float, letters: str, decimals: int) -> str:
    d, m, s = _split(abs(value), decimals)
    width = 3 + decimals if decimals else 2
    return f"{d}°{m:02d}'{s:0{width}.{decimals}f}\"{letters[0] if value >= 0 else letters[1]}"


def _split(value: float, decimals: int) -> tuple[int, int, float]:
    # Round once, in units of the last printed digit, so 59.96" never prints as 60.0".
    unit = 10**decimals
    total = round(value * 3600 * unit)
    d, rest = divmod(total, 3600 * unit)
    m, s = divmod(rest, 60 * unit)
    return int(d), int(m), s / unit


def _hemi_pair(m: re.Match[str]) -> Found | None:
    angles = []
    for tag in ("a", "b"):
        h1, h2 = m[f"{tag}h1"], m[f"{tag}h2"]
        if (h1 is None) == (h2 is None):
            return None
        hemi = (h1 or h2).replace("O", "W")
        if m[f"{tag}x"] is not None:
            value: float | None = float(m[f"{tag}x"])
        else:
            value = _dms(m[f"{tag}d"], m[f"{tag}m"], m[f"{tag}s"])
        if value is None:
            return None
        angles.append((hemi, value))
    (ha, va), (hb, vb) = angles
    if ha in "NS" and hb in "EW":
        lat, lon = (-va if ha == "S" else va), (-vb if hb == "W" else vb)
    elif ha in "EW" and hb in "NS":
        lat, lon = (-vb if hb == "S" else vb), (-va if ha == "W" else va)
    else:
        return None
    if not _valid(lat, lon):
        return None
    notation = "dms" if m["ad"] is not None or m["bd"] is not None else "decimal"
    return _found(m.span(), lat, lon, notation)


def _dms(d: str, m: str | None, s: str | None) -> float | None:
    minutes = float(m) if m else 0.0
    seconds = float(s) if s else 0.0
    if minutes >= 60 or seconds >= 60:
        return None
    if "." in d and (m or s):
        return None
    return float(d) + minutes / 60 + seconds / 3600


def _valid(lat: float, lon: float) -> bool:
    return -90 <= lat <= 90 and -180 <= lon <= 180


def _found(span: tuple[int, int], lat: float, lon: float, notation: str) -> Found:
    return Found(
        kind="latlon",
        value=f"{lat:.6f} {lon:.6f}",
        span=span,
        data={"lat": lat, "lon": lon, "notation": notation},
    )


def _without_overlaps(found: Iterable[Found]) -> list[Found]:
    """Earliest first, the longer one on a tie; anything overlapping a kept match is dropped."""
    kept: list[Found] = []
    for f in sorted(found, key=lambda f: (f.span[0], -f.span[1])):
        if not kept or f.span[0] >= kept[-1].span[1]:
            kept.append(f)
    return kept
