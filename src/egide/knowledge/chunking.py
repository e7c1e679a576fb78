"""Cut a document into retrieval chunks that keep provenance and never mix portion labels."""

from __future__ import annotations

import re
from dataclasses import dataclass

from egide.core.digest import sha256_text
from egide.core.labels import Label, join
from egide.errors import InvalidLabel
from egide.knowledge.extract.model import ExtractedDocument, Segment
from egide.knowledge.markings import DetectedMarkings

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


@dataclass(frozen=True)
class Chunk:
    """A retrieval unit: `document.text[start:end] == text`.

    `label` is the label the document's markings give the text (see
    `egide.knowledge.markings`), None only when the document carries no
    marking at all (the label given at upload then applies).
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
    return sha256_text(" ".join(text.split()))


def chunk_document(
    document: ExtractedDocument,
    markings: DetectedMarkings,
    *,
    max_words: int = 220,
) -> list[Chunk]:
    """Group consecutive pieces up to `max_words`, splitting on label, page and section changes.

    A chunk never spans a banner line nor two labels. Its section path keeps
    only the headings whose label the chunk's label dominates: a heading of a
    TRÈS SECRET part is not shown beside a DIFFUSION RESTREINTE passage.
    """
    heading_labels = _heading_labels(document, markings)
    chunks: list[Chunk] = []
    group: list[tuple[Segment, int]] = []
    group_label: Label | None = None
    words = 0

    def close() -> None:
        if not group:
            return
        start, end = group[0][0].start, group[-1][0].end
        text = document.text[start:end]
        first, index = group[0]
        chunks.append(
            Chunk(
                len(chunks),
                text,
                start,
                end,
                first.page,
                _visible_section(document.segments[index], group_label, heading_labels),
                group_label,
                content_hash(text),
            )
        )

    for piece in markings.pieces:
        if piece.banner:
            close()  # a banner line between two pieces must not end up inside a chunk
            group, words = [], 0
            continue
        segment = document.segments[piece.segment]
        text = document.text[piece.start : piece.end]
        part = Segment(text, piece.start, piece.end, segment.page, segment.section)
        for sub in _split_long(part, max_words):
            if not sub.text.strip():
                continue
            size = len(sub.text.split())
            same = (
                group
                and piece.label == group_label
                and sub.page == group[-1][0].page
                and segment.section == document.segments[group[-1][1]].section
            )
            if not same or words + size > max_words:
                close()
                group, group_label, words = [], piece.label, 0
            group.append((sub, piece.segment))
            words += size
    close()
    return chunks


def _heading_labels(
    document: ExtractedDocument, markings: DetectedMarkings
) -> dict[int, Label | None]:
    wanted = {i for segment in document.segments for i in segment.headings}
    labels: dict[int, list[Label]] = {i: [] for i in wanted}
    for piece in markings.pieces:
        if piece.segment in labels and piece.label is not None:
            labels[piece.segment].append(piece.label)
    # A heading that is only a banner line takes the document's label.
    return {i: join(*found) if found else markings.document_label for i, found in labels.items()}


def _visible_section(
    segment: Segment, label: Label | None, heading_labels: dict[int, Label | None]
) -> tuple[str, ...]:
    kept = []
    for title, index in zip(segment.section, segment.headings, strict=False):
        heading = heading_labels.get(index)
        if heading is None or (label is not None and _dominates(label, heading)):
            kept.append(title)
    return tuple(kept)


def _dominates(label: Label, other: Label) -> bool:
    try:
        return label.dominates(other)
    except InvalidLabel:
        return False  # not comparable: hide the heading (fail secure)


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
