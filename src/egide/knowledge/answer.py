"""Grounded answers: numbered context, extractive or generated prose, checked citations.

The context holds only passages the caller may read (retrieval filtered them
inside its SQL). The answer's label is the join of the labels of *every*
passage placed in the context — not only the cited ones, since a generator
may have used any of them — and of the request's working label.

Two modes:

- **extractive** (the default with the demo model): the answer is made of the
  passages' own sentences that best match the question, quoted and cited.
  Honest and useful with no capable model.
- **generative**: a model writes prose from the numbered passages; every
  `[n]` it cites is checked to exist, and sentences whose words are not
  supported by what they cite are flagged.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from egide.core.labels import Label, join

_SENTENCE = re.compile(r"(?<=[.!?…])\s+(?=[A-ZÀ-ÖØ-Þ0-9(«\"'])")
_CITATION = re.compile(r"\[(\d+)\]")
_WORD = re.compile(r"\w+", re.UNICODE)
# Words that carry no evidence: French and English function words.
_STOP = frozenset(
    (
        "a an the of to in on at for from by with and or is are was were be been it its this that "
        "these those what which who whom when where why how does do did le la les un une des du de "
        "d l et ou est sont a au aux en dans sur pour par avec que qui quoi quel quelle quels "
        "quelles ce cette ces il elle ils elles on ne pas plus se sa son ses leur leurs y "
    ).split()
)


@dataclass(frozen=True)
class Passage:
    """One numbered passage of the context."""

    number: int
    chunk_id: int
    document_title: str
    page: int | None
    label: Label
    marking: str
    text: str
    document_id: int | None = None
    """The passage's document (a citation links to the passage in it)."""


@dataclass(frozen=True)
class Citation:
    """A cited passage with the exact supporting text."""

    number: int
    chunk_id: int
    document_title: str
    page: int | None
    marking: str
    quote: str
    document_id: int | None = None


@dataclass(frozen=True)
class Answer:
    """A grounded answer and how far it can be trusted."""

    text: str
    mode: str
    label: Label
    citations: tuple[Citation, ...]
    unsupported_sentences: tuple[str, ...] = ()
    invalid_citations: tuple[int, ...] = ()
    passages: tuple[Passage, ...] = field(default=(), repr=False)


def answer_label(passages: Sequence[Passage], working_label: Label) -> Label:
    """Join of every passage in the context and of the working label."""
    return join(working_label, *(p.label for p in passages))


def words(text: str) -> set[str]:
    """Content words of `text`, lower case, accents removed."""
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return {w for w in _WORD.findall(plain) if w not in _STOP and len(w) > 1}


def sentences(text: str) -> list[str]:
    """Sentences of a passage (paragraph breaks also end sentences)."""
    found: list[str] = []
    for paragraph in text.split("\n"):
        found.extend(s.strip() for s in _SENTENCE.split(paragraph) if s.strip())
    return found


def extractive_answer(
    question: str,
    passages: Sequence[Passage],
    working_label: Label,
    *,
    max_sentences: int = 3,
) -> Answer:
    """Quote the sentences that best match the question, each with its citation."""
    asked = words(question)
    scored: list[tuple[float, int, int, str]] = []
    for passage in passages:
        for position, sentence in enumerate(sentences(passage.text)):
            overlap = asked & words(sentence)
            if overlap:
                # Favour coverage of the question, then earlier passages (better ranked).
                score = len(overlap) / (len(asked) or 1) - passage.number * 0.01
                scored.append((score, passage.number, position, sentence))
    scored.sort(key=lambda item: (-item[0], item[1], item[2]))
    chosen = scored[:max_sentences]
    label = answer_label(passages, working_label)
    if not chosen:
        return Answer(
            text="Aucun passage accessible ne répond à cette question. "
            "(No passage you may read answers this question.)",
            mode="extractive",
            label=label,
            citations=(),
            passages=tuple(passages),
        )
    by_number = {p.number: p for p in passages}
    lines = [f"« {sentence} » [{number}]" for _, number, _, sentence in chosen]
    citations = tuple(_citation(by_number[number], sentence) for _, number, _, sentence in chosen)
    return Answer(
        text="\n".join(lines),
        mode="extractive",
        label=label,
        citations=_unique(citations),
        passages=tuple(passages),
    )


def check_generated(
    text: str, passages: Sequence[Passage], working_label: Label, *, min_support: float = 0.3
) -> Answer:
    """Check a generated answer's citations and flag sentences without support.

    A sentence is supported when at least `min_support` of its content words
    appear in the passages it cites; a sentence with no citation is unsupported.
    """
    by_number = {p.number: p for p in passages}
    invalid: set[int] = set()
    unsupported: list[str] = []
    citations: list[Citation] = []
    for sentence in sentences(text):
        cited = [int(n) for n in _CITATION.findall(sentence)]
        claim = words(_CITATION.sub("", sentence))
        known = [by_number[n] for n in cited if n in by_number]
        invalid.update(n for n in cited if n not in by_number)
        if not claim:
            continue
        support = set().union(*(words(p.text) for p in known)) if known else set()
        if not known or len(claim & support) / len(claim) < min_support:
            unsupported.append(sentence)
        for passage in known:
            citations.append(_citation(passage, _best_quote(sentence, passage)))
    return Answer(
        text=text,
        mode="generative",
        label=answer_label(passages, working_label),
        citations=_unique(tuple(citations)),
        unsupported_sentences=tuple(unsupported),
        invalid_citations=tuple(sorted(invalid)),
        passages=tuple(passages),
    )


def context_prompt(question: str, passages: Sequence[Passage]) -> str:
    """The user message for a generator: numbered passages, then the question."""
    blocks = [f"[{p.number}] ({p.document_title}) {p.text}" for p in passages]
    return (
        "Réponds à la question en t'appuyant uniquement sur les passages numérotés. "
        "Cite chaque affirmation avec le numéro du passage entre crochets, par exemple [1]. "
        "Si les passages ne suffisent pas, dis-le.\n\n"
        + "\n\n".join(blocks)
        + f"\n\nQuestion : {question}"
    )


def _best_quote(sentence: str, passage: Passage) -> str:
    claim = words(sentence)
    candidates = sentences(passage.text) or [passage.text]
    return max(candidates, key=lambda s: len(claim & words(s)))


def _citation(passage: Passage, quote: str) -> Citation:
    return Citation(
        number=passage.number,
        chunk_id=passage.chunk_id,
        document_title=passage.document_title,
        page=passage.page,
        marking=passage.marking,
        quote=quote,
        document_id=passage.document_id,
    )


def _unique(citations: tuple[Citation, ...]) -> tuple[Citation, ...]:
    seen: set[tuple[int, str]] = set()
    kept = []
    for citation in citations:
        key = (citation.number, citation.quote)
        if key not in seen:
            seen.add(key)
            kept.append(citation)
    return tuple(kept)
