"""Call signs and unit designations in French and English."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from egide.errors import InvalidInput
from egide.extractors.units import CallSignExtractor, find_callsigns, find_units


def test_default_call_signs() -> None:
    text = "ALPHA 2-1, ici Tango 6 ; Bravo 1-2A rejoint X-RAY 3."
    assert [f.value for f in find_callsigns(text)] == [
        "ALPHA 2-1",
        "TANGO 6",
        "BRAVO 1-2A",
        "X-RAY 3",
    ]


@pytest.mark.parametrize(
    "text",
    ["the alpha 2 release", "Tango 6.5 kg", "Romeo and Juliet", "Delta 2026-05-14-3", "ALPHA2"],
)
def test_not_call_signs(text: str) -> None:
    assert find_callsigns(text) == []


def test_configured_call_signs() -> None:
    extract = CallSignExtractor([r"\bFAUCON [0-9]{2}\b"])
    assert [f.value for f in extract("FAUCON 21 à ALPHA 2")] == ["FAUCON 21"]
    with pytest.raises(InvalidInput, match="not a valid regular expression"):
        CallSignExtractor(["(unclosed"])


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("Le 2e RIMa est en place.", "2e RIMa"),
        ("appui du 1er RCP", "1er RCP"),
        ("la 3/2 RI tient le pont", "3/2 RI"),
        ("le 3e régiment d'infanterie arrive", "3e régiment d'infanterie"),
        ("le 1er régiment de chasseurs parachutistes", "1er régiment de chasseurs parachutistes"),
        ("la 1re compagnie", "1re compagnie"),
        ("1st Battalion moves at dawn", "1st Battalion"),
        ("3rd Infantry Division HQ", "3rd Infantry Division"),
        ("elements of 101st Airborne Division", "101st Airborne Division"),
        ("2 RIFLES relieve 3 PARA", "2 RIFLES"),
        ("the 11th Armoured Brigade", "11th Armoured Brigade"),
    ],
)
def test_units(text: str, unit: str) -> None:
    assert find_units(text)[0].value == unit


@pytest.mark.parametrize(
    "text",
    [
        "2th Battalion",
        "he came 2nd place on the 3rd day",
        "au 21e siècle, le 3e jour",
        "12 RI sans ordinal, 3 ri en minuscules",
        "Appelez le 06 12 34 56 78 le 14/05/2026.",
    ],
)
def test_not_units(text: str) -> None:
    assert find_units(text) == []


@given(st.text())
def test_random_text_never_crashes(text: str) -> None:
    find_units(text)
    find_callsigns(text)
