"""A marked document: what an approved proposal becomes before it is rendered.

Every renderer (Markdown, PDF, DOCX) takes a `MarkedDocument`, so the rules of
marking live in one place: the banner is the document's label, shown first and
last (on every page where there are pages); each paragraph carries its own
portion mark; headings carry none.

A proposal's content may say how it is to be laid out with a ``blocks`` list
(``{"kind": "heading"|"paragraph"|"bullet", "text": ..., "marking": ...}``);
otherwise its ``text`` is split into paragraphs, each marked with the
proposal's label.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from egide.core.labels import Label, PolicyRegistry
from egide.errors import InvalidInput
from egide.workflows.proposals import Proposal

BlockKind = Literal["heading", "paragraph", "bullet"]
_KINDS = ("heading", "paragraph", "bullet")
_DECISIONS = ("approve", "amend", "reject", "dissent")


@dataclass(frozen=True)
class Block:
    """One heading, paragraph or bullet; paragraphs and bullets carry a portion label."""

    kind: BlockKind
    text: str
    label: Label | None = None


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
    raw = content.get("blocks")
    if isinstance(raw, list):
        return [_block(item, label, policies) for item in raw]
    text = content.get("text")
    if isinstance(text, str):
        return [Block("paragraph", p.strip(), label) for p in text.split("\n\n") if p.strip()]
    return [Block("paragraph", f"{key}: {value}", label) for key, value in content.items()]


def _block(item: Any, default: Label, policies: PolicyRegistry) -> Block:
    if not isinstance(item, Mapping) or item.get("kind", "paragraph") not in _KINDS:
        raise InvalidInput(
            "each entry of a proposal's 'blocks' must be an object with kind "
            "heading, paragraph or bullet, and a text"
        )
    kind = item.get("kind", "paragraph")
    text = str(item.get("text", "")).strip()
    if kind == "heading":
        return Block("heading", text)
    marking = item.get("marking")
    portion = policies.parse(marking) if isinstance(marking, str) and marking else default
    if not default.dominates(portion):
        # A portion above its document would be under-marked by the banner: refuse it.
        raise InvalidInput(
            f"a paragraph is marked {marking!r}, above the document's own label; "
            "raise the document's label or correct the paragraph's marking"
        )
    return Block(kind, text, portion)


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
