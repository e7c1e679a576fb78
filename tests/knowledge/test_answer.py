"""Grounded answers: extractive quoting, citation checks and the answer label."""

from __future__ import annotations

from egide.core.labels import PolicyRegistry
from egide.knowledge.answer import Passage, check_generated, extractive_answer

R = PolicyRegistry.builtin()


def passage(number: int, text: str, marking: str = "DR") -> Passage:
    label = R.parse(marking)
    return Passage(number, 100 + number, f"Doc {number}", 1, label, R.format(label), text)


PASSAGES = [
    passage(1, "Le convoi est arrivé à Gao. Le carburant restant couvre quatre jours."),
    passage(2, "The bridge at Kidal was damaged by floods. Repairs need two weeks.", "SECRET"),
    passage(3, "Météo clémente prévue pour la semaine.", "NP"),
]


def test_extractive_answer_quotes_and_cites() -> None:
    answer = extractive_answer("Combien de jours de carburant restant ?", PASSAGES, R.parse("NP"))
    assert answer.mode == "extractive"
    assert "« Le carburant restant couvre quatre jours. » [1]" in answer.text
    assert answer.citations[0].quote == "Le carburant restant couvre quatre jours."
    assert answer.citations[0].document_title == "Doc 1"


def test_answer_label_joins_every_passage_in_context() -> None:
    answer = extractive_answer("carburant", PASSAGES, R.parse("NP"))
    assert {c.number for c in answer.citations} == {1}
    assert R.format(answer.label) == "SECRET"


def test_no_match_says_so() -> None:
    answer = extractive_answer("sous-marins nucléaires", PASSAGES, R.parse("DR"))
    assert not answer.citations and "Aucun passage" in answer.text


def test_generated_citations_are_checked() -> None:
    text = (
        "Le carburant couvre quatre jours [1]. The bridge needs two weeks of repairs [2]. "
        "Une attaque est imminente [3]. Les renforts arrivent demain [7]. Rien d'autre."
    )
    answer = check_generated(text, PASSAGES, R.parse("DR"))
    assert answer.invalid_citations == (7,)
    assert "Une attaque est imminente [3]." in answer.unsupported_sentences
    assert "Les renforts arrivent demain [7]." in answer.unsupported_sentences
    assert "Le carburant couvre quatre jours [1]." not in answer.unsupported_sentences
    assert {c.number for c in answer.citations} == {1, 2, 3}
