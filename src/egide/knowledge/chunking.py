"""Cut a document into retrieval chunks that keep provenance and never mix portion labels."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from egide.core.labels import Label
from egide.knowledge.extract.model import ExtractedDocument, Segment
from egide.knowledge.markings import DetectedMarkings

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


@dataclass(frozen=True)
class Chunk:
    """A retrieval unit: `document.text[start:end] == text`.

    `label` is the portion label when the text comes from a portion-marked
    paragraph, else None (the document's label applies).
    """

    ordinal: int
    text: str
    start: int
    end: int
    page: int | None
    section: tuple[str, ...]
    label: Label | None
    content_hash: str


def content_hash(text: str) -> str:
    """SHA-256 of the text with whitespace normalised: equal texts, equal hashes."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def chunk_document(
    document: ExtractedDocument,
    markings: DetectedMarkings,
    *,
    max_words: int = 220,
) -> list[Chunk]:
    """Group consecutive segments up to `max_words`, splitting on label and page changes."""
    pieces: list[tuple[Segment, Label | None]] = []
    for index, segment in enumerate(document.segments):
        if index in markings.banner_segments:
            continue
        label = markings.portions.get(index)
        pieces.extend((part, label) for part in _split_long(segment, max_words))
    chunks: list[Chunk] = []
    group: list[Segment] = []
    group_label: Label | None = None
    words = 0

    def close() -> None:
        if not group:
            return
        start, end = group[0].start, group[-1].end
        text = document.text[start:end]
        chunks.append(
            Chunk(
                len(chunks),
                text,
                start,
                end,
                group[0].page,
                group[0].section,
                group_label,
                content_hash(text),
            )
        )

    for segment, label in pieces:
        size = len(segment.text.split())
        same = group and label == group_label and segment.page == group[-1].page
        if not same or words + size > max_words:
            close()
            group, group_label, words = [], label, 0
        group.append(segment)
        words += size
    close()
    return chunks


def _split_long(segment: Segment, max_words: int) -> list[Segment]:
    if len(segment.text.split()) <= max_words:
        return [segment]
    parts: list[Segment] = []
    cursor = 0
    current_start = 0
    count = 0
    for match in _SENTENCE_END.finditer(segment.text):
        sentence_words = len(segment.text[cursor : match.start()].split())
        if count and count + sentence_words > max_words:
            parts.append(_sub(segment, current_start, cursor))
            current_start, count = cursor, 0
        count += sentence_words
        cursor = match.end()
    tail = len(segment.text[cursor:].split())
    if count and count + tail > max_words:
        parts.append(_sub(segment, current_start, cursor))
        current_start = cursor
    parts.append(_sub(segment, current_start, len(segment.text)))
    return [p for p in parts if p.text]


def _sub(segment: Segment, start: int, end: int) -> Segment:
    text = segment.text[start:end].rstrip()
    begin = segment.start + start
    return Segment(text, begin, begin + len(text), segment.page, segment.section)
