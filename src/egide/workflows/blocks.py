"""The ``blocks`` of a proposal's content: headings, paragraphs and bullets, each marked.

A proposal's content may say how it is laid out with a ``blocks`` list
(``{"kind": "heading"|"paragraph"|"bullet", "text": ..., "marking": ...}``).
A block's marking is a claim about its words, so it is checked where the
content is written, never only where it is rendered:

- ``blocks`` must be a list of objects with a known kind and a text, and every
  ``marking`` given must be a marking the installation's policies read (else
  `InvalidInput`, naming the block);
- the author (or amender) must be cleared for every block's marking (the
  service checks, else `Forbidden`);
- the proposal's label is never below any block's marking (the service joins
  them into it), so the banner and every read check cover every portion.

A block without a marking is covered by the proposal's own label.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from egide.core.labels import Label, PolicyRegistry
from egide.errors import InvalidInput, InvalidLabel

BlockKind = Literal["heading", "paragraph", "bullet"]
KINDS: tuple[BlockKind, ...] = ("heading", "paragraph", "bullet")


@dataclass(frozen=True)
class Block:
    """One heading, paragraph or bullet, and the label of its words (None: the document's)."""

    kind: BlockKind
    text: str
    label: Label | None = None


def parse_blocks(content: Mapping[str, Any], policies: PolicyRegistry) -> list[Block] | None:
    """The blocks of a proposal's content, or None when it has no ``blocks`` key.

    Raises:
        InvalidInput: ``blocks`` is not a list, an entry is not a heading, paragraph or
            bullet object with a text, or a marking cannot be read (naming the block).
    """
    if "blocks" not in content:
        return None
    raw = content["blocks"]
    if not isinstance(raw, list):
        raise InvalidInput(
            "a proposal's 'blocks' must be a list of objects such as "
            '{"kind": "paragraph", "text": "...", "marking": "DR"}, '
            f"not a {type(raw).__name__}"
        )
    return [_block(number, item, policies) for number, item in enumerate(raw, start=1)]


def _block(number: int, item: Any, policies: PolicyRegistry) -> Block:
    if not isinstance(item, Mapping):
        raise InvalidInput(
            f"block {number} of the proposal's content is a {type(item).__name__}; each block "
            'is an object such as {"kind": "paragraph", "text": "...", "marking": "DR"}'
        )
    kind = item.get("kind", "paragraph")
    if kind not in KINDS:
        raise InvalidInput(f"block {number} has kind {kind!r}; the kinds are {', '.join(KINDS)}")
    text = item.get("text", "")
    if not isinstance(text, str):
        raise InvalidInput(f"block {number} has a text that is not a string; write it as one")
    marking = item.get("marking")
    if marking is None:
        return Block(kind, text.strip())
    if not isinstance(marking, str) or not marking.strip():
        raise InvalidInput(
            f"block {number} has marking {marking!r}; write a marking such as DR or SECRET, "
            "or leave it out to mark the block with the proposal's label"
        )
    try:
        label = policies.parse(marking)
    except InvalidLabel as error:
        raise InvalidInput(f"block {number} has marking {marking!r}: {error.message}") from None
    return Block(kind, text.strip(), label)


def block_problem(content: object, label: Label, policies: PolicyRegistry) -> str | None:
    """Why a stored content's blocks cannot be shown under `label`, or None when they can.

    A record written before markings were checked may hold a block that cannot be
    read, or one marked above the proposal's label (shown to readers it was never
    cleared for): such a record is reported as damaged, never rendered.
    """
    if not isinstance(content, Mapping):
        return None
    try:
        blocks = parse_blocks(content, policies) or []
    except InvalidInput as error:
        return error.message
    for number, block in enumerate(blocks, start=1):
        if block.label is not None and not label.dominates(block.label):
            return f"block {number} is marked above the proposal's label"
    return None


__all__ = ["KINDS", "Block", "BlockKind", "block_problem", "parse_blocks"]
