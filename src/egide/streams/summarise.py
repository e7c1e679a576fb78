"""Extractive summaries of a window of messages: the sentences that say most, and the entities.

The summariser is pure and deterministic: the same messages give the same
summary, with no model. It is handed only messages the reader may read (the
channel service filters them by label in its SQL); it never sees the others.

How sentences are chosen (French and English alike):

1. Each message is cut into sentences. Military messages are often
   hard-wrapped at a fixed width, so a line that does not end a sentence
   (`.`, `!`, `?`, `…`, `:`, `;`) is joined to the next one, unless the next
   starts an item (`1.`, `-`, `•`, `ALPHA:`); marking lines (`SECRET`) are left
   out; the cut itself is the knowledge base's (`egide.knowledge.answer.sentences`).
2. Every sentence becomes a TF-IDF vector over its content words (accents
   folded, French and English stopwords removed — `egide.knowledge.answer.words`),
   a word's weight being log(1 + N/df) with N the messages of the window and df
   those containing it: a word every message repeats weighs little, one a few
   messages share weighs more.
3. A sentence's score is its cosine with the window's centroid (the mean of all
   sentence vectors) — it says what the window as a whole is about, the
   centroid method of MEAD (Radev et al., 2004), linear in the number of
   sentences where pairwise centrality (LexRank) is quadratic — plus
   `ENTITY_BONUS` for each of the window's key entities it names (up to
   three): a sentence with the call sign, the unit and the grid reference is
   what an operator needs first.
4. The best sentences are taken in score order, leaving out one whose words
   overlap a chosen one's by more than `REDUNDANT` (a report repeated by several
   stations is quoted once), and shown in the order they were received.

Entities are the extractors' findings (call signs, units, equipment, grid
references and coordinates, date-time groups…), each counted in how many
messages of the window name it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from egide.errors import InvalidInput
from egide.knowledge.answer import sentences as cut_sentences
from egide.knowledge.answer import words
from egide.streams.extract import Finding

ENTITY_BONUS = 0.1
REDUNDANT = 0.6
MAX_SENTENCE_CHARS = 400
MAX_ENTITIES = 30
MAX_SENTENCES = 20
MIN_WINDOW = timedelta(minutes=1)
MAX_WINDOW = timedelta(days=7)

_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86_400, "j": 86_400}
_WINDOW = re.compile(r"^\s*(\d{1,6})\s*(s|m|min|h|d|j)\s*$", re.IGNORECASE)
_ENDS_SENTENCE = re.compile(r"[.!?…:;]\s*$")
_ITEM_NUMBER = re.compile(r"^\d{1,3}[.)]$")
_STARTS_ITEM = re.compile(r"^\s*(\d{1,3}[.)]\s|[-•*–]\s|[A-Z]{2,}[A-Z0-9 ]*:)")


def parse_window(text: str) -> timedelta:
    """`15m`, `1h`, `2d` (or `90min`, `1j`) as a duration between one minute and seven days.

    Raises:
        InvalidInput: not such a duration, saying what is accepted.
    """
    match = _WINDOW.match(text)
    if match is None:
        raise InvalidInput(
            f"window {text[:40]!r} is not a duration: give a number and a unit, "
            "s, m, h or d (15m, 1h, 2d)"
        )
    window = timedelta(seconds=int(match[1]) * _UNITS[match[2].lower()])
    if not MIN_WINDOW <= window <= MAX_WINDOW:
        raise InvalidInput("window must be between 1m and 7d")
    return window


@dataclass(frozen=True)
class Item:
    """One message of the window, as the summariser reads it."""

    message_id: str
    text: str
    received: datetime
    language: str | None
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class Quote:
    """A sentence chosen for the summary, and the message it comes from."""

    message_id: str
    received: datetime
    text: str
    score: float


@dataclass(frozen=True)
class Entity:
    """An entity named in the window, and how many of its messages name it."""

    kind: str
    value: str
    messages: int


@dataclass(frozen=True)
class Digest:
    """What a window of messages says: its key sentences and entities, and its extent."""

    messages: int
    first: datetime | None
    last: datetime | None
    languages: dict[str, int]
    entities: tuple[Entity, ...]
    sentences: tuple[Quote, ...]


def message_sentences(text: str, skip_line: Callable[[str], bool] | None = None) -> list[str]:
    """Sentences of one message, hard-wrapped lines joined, marking lines left out."""
    paragraphs: list[str] = []
    current: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or (skip_line is not None and skip_line(line)):
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        if current and _STARTS_ITEM.match(line):
            paragraphs.append(" ".join(current))
            current = []
        current.append(line)
        if _ENDS_SENTENCE.search(line):
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    found: list[str] = []
    for paragraph in paragraphs:
        pieces = cut_sentences(paragraph)
        # "1. SITUATION" is an item, not the sentence "1." and another.
        for index in range(len(pieces) - 1, 0, -1):
            if _ITEM_NUMBER.match(pieces[index - 1]):
                pieces[index - 1 : index + 1] = [f"{pieces[index - 1]} {pieces[index]}"]
        for sentence in pieces:
            if len(sentence) > MAX_SENTENCE_CHARS:
                sentence = sentence[: MAX_SENTENCE_CHARS - 1].rstrip() + "…"
            found.append(sentence)
    return found


def key_entities(items: Sequence[Item]) -> tuple[Entity, ...]:
    """Entities named in the items (not the language), most messages first, then by name."""
    counts: Counter[tuple[str, str]] = Counter()
    for item in items:
        counts.update({(f.kind, f.value) for f in item.findings if f.kind != "language"})
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1]))
    return tuple(Entity(kind, value, n) for (kind, value), n in ranked[:MAX_ENTITIES])


def summarise(
    items: Sequence[Item],
    *,
    sentences: int = 5,
    skip_line: Callable[[str], bool] | None = None,
) -> Digest:
    """The digest of `items` (any order): key sentences, entities, count, times, languages."""
    if not 1 <= sentences <= MAX_SENTENCES:
        raise InvalidInput(f"sentences must be between 1 and {MAX_SENTENCES}")
    ordered = sorted(items, key=lambda i: (i.received, i.message_id))
    entities = key_entities(ordered)
    languages = Counter(i.language for i in ordered if i.language)
    return Digest(
        messages=len(ordered),
        first=ordered[0].received if ordered else None,
        last=ordered[-1].received if ordered else None,
        languages=dict(sorted(languages.items(), key=lambda kv: (-kv[1], kv[0]))),
        entities=entities,
        sentences=_choose(ordered, entities, sentences, skip_line),
    )


def _choose(
    ordered: Sequence[Item],
    entities: Sequence[Entity],
    wanted: int,
    skip_line: Callable[[str], bool] | None,
) -> tuple[Quote, ...]:
    # (item, sentence, its content words), in the order received.
    candidates = [
        (item, sentence, words(sentence))
        for item in ordered
        for sentence in message_sentences(item.text, skip_line)
    ]
    candidates = [c for c in candidates if c[2]]
    if not candidates:
        return ()
    frequency: Counter[str] = Counter()
    for item in ordered:
        frequency.update(words(item.text))
    total = len(ordered)
    idf = {w: math.log(1 + total / df) for w, df in frequency.items()}
    centroid: dict[str, float] = {}
    for _, _, bag in candidates:
        for w in bag:
            centroid[w] = centroid.get(w, 0.0) + idf.get(w, 0.0) / len(candidates)
    centroid_norm = math.sqrt(sum(v * v for v in centroid.values())) or 1.0
    names = [e.value for e in entities]
    scored: list[tuple[float, int, Item, str, set[str]]] = []
    for position, (item, sentence, bag) in enumerate(candidates):
        norm = math.sqrt(sum(idf.get(w, 0.0) ** 2 for w in bag)) or 1.0
        cosine = sum(idf.get(w, 0.0) * centroid.get(w, 0.0) for w in bag) / (norm * centroid_norm)
        named = sum(1 for value in names if value in sentence)
        scored.append((cosine + ENTITY_BONUS * min(named, 3), position, item, sentence, bag))
    scored.sort(key=lambda s: (-s[0], s[1]))
    chosen: list[tuple[float, int, Item, str, set[str]]] = []
    for candidate in scored:
        bag = candidate[4]
        if any(_overlap(bag, c[4]) > REDUNDANT for c in chosen):
            continue
        chosen.append(candidate)
        if len(chosen) == wanted:
            break
    chosen.sort(key=lambda c: c[1])
    return tuple(
        Quote(item.message_id, item.received, sentence, round(score, 4))
        for score, _, item, sentence, _ in chosen
    )


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / (len(a | b) or 1)
