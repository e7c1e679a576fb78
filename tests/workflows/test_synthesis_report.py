"""The report validator and the vocabularies: good reports pass, each breach is named precisely."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from egide.errors import InvalidInput
from egide.workflows.synthesis import (
    LIKELIHOOD,
    ReportInvalid,
    ensure_valid,
    parse_grading,
    validate_report,
)
from egide.workflows.synthesis.assemble import confidence_of, likelihood_of

PASSAGES = {
    1: "Un bataillon blindé se regroupe dans la forêt de Dravna. Il est probable qu'il franchisse.",
    2: "Des engins de génie sont vus près du pont de Klevo.",
}


def good() -> dict[str, Any]:
    """A valid report (its quoted French extract says 'probable': quotes are the source's)."""
    return {
        "tasking": "Where is the armoured battalion gathering?",
        "bluf": {"text": "The battalion is likely gathering in Dravna forest.", "sources": [1]},
        "key_judgments": [
            {
                "statement": "The adversary will likely attempt a crossing near Klevo.",
                "likelihood": "likely",
                "confidence": "moderate",
                "confidence_basis": "Two documents, graded B2 and C3, agree.",
                "sources": [1, 2],
            }
        ],
        "facts": [
            {"text": "Un bataillon blindé se regroupe dans la forêt de Dravna.", "source": 1},
            {"text": "«Il est probable qu'il franchisse.»", "source": 1},
        ],
        "assumptions": ["The two documents are independent."],
        "alternatives": ["The gathering is a deception."],
        "gaps": [],
        "sources": [
            {
                "number": 1,
                "chunk_id": 10,
                "document_id": 3,
                "title": "Note",
                "page": None,
                "marking": "SECRET",
                "reliability": "B",
                "credibility": 2,
                "grading": "B2",
            },
            {
                "number": 2,
                "chunk_id": 11,
                "document_id": 4,
                "title": "Imagerie",
                "page": 2,
                "marking": "DIFFUSION RESTREINTE",
                "reliability": None,
                "credibility": None,
                "grading": "ungraded",
            },
        ],
        "ai_involvement": {
            "mode": "generated",
            "model": "mistral-small",
            "model_digest": "ab" * 32,
            "statement": "Drafted by mistral-small; approved by a human.",
        },
    }


def kj(report: dict[str, Any]) -> dict[str, Any]:
    judgment: dict[str, Any] = report["key_judgments"][0]
    return judgment


Mutation = Callable[[dict[str, Any]], None]
BAD: list[tuple[str, Mutation, str, str]] = [
    (
        "other scale in likelihood",
        lambda r: kj(r).update(likelihood="probable"),
        "report.key_judgments[0].likelihood",
        "'probable' is not allowed",
    ),
    (
        "PHIA term",
        lambda r: kj(r).update(statement="It is highly likely that they cross."),
        "report.key_judgments[0].statement",
        "'highly likely', outside the ICD 203 lexicon",
    ),
    (
        "probably",
        lambda r: kj(r).update(statement="They will probably cross."),
        "report.key_judgments[0].statement",
        "'probably'",
    ),
    (
        "likelihood and confidence in one sentence",
        lambda r: kj(r).update(statement="We assess with high confidence they will likely cross."),
        "report.key_judgments[0].statement",
        "likelihood and a confidence in one sentence",
    ),
    (
        "statement disagrees with its field",
        lambda r: kj(r).update(statement="A crossing is very likely."),
        "report.key_judgments[0].statement",
        "says 'very likely' but its likelihood is 'likely'",
    ),
    (
        "two terms",
        lambda r: kj(r).update(statement="A crossing is likely; a retreat is unlikely."),
        "report.key_judgments[0].statement",
        "several likelihood terms",
    ),
    (
        "confidence off the scale",
        lambda r: kj(r).update(confidence="certain"),
        "report.key_judgments[0].confidence",
        "use one of 'low', 'moderate', 'high'",
    ),
    (
        "likelihood in the confidence basis",
        lambda r: kj(r).update(confidence_basis="Sources agree, so it is likely."),
        "report.key_judgments[0].confidence_basis",
        "states a likelihood",
    ),
    (
        "citation of a source the reader was not given",
        lambda r: kj(r).update(sources=[1, 7]),
        "report.key_judgments[0].sources",
        "cites [7], which is not a source of this report (1, 2)",
    ),
    (
        "judgment without evidence",
        lambda r: kj(r).update(sources=[]),
        "report.key_judgments[0].sources",
        "needs at least 1 item",
    ),
    (
        "fact that is an interpretation",
        lambda r: r["facts"][0].update(text="The battalion prepares an attack."),
        "report.facts[0].text",
        "is not a verbatim extract of source [1]",
    ),
    (
        "half a grading",
        lambda r: r["sources"][1].update(reliability="B"),
        "report.sources[1]",
        "grades only one of reliability and credibility",
    ),
    (
        "grading code out of step",
        lambda r: r["sources"][0].update(grading="A1"),
        "report.sources[0].grading",
        "is 'A1' but reliability and credibility say 'B2'",
    ),
    (
        "reliability off the code",
        lambda r: r["sources"][0].update(reliability="G"),
        "report.sources[0].reliability",
        "'G' is not allowed",
    ),
    (
        "missing BLUF",
        lambda r: r.pop("bluf"),
        "report.bluf",
        "is missing",
    ),
    (
        "unknown field",
        lambda r: r.update(opinion="x"),
        "report.opinion",
        "is not a field of the report schema",
    ),
    (
        "no alternative considered",
        lambda r: r.update(alternatives=[]),
        "report.alternatives",
        "needs at least 1 item",
    ),
    (
        "a boolean is not a source number",
        lambda r: r["facts"][0].update(source=True),
        "report.facts[0].source",
        "must be integer, not a boolean",
    ),
    (
        "generated without digest",
        lambda r: r["ai_involvement"].update(model_digest=None),
        "report.ai_involvement",
        "must name its model and the digest",
    ),
    (
        "other scale in an assumption",
        lambda r: r["assumptions"].append("The bridge is probably intact."),
        "report.assumptions[1]",
        "'probably'",
    ),
]


def test_a_good_report_passes() -> None:
    assert validate_report(good(), passages=PASSAGES) == []
    ensure_valid(good(), passages=PASSAGES)


@pytest.mark.parametrize(("case", "mutate", "path", "message"), BAD, ids=[b[0] for b in BAD])
def test_each_breach_is_named(case: str, mutate: Mutation, path: str, message: str) -> None:
    report = copy.deepcopy(good())
    mutate(report)
    problems = validate_report(report, passages=PASSAGES)
    assert any(p.path == path and message in p.message for p in problems), (case, problems)
    with pytest.raises(ReportInvalid) as raised:
        ensure_valid(report, passages=PASSAGES)
    assert path in raised.value.message and isinstance(raised.value, InvalidInput)


@given(term=st.sampled_from(LIKELIHOOD), other=st.sampled_from(LIKELIHOOD))
def test_statement_and_field_must_agree(term: str, other: str) -> None:
    report = good()
    kj(report).update(statement=f"A crossing before the snow is {term}.", likelihood=other)
    problems = validate_report(report, passages=PASSAGES)
    assert (problems == []) == (term == other), problems


@given(
    term=st.sampled_from(
        [
            "probable",
            "highly likely",
            "probably",
            "realistic possibility",
            "nearly certain",
            "remote chance",
            "highly improbable",
            "roughly even odds",
            "most likely",
        ]
    ),
    where=st.sampled_from(["bluf", "statement", "gap"]),
)
def test_foreign_scales_are_refused_anywhere_outside_quotes(term: str, where: str) -> None:
    text = f"A crossing is {term} before the snow."
    report = good()
    if where == "bluf":
        report["bluf"]["text"] = text
    elif where == "statement":
        kj(report)["statement"] = text
    else:
        report["gaps"] = [text]
    assert any(term in p.message for p in validate_report(report, passages=PASSAGES))
    report_quoted = good()
    report_quoted["gaps"] = [f"The source says «a crossing is {term}»."]
    assert validate_report(report_quoted, passages=PASSAGES) == []


def test_admiralty_codes() -> None:
    assert parse_grading("b2").code == "B2"
    assert parse_grading("ungraded").code == "ungraded"
    assert parse_grading("F6").meaning.startswith("reliability cannot be judged")
    for bad in ("G1", "A7", "B", "2B", "B22"):
        with pytest.raises(InvalidInput, match="Admiralty code"):
            parse_grading(bad)


@pytest.mark.parametrize(
    ("codes", "likelihood", "confidence"),
    [
        (["B2"], "likely", "moderate"),
        (["ungraded"], "roughly even chance", "low"),
        (["B2", "C3"], "likely", "moderate"),
        (["A1", "B2", "F6"], "very likely", "high"),
        (["ungraded", "ungraded"], "roughly even chance", "low"),
        (["D5"], "unlikely", "low"),
        (["E3", "B2"], "likely", "moderate"),
    ],
)
def test_likelihood_and_confidence_rules(
    codes: list[str], likelihood: str, confidence: str
) -> None:
    gradings = [parse_grading(c) for c in codes]
    assert likelihood_of(gradings) == likelihood
    assert confidence_of(gradings) == confidence
