"""The deterministic assembler: a report built from extracted evidence, with no model wording.

Every step is a rule a reader can check:

- candidate statements are the sources' own sentences that share the most
  words with the tasking (headings and banner lines are skipped);
- a statement is *corroborated* by another document when at least half of its
  content words appear in one of that document's passages;
- likelihood comes from corroboration and grading (see `likelihood_of`),
  confidence from grading alone (see `confidence_of`); "almost certain" and
  "almost no chance" are never assembled: those need an analyst;
- facts are the quoted sentences; gaps are the parts of the tasking no source
  addresses, the ungraded sources and the uncorroborated judgments;
  assumptions and alternatives are stated plainly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from egide.core.labels import Label
from egide.knowledge.answer import sentences, words
from egide.workflows.synthesis.lexicon import Grading

MAX_JUDGMENTS = 3
_CORROBORATION = 0.5
# Question words ask; they are not something a source could fail to mention.
_ASKING = frozenset(
    "quand comment pourquoi combien quel quelle quels quelles lequel laquelle "
    "when where why how what which who whom whose will would shall".split()
)
_STEM = 5
_PORTION = re.compile(r"^\([A-Z][A-Z0-9 /,.-]*\)\s+")
_PARTS = re.compile(r"[?;:!\n]|,|\bet\b|\band\b|\bou\b|\bor\b", re.IGNORECASE)


@dataclass(frozen=True)
class Source:
    """One numbered passage placed in the context, with its document's grading."""

    number: int
    chunk_id: int
    document_id: int | None
    title: str
    filename: str
    page: int | None
    label: Label
    marking: str
    text: str
    grading: Grading
    title_label: Label | None = None
    """The label of the document whose title this source names (None: no title shown)."""

    @property
    def line_label(self) -> Label:
        """What the source's line shows (passage and title) carries: a title is information
        at its document's label."""
        return self.label if self.title_label is None else self.label.join(self.title_label)

    def entry(self) -> dict[str, Any]:
        """This source as the report's `sources` list shows it."""
        return {
            "number": self.number,
            "chunk_id": self.chunk_id,
            "document_id": self.document_id,
            "title": self.title,
            "page": self.page,
            "marking": self.marking,
            "reliability": self.grading.reliability,
            "credibility": self.grading.credibility,
            "grading": self.grading.code,
        }


@dataclass(frozen=True)
class _Candidate:
    score: float
    source: Source
    sentence: str


def likelihood_of(gradings: Sequence[Grading]) -> str:
    """The ICD 203 term for a statement reported by documents graded `gradings` (one each).

    - information graded doubtful/improbable or an unreliable source, with no
      fairly graded document beside it: *unlikely*;
    - three or more documents, two of them strongly graded (A–B and 1–2): *very likely*;
    - two or more documents, one fairly graded (A–C and 1–3), or a single
      strongly graded one: *likely*;
    - anything else (one document, or ungraded ones): *roughly even chance*.
    """
    fair = sum(g.fair for g in gradings)
    strong = sum(g.strong for g in gradings)
    if any(g.discredited for g in gradings) and not fair:
        return "unlikely"
    if len(gradings) >= 3 and strong >= 2:
        return "very likely"
    if (len(gradings) >= 2 and fair) or strong:
        return "likely"
    return "roughly even chance"


def confidence_of(gradings: Sequence[Grading]) -> str:
    """High with two strongly graded documents, moderate with one fairly graded, else low."""
    if sum(g.strong for g in gradings) >= 2:
        return "high"
    if any(g.fair for g in gradings):
        return "moderate"
    return "low"


def assemble(tasking: str, sources: Sequence[Source]) -> dict[str, Any]:
    """The analysis part of a report (see `report.ANALYSIS_SCHEMA`), built by rule."""
    chosen = _judgment_sentences(tasking, sources)
    judgments: list[dict[str, Any]] = []
    facts: list[dict[str, Any]] = []
    single: list[int] = []
    for index, candidate in enumerate(chosen, start=1):
        support = _supporting(candidate, sources)
        by_document = {s.document_id: s for s in reversed(support)}
        gradings = [s.grading for s in by_document.values()]
        likelihood = likelihood_of(gradings)
        cited = sorted({s.number for s in support})
        judgments.append(
            {
                "statement": f"It is {likelihood} that the following holds: «{candidate.sentence}»",
                "likelihood": likelihood,
                "confidence": confidence_of(gradings),
                "confidence_basis": _basis(list(by_document.values())),
                "sources": cited,
            }
        )
        if len(by_document) == 1:
            single.append(index)
        for source in support:
            quote = (
                candidate.sentence
                if source is candidate.source
                else _best_sentence(candidate.sentence, source)
            )
            fact = {"text": quote, "source": source.number}
            if fact not in facts:
                facts.append(fact)
    first = judgments[0]
    bluf = {
        "text": first["statement"],
        "sources": first["sources"],
    }
    return {
        "bluf": bluf,
        "key_judgments": judgments,
        "facts": facts,
        "assumptions": _assumptions(),
        "alternatives": _alternatives(single),
        "gaps": _gaps(tasking, sources, single),
    }


