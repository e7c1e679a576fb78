"""Equipment gazetteer: default entries, case and accents, boundaries, custom files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from egide.errors import ConfigurationError
from egide.extractors.gazetteer import Gazetteer, find_equipment


def names(text: str) -> list[str]:
    return [f.value for f in find_equipment(text)]


def test_default_gazetteer_french_and_english() -> None:
    assert names("Deux VAB et un vbci, un Caiman en vol, le Tigre et le CAESAR.") == [
        "VAB",
        "VBCI",
        "NH90",
        "Tigre",
        "CAESAR",
    ]
    assert names("Two Rafale M, a Leclerc tank and an NH-90; Tiger helicopter") == [
        "Rafale",
        "Leclerc",
        "NH90",
        "Tigre",
    ]


def test_spans_point_at_the_original_text() -> None:
    text = "Un Caïman  et un véhicule de l'avant  blindé."
    found = find_equipment(text)
    assert [text[a:b] for a, b in (f.span for f in found)] == [
        "Caïman",
        "véhicule de l'avant  blindé",
    ]
    assert found[1].data["category"] == "armoured personnel carrier"


@pytest.mark.parametrize(
    "text",
    ["une rafale de vent", "un tigre au zoo", "VABX et NH900", "le caesarisme", "leclerc"],
)
def test_not_equipment(text: str) -> None:
    assert names(text) == []


def test_custom_gazetteer(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    path.write_text(
        '[[equipment]]\nname = "Griffon"\naliases = ["VBMR"]\ncategory = "APC"\n', encoding="utf-8"
    )
    assert [f.value for f in Gazetteer.from_toml(path)("trois vbmr")] == ["Griffon"]


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("not toml [", "cannot read"),
        ('[[equipment]]\naliases = ["x"]\n', "`name`"),
        ('[[equipment]]\nname = "A"\ncolour = "red"\n', "unknown keys"),
        ('[[equipment]]\nname = "A"\n[[equipment]]\nname = "B"\naliases = ["a"]\n', "both"),
    ],
)
def test_bad_gazetteer_files(tmp_path: Path, content: str, why: str) -> None:
    path = tmp_path / "g.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=why):
        Gazetteer.from_toml(path)


@given(st.text())
def test_random_text_never_crashes(text: str) -> None:
    for f in find_equipment(text):
        assert 0 <= f.span[0] < f.span[1] <= len(text)
