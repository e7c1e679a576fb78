"""STANAG 4774 confidentiality labels: exact round trips and named faults."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given

from egide.core import stanag4774
from egide.core.labels import Label, PolicyRegistry
from egide.errors import InvalidLabel
from tests.core.strategies import labels

R = PolicyRegistry.builtin()
WHEN = datetime(2026, 11, 22, 9, 30, 0, tzinfo=UTC)


@given(labels())
def test_round_trip_is_exact(label: Label) -> None:
    text = stanag4774.to_xml(label, R, WHEN)
    parsed = stanag4774.from_xml(text, R)
    assert parsed.label == label
    assert parsed.created == WHEN
    assert stanag4774.to_xml(parsed.label, R, parsed.created) == text


def test_document_shape() -> None:
    text = stanag4774.to_xml(R.parse("NATO SECRET REL TO FRA, DEU"), R, WHEN)
    assert 'xmlns="urn:nato:stanag:4774:confidentialitymetadatalabel:1:0"' in text
    for element in (
        "<originatorConfidentialityLabel",
        "<ConfidentialityInformation>",
        "<PolicyIdentifier>NATO</PolicyIdentifier>",
        "<Classification>NATO SECRET</Classification>",
        '<Category TagName="REL TO" Type="PERMISSIVE">',
        "<GenericValue>DEU</GenericValue>",
        "<CreationDateTime>2026-11-22T09:30:00Z</CreationDateTime>",
    ):
        assert element in text


GOOD = stanag4774.to_xml(R.parse("SECRET CRYPTO SPÉCIAL FRANCE"), R, WHEN)


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("<originatorConfidentialityLabel", r"not well-formed XML \(line 1"),
        ('<!DOCTYPE x [<!ENTITY a "b">]><x/>', "DOCTYPE"),
        (GOOD.replace("originatorConfidentialityLabel", "label"), "root element"),
        (GOOD.replace("urn:fr:sgdsn:igi1300:2021", "urn:xx"), "unknown policy identifier"),
        (GOOD.replace("<Classification>SECRET", "<Classification>ULTRA"), "ULTRA"),
        (GOOD.replace('TagName="COMPARTIMENT"', 'TagName="CODEWORD"'), "CODEWORD"),
        (GOOD.replace('Type="RESTRICTIVE"', 'Type="INFORMATIVE"'), "has Type"),
        (GOOD.replace("<GenericValue>CRYPTO", "<GenericValue>PIZZA"), "PIZZA"),
        (GOOD.replace("2026-11-22T09:30:00Z", "yesterday"), "CreationDateTime"),
        (
            GOOD.replace("<CreationDateTime>2026-11-22T09:30:00Z</CreationDateTime>", ""),
            "missing the CreationDateTime",
        ),
    ],
)
def test_invalid_documents_name_the_fault(text: str, fault: str) -> None:
    with pytest.raises(InvalidLabel, match=fault):
        stanag4774.from_xml(text, R)
