"""The deterministic extractors: hand-written examples and properties."""

from __future__ import annotations

import calendar

from hypothesis import given
from hypothesis import strategies as st

from egide.streams.extract import (
    EXTRACTORS,
    Finding,
    callsign_extractor,
    date_time_groups,
    extract_all,
    language,
    register,
    with_callsigns,
)

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def test_a_dtg_is_found_normalised_with_its_span() -> None:
    text = "Arrivée 141200ZMAY26 puis départ 150630Z MAY 26."
    found = date_time_groups(text)
    assert [f.value for f in found] == ["141200ZMAY26", "150630ZMAY26"]
    assert text[slice(*found[0].span)] == "141200ZMAY26"
    assert text[slice(*found[1].span)] == "150630Z MAY 26"


def test_impossible_dtgs_are_not_dtgs() -> None:
    for bad in ("310000ZAPR26", "290000ZFEB25", "142400ZMAY26", "141260ZMAY26", "001200ZMAY26"):
        assert date_time_groups(f"at {bad}") == [], bad
    assert date_time_groups("141200JMAY26") == []  # J (local time) is not written in a DTG
    assert date_time_groups("X141200ZMAY26") == []  # part of a longer token
    assert [f.value for f in date_time_groups("290000ZFEB28")] == ["290000ZFEB28"]  # leap year


@given(
    st.integers(0, 99),
    st.integers(1, 12),
    st.integers(1, 31),
    st.integers(0, 23),
    st.integers(0, 59),
    st.sampled_from("ABCDEFGHIKLMNOPQRSTUVWXYZ"),
)
def test_every_valid_dtg_is_found_and_only_valid_ones(
    year: int, month: int, day: int, hour: int, minute: int, zone: str
) -> None:
    dtg = f"{day:02d}{hour:02d}{minute:02d}{zone}{MONTHS[month - 1]}{year:02d}"
    valid = day <= calendar.monthrange(2000 + year, month)[1]
    found = date_time_groups(f"Message du {dtg} : RAS.")
    assert [f.value for f in found] == ([dtg] if valid else [])


@given(st.text(max_size=200))
def test_extractors_never_fail_and_spans_lie_in_the_text(text: str) -> None:
    for finding in extract_all(text):
        start, end = finding.span
        assert 0 <= start <= end <= len(text)


def test_language_by_stopwords() -> None:
    assert language("Le convoi arrive à Marsk dans la nuit avec les vivres.")[0].value == "fr"
    assert language("The convoy reached the bridge at dawn with the supplies.")[0].value == "en"
    assert language("CLOU-7 141200ZMAY26") == []  # nothing to say it by


def test_call_signs_default_and_configurable() -> None:
    text = "CLOU-7 relève VIPER-21B ; pas de R-7 ni de X-1."
    assert [f.value for f in callsign_extractor()(text)] == ["CLOU-7", "VIPER-21B"]
    custom = with_callsigns(r"\b[A-Z]\d[A-Z]\b")["callsign"]
    assert [f.value for f in custom("contact 2A1 et B3C")] == ["B3C"]


def test_a_new_extractor_plugs_in_through_the_registry() -> None:
    def unit(text: str) -> list[Finding]:
        at = text.find("2e RIMa")
        return [Finding("unit", "2e RIMa", (at, at + 7))] if at >= 0 else []

    saved = dict(EXTRACTORS)
    try:
        register("unit", unit)
        kinds = {f.kind for f in extract_all("Le 2e RIMa arrive à 141200ZMAY26 avec CLOU-7.")}
        assert kinds == {"language", "dtg", "callsign", "unit"}
    finally:
        EXTRACTORS.clear()
        EXTRACTORS.update(saved)


def test_positions_units_and_equipment_are_registered_for_every_message() -> None:
    text = (
        "141200ZMAY26 le 2e RIMa signale deux VAB en 31U DQ 48251 11932, "
        "puis à 48°51'24\"N 2°21'08\"E."
    )
    kinds = {finding.kind: finding.value for finding in extract_all(text)}
    assert kinds["dtg"]
    assert kinds["mgrs"] == "31UDQ4825111932"
    assert "latlon" in kinds and kinds["language"] == "fr"
    assert "unit" in kinds and kinds["equipment"] == "VAB"
