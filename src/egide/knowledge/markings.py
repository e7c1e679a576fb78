"""Find classification banners and portion marks in extracted text.

A **banner** is a whole line that is a marking (`SECRET SPÉCIAL FRANCE`,
`NATO SECRET REL TO FRA, DEU`, optionally after `CLASSIFICATION:`), written in
capitals as banners are; a sentence that merely mentions "secret" is not one.
A **portion mark** opens a paragraph: `(DR) Le convoi…`, `(NS//REL TO FRA) …`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from egide.core.labels import Label, PolicyRegistry, join
from egide.errors import InvalidLabel
from egide.knowledge.extract.model import ExtractedDocument

_PREFIX = re.compile(r"^(?:classification|classifi[ée]|marquage|niveau)\s*:\s*", re.IGNORECASE)
_PORTION = re.compile(r"^\(([A-Z]{1,4}(?://[^)]{1,60})?)\)\s*")


@dataclass(frozen=True)
class Banner:
    """A banner line found in the document text."""

    label: Label
    start: int
    end: int


@dataclass(frozen=True)
class DetectedMarkings:
    """Everything found in one document.

    Attributes:
        banners: Banner lines, in order.
        portions: Label of each portion-marked segment, by segment index.
        banner_segments: Indices of segments made only of banner lines.
        document_label: Join of all found, or None when nothing was (fail secure:
            the caller must then be given a label).
    """

    banners: tuple[Banner, ...]
    portions: dict[int, Label]
    banner_segments: frozenset[int]
    document_label: Label | None


def _banner(line: str, registry: PolicyRegistry) -> Label | None:
    candidate = _PREFIX.sub("", line.strip()).strip(" -–—*_=")
    letters = [c for c in candidate if c.isalpha()]
    if not letters or len(candidate) > 80 or any(c.islower() for c in letters):
        return None
    try:
        return registry.parse(candidate)
    except InvalidLabel:
        return None


def portion_label(text: str, registry: PolicyRegistry) -> tuple[Label, int] | None:
    """The portion mark opening `text` and its length, if any."""
    match = _PORTION.match(text)
    if not match:
        return None
    try:
        return registry.parse_portion(f"({match.group(1)})"), match.end()
    except InvalidLabel:
        return None


def detect_markings(document: ExtractedDocument, registry: PolicyRegistry) -> DetectedMarkings:
    """Banners and portion marks of one document (attachments are examined on their own)."""
    banners: list[Banner] = []
    portions: dict[int, Label] = {}
    banner_only: set[int] = set()
    for index, segment in enumerate(document.segments):
        offset = segment.start
        lines_are_banners = True
        for line in segment.text.split("\n"):
            label = _banner(line, registry)
            if label is not None:
                banners.append(Banner(label, offset, offset + len(line)))
            else:
                lines_are_banners = False
            offset += len(line) + 1
        if lines_are_banners:
            banner_only.add(index)
            continue
        found = portion_label(segment.text, registry)
        if found is not None:
            portions[index] = found[0]
    labels = [b.label for b in banners] + list(portions.values())
    return DetectedMarkings(
        banners=tuple(banners),
        portions=portions,
        banner_segments=frozenset(banner_only),
        document_label=join(*labels) if labels else None,
    )
