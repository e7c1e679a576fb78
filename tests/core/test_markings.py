"""Markings read and written in French and English; clearances and their decisions."""

from __future__ import annotations

import pytest

from egide.core.labels import PolicyRegistry
from egide.errors import InvalidLabel, UnknownPolicy

R = PolicyRegistry.builtin()


@pytest.mark.parametrize(
    ("marking", "fr", "en", "portion"),
    [
        # French protected information is national: SPÉCIAL FRANCE is implied, not written.
        ("SECRET SPÉCIAL FRANCE", "SECRET", "SECRET", "(S)"),
        ("secret special france", "SECRET", "SECRET", "(S)"),
        (
            "SECRET REL TO DEU",
            "SECRET REL TO DEU, FRA",
            "SECRET REL TO DEU, FRA",
            "(S//REL TO DEU, FRA)",
        ),
        (
            "NON PROTÉGÉ SPÉCIAL FRANCE",
            "NON PROTÉGÉ SPÉCIAL FRANCE",
            "NOT PROTECTED SPECIAL FRANCE",
            "(NP//SF)",
        ),
        (
            "NATO SECRET CRYPTO REL TO FRA",
            "NATO SECRET CRYPTO REL TO FRA",
            "NATO SECRET CRYPTO REL TO FRA",
            "(NS//CRYPTO//REL TO FRA)",
        ),
        ("DR", "DIFFUSION RESTREINTE", "DIFFUSION RESTREINTE", "(DR)"),
        ("Non Protégé", "NON PROTÉGÉ", "NOT PROTECTED", "(NP)"),
        ("TRES SECRET", "TRÈS SECRET", "TOP SECRET", "(TS)"),
        ("TS CRYPTO", "TRÈS SECRET CRYPTO", "TOP SECRET CRYPTO", "(TS//CRYPTO)"),
        (
            "NATO SECRET REL TO FRA, DEU",
            "NATO SECRET REL TO DEU, FRA",
            "NATO SECRET REL TO DEU, FRA",
            "(NS//REL TO DEU, FRA)",
        ),
        ("NATO RESTRICTED", "NATO DIFFUSION RESTREINTE", "NATO RESTRICTED", "(NR)"),
        (
            "COSMIC TOP SECRET ATOMAL",
            "COSMIC TRÈS SECRET ATOMAL",
            "COSMIC TOP SECRET ATOMAL",
            "(CTS//ATOMAL)",
        ),
    ],
)
def test_parse_and_format(marking: str, fr: str, en: str, portion: str) -> None:
    label = R.parse(marking)
    assert R.format(label, "fr") == fr
    assert R.format(label, "en") == en
    assert R.portion(label) == portion
    assert R.parse(fr) == R.parse(en) == label
    assert R.parse(R.canonical(label)) == label
    assert R.parse_portion(portion) == label


@pytest.mark.parametrize(
    ("mark", "marking"),
    [("(S)", "SECRET"), ("(DR)", "DR"), ("(NS)", "NS"), ("(NC)", "NATO CONFIDENTIAL")],
)
def test_portion_marks(mark: str, marking: str) -> None:
    assert R.parse_portion(mark) == R.parse(marking)


@pytest.mark.parametrize(
    ("marking", "fault"),
    [
        ("ULTRA SECRET", "'ULTRA'"),
        ("SECRET PIZZA", "'PIZZA'"),
        ("CONFIDENTIEL DÉFENSE", "2021 reform"),
        ("", "empty marking"),
        ("NATO SECRET REL TO", "must list nationalities"),
    ],
)
def test_invalid_markings_name_the_fault(marking: str, fault: str) -> None:
    with pytest.raises(InvalidLabel, match=fault):
        R.parse(marking)


def test_invalid_portion() -> None:
    with pytest.raises(InvalidLabel, match="unknown portion mark"):
        R.parse_portion("(X)")
    with pytest.raises(InvalidLabel, match="parentheses"):
        R.parse_portion("S")


def test_unknown_policy_lists_the_loaded_ones() -> None:
    with pytest.raises(UnknownPolicy, match="FR, NATO"):
        R.get("ZZ")


def test_clearance_round_trip_and_defaults() -> None:
    clearance = R.parse_clearance("secret crypto")
    assert R.format_clearance(clearance) == "SECRET CRYPTO NAT FRA"
    assert R.parse_clearance(R.format_clearance(clearance)) == clearance
    nato = R.parse_clearance("NATO SECRET NAT DEU, NATO")
    assert nato.nationality == {"DEU", "NATO"}
    with pytest.raises(InvalidLabel, match="NAT"):
        R.parse_clearance("SECRET REL TO FRA")


@pytest.mark.parametrize(
    ("clearance", "marking", "allowed", "reason"),
    [
        ("SECRET", "DR", True, "allowed"),
        ("SECRET", "SECRET SPÉCIAL FRANCE", True, "allowed"),
        ("DR", "SECRET", False, "no read up"),
        ("SECRET", "SECRET CRYPTO", False, "compartment"),
        ("SECRET CRYPTO", "SECRET CRYPTO", True, "allowed"),
        ("NATO SECRET NAT DEU", "SECRET SPÉCIAL FRANCE", False, "nationality"),
        ("SECRET", "NATO SECRET REL TO FRA, DEU", True, "allowed"),
        ("SECRET", "NATO SECRET REL TO DEU, GBR", False, "nationality"),
        ("SECRET", "NATO CONFIDENTIAL", True, "allowed"),
        ("DR", "NATO CONFIDENTIAL", False, "no read up"),
        ("TS", "COSMIC TOP SECRET ATOMAL", False, "compartment"),
        ("SECRET NAT FRA, DEU", "NATO SECRET REL TO DEU, GBR", True, "allowed"),
        ("TS", "NATO SECRET REL TO NONE", False, "nationality"),
        ("TS", "SECRET REL TO NONE", True, "allowed"),
    ],
)
def test_clearance_decisions(clearance: str, marking: str, allowed: bool, reason: str) -> None:
    decision = R.parse_clearance(clearance).permits(R.parse(marking))
    assert decision.allowed is allowed
    assert reason in decision.reason


def test_refusals_do_not_name_the_object_label() -> None:
    decision = R.parse_clearance("SECRET").permits(R.parse("SECRET NUCLÉAIRE"))
    assert "NUCL" not in decision.reason.upper()


def test_operator_policy_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    extra = tmp_path / "deu.toml"
    extra.write_text(
        'id = "DEU"\nidentifier = "urn:de:vsa"\nprecedence = 5\n'
        '[[levels]]\nname_fr = "VS-NFD"\nname_en = "VS-NFD"\nportion = "VS-NFD"\n'
        '[equivalence.NATO]\n"VS-NFD" = "NATO RESTRICTED"\n'
    )
    registry = PolicyRegistry.builtin(extra_files=[extra])
    assert registry.parse("VS-NFD").expressed_in(registry.get("NATO")) == registry.parse("NR")
    broken = tmp_path / "broken.toml"
    broken.write_text("id = \n")
    with pytest.raises(InvalidLabel, match=r"broken\.toml"):
        PolicyRegistry.builtin(extra_files=[broken])