def _judgment_sentences(tasking: str, sources: Sequence[Source]) -> list[_Candidate]:
    asked = words(tasking)
    candidates = []
    every = [(s, _unmarked(x)) for s in sources for x in sentences(s.text)]
    statements = [(s, x) for s, x in every if _statement(x)] or every
    for source, sentence in statements:
        overlap = len(asked & words(sentence)) / (len(asked) or 1)
        # Ties go to better-ranked passages (retrieval order is the numbering).
        candidates.append(_Candidate(overlap - source.number * 0.001, source, sentence))
    candidates.sort(key=lambda c: -c.score)
    chosen: list[_Candidate] = []
    for candidate in candidates:
        if len(chosen) == MAX_JUDGMENTS:
            break
        if any(c.source.chunk_id == candidate.source.chunk_id for c in chosen):
            continue
        if any(_covers(words(c.sentence), candidate.sentence) for c in chosen):
            continue  # the same statement reported twice is corroboration, not a new judgment
        chosen.append(candidate)
    return chosen


def _unmarked(sentence: str) -> str:
    # A leading portion mark, "(S) …", is the source's marking, not its words: the report
    # marks every portion itself. What remains is still a verbatim extract.
    return _PORTION.sub("", sentence, count=1)


def _statement(sentence: str) -> bool:
    # A heading or banner line ("SECRET SPÉCIAL FRANCE", "NOTE DE RENSEIGNEMENT") states nothing.
    letters = [c for c in sentence if c.isalpha()]
    return len(words(sentence)) >= 4 and not all(c.isupper() for c in letters)


def _covers(claim: set[str], text: str) -> bool:
    return bool(claim) and len(claim & words(text)) / len(claim) >= _CORROBORATION


def _supporting(candidate: _Candidate, sources: Sequence[Source]) -> list[Source]:
    claim = words(candidate.sentence)
    others = [
        s
        for s in sources
        if s.document_id != candidate.source.document_id and _covers(claim, s.text)
    ]
    return [candidate.source, *others]


def _best_sentence(claim: str, source: Source) -> str:
    wanted = words(claim)
    best = max(sentences(source.text) or [source.text], key=lambda s: len(wanted & words(s)))
    return _unmarked(best)


def _basis(documents: Sequence[Source]) -> str:
    graded = ", ".join(f"[{s.number}] {s.grading.code}" for s in documents)
    count = len(documents)
    reported = "Reported by 1 document" if count == 1 else f"Reported by {count} documents"
    return f"{reported} ({graded}); gradings are the analyst's, ungraded counts as F6."


def _assumptions() -> list[str]:
    return [
        "The passages retrieved are representative of the reporting you may read on this "
        "tasking; documents above your clearance were not searched.",
        "The analyst's gradings are taken as given; an ungraded source is treated as F6 "
        "(reliability and credibility cannot be judged).",
        "Documents that report the same thing are independent of each other (no common "
        "origin); if they share one, corroboration is weaker than shown.",
    ]


def _alternatives(single: Sequence[int]) -> list[str]:
    found = [
        "The reporting is mistaken or is deliberate deception; independent corroboration is "
        "the main check against it.",
        "Reporting that contradicts these judgments may exist outside the sources searched.",
    ]
    found += [
        f"Key judgment {n} rests on one document: it may be wrong without any other source "
        "contradicting it."
        for n in single
    ]
    return found


def _gaps(tasking: str, sources: Sequence[Source], single: Sequence[int]) -> list[str]:
    gaps = []
    # Prefixes, so that "blindé" is found in "blindée" and "regroupe" in "regroupement".
    everything = {w[:_STEM] for s in sources for w in words(s.text)}

    def asked_in(text: str) -> set[str]:
        return {w for w in words(text) if w not in _ASKING}

    def mentioned(word: str) -> bool:
        return word[:_STEM] in everything

    for part in (p.strip() for p in _PARTS.split(tasking)):
        asked = asked_in(part)
        if asked and sum(map(mentioned, asked)) / len(asked) < _CORROBORATION:
            gaps.append(f"No source you may read addresses: «{part}».")
    missing = sorted(w for w in asked_in(tasking) if not mentioned(w))
    if missing:
        gaps.append(f"Terms of the tasking that no source mentions: {', '.join(missing)}.")
    seen: dict[int | None, Source] = {}
    for source in sources:
        seen.setdefault(source.document_id, source)
    ungraded = [s for s in seen.values() if s.grading.reliability is None]
    if ungraded:
        names = "; ".join(f"[{s.number}] {s.title}" for s in ungraded)
        gaps.append(
            f"Ungraded sources, whose reliability and credibility cannot be judged: {names}. "
            "Grade them to firm up the judgments."
        )
    if single:
        listed = ", ".join(str(n) for n in single)
        gaps.append(f"Key judgment(s) {listed} are not corroborated by a second document.")
    return gaps
