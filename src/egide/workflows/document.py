"""A marked document: what an approved proposal becomes before it is rendered.

Every renderer (Markdown, PDF, DOCX) takes a `MarkedDocument`, so the rules of
marking live in one place: the banner is the document's label, shown first and
last (on every page where there are pages); each paragraph carries its own
portion mark, headings included (a heading is words too).

A proposal's content may say how it is to be laid out with a ``blocks`` list
(`egide.workflows.blocks`), each block marked with its own marking or, without
one, the proposal's label; otherwise its ``text`` is split into paragraphs,
each marked with the proposal's label.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from egide.core.labels import Label, PolicyRegistry
from egide.errors import InvalidInput
from egide.workflows.blocks import Block, parse_blocks
from egide.workflows.proposals import Proposal

_DECISIONS = ("approve", "amend", "reject", "dissent")


@dataclass(frozen=True)
class MarkedDocument:
    """A document ready to render: banner label, title, blocks, decision record."""

    title: str
    label: Label
    blocks: tuple[Block, ...]
    record: tuple[str, ...] = ()


def document_of(proposal: Proposal, policies: PolicyRegistry) -> MarkedDocument:
    """The marked document of a proposal, with its decision record as the closing lines."""
    return MarkedDocument(
        title=proposal.title,
        label=proposal.label,
        blocks=tuple(_blocks(proposal.content, proposal.label, policies)),
        record=tuple(_record(proposal)),
    )


def _blocks(content: Mapping[str, Any], label: Label, policies: PolicyRegistry) -> list[Block]:
    parsed = parse_blocks(content, policies)
    if parsed is not None:
        return [_within(number, block, label) for number, block in enumerate(parsed, start=1)]
    text = content.get("text")
    if isinstance(text, str):
        return [Block("paragraph", p.strip(), label) for p in text.split("\n\n") if p.strip()]
    return [Block("paragraph", f"{key}: {value}", label) for key, value in content.items()]


def _within(number: int, block: Block, default: Label) -> Block:
    portion = block.label or default
    if not default.dominates(portion):
        # A portion above its document would be under-marked by the banner: refuse it.
        raise InvalidInput(
            f"block {number} is marked above the document's own label; "
            "raise the document's label or correct the block's marking"
        )
    return Block(block.kind, block.text, portion)


def _record(proposal: Proposal) -> list[str]:
    lines = []
    for event in proposal.history:
        if event.action in _DECISIONS:
            note = f" — {event.rationale}" if event.rationale else ""
            lines.append(f"{event.action} by {event.actor} at {event.at:%Y-%m-%d %H:%M} UTC{note}")
    if proposal.model and proposal.model_digest:
        lines.append(f"AI involvement: {proposal.model} (weights {proposal.model_digest})")
    elif proposal.model:
        lines.append(f"AI involvement: none, written by {proposal.model} (no language model)")
    lines.append(f"Content SHA-256: {proposal.content_hash}")
    return lines


__all__ = ["Block", "MarkedDocument", "document_of"]
