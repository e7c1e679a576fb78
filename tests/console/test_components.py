"""The console's pure parts: the catalogue, language negotiation, the marking component."""

from __future__ import annotations

import pytest

from egide.console import i18n
from egide.console.marking import PageMarks, level_class
from egide.core.labels import PolicyRegistry
from egide.core.policy import Policy
from egide.settings import home_label


def test_both_languages_hold_the_same_keys() -> None:
    assert i18n.keys("fr") == i18n.keys("en")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-GB,en;q=0.9,fr;q=0.8", "en"),
        ("fr-FR,fr;q=0.9", "fr"),
        ("de-DE,en;q=0.5", "en"),
        ("de-DE", "fr"),
        ("fr;q=0.2,en;q=0.7", "en"),
        ("en;q=0", "fr"),
        ("", "fr"),
        (None, "en"),
    ],
)
def test_language_from_accept_language(header: str | None, expected: str) -> None:
    default = "en" if header is None else "fr"
    assert i18n.negotiate(header, default) == expected


def test_the_banner_is_the_join_of_every_marked_item() -> None:
    policies = PolicyRegistry.builtin()
    marks = PageMarks(policies, home_label(policies), "fr")
    assert marks.banner() == ("NON PROTÉGÉ", "unclassified")
    marks.mark("DIFFUSION RESTREINTE")
    assert marks.banner() == ("DIFFUSION RESTREINTE", "restricted")
    rendered = marks.mark("SECRET", portion=True)
    assert ">(S)<" in rendered and 'title="SECRET"' in rendered
    marks.mark("NATO SECRET REL TO DEU, FRA")
    marking, level = marks.banner()
    assert level == "secret" and "SECRET" in marking
    marks.mark("TRÈS SECRET")
    assert marks.banner()[1] == "top-secret"


def test_the_marking_escapes_what_it_shows() -> None:
    policies = PolicyRegistry.builtin()
    marks = PageMarks(policies, home_label(policies), "en")
    assert marks.mark("NON PROTÉGÉ") == (
        '<span class="marking unclassified" title="NOT PROTECTED" '
        'data-marking="NOT PROTECTED">NOT PROTECTED</span>'
    )


def test_an_operators_own_policy_is_coloured_by_rank() -> None:
    nato: Policy = PolicyRegistry.builtin().get("NATO")
    labels = [PolicyRegistry.builtin().parse(m) for m in ("NATO UNCLASSIFIED", "COSMIC TOP SECRET")]
    assert [level_class(label) for label in labels] == ["unclassified", "top-secret"]
    assert nato.id == "NATO"
