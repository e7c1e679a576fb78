"""A proposal's content as plain JSON, within limits of depth and size.

Content and evidence are JSON written by models and people. A value nested
hundreds of levels deep, or megabytes long, is no report anyone will read,
and it breaks whoever renders it (recursive serialisers, PDF layout). So
content is refused above `MAX_DEPTH` levels and a configured size, when it is
written; and a stored value that breaks those limits anyway (written by an
older version, or straight into the database) is reported as damaged when
read, never rendered.

Depth is measured without recursion, so even a value nested past Python's
recursion limit is measured, not crashed on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from egide.core.digest import sha256_json
from egide.errors import InvalidInput, PayloadTooLarge

MAX_DEPTH = 32
"""Deepest nesting of objects and lists accepted in a proposal's content or evidence."""
DEFAULT_MAX_BYTES = 262_144
"""Default largest content, in bytes of canonical JSON (`EGIDE_PROPOSAL_MAX_CONTENT_BYTES`)."""


def depth_exceeds(value: object, limit: int = MAX_DEPTH) -> bool:
    """Whether `value` nests objects or lists deeper than `limit` (iterative, stops early)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Sequence[object] | None = list(item.values())
        elif isinstance(item, list | tuple):
            children = item
        else:
            children = None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def content_digest(content: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a proposal's content: what an approval binds to."""
    return sha256_json(content)


def plain(value: object, what: str, *, max_bytes: int) -> Any:
    """`value` as plain JSON data, checked for depth and size.

    Raises:
        InvalidInput: not plain JSON, or nested deeper than `MAX_DEPTH`.
        PayloadTooLarge: its JSON is longer than `max_bytes`.
    """
    if depth_exceeds(value):
        raise InvalidInput(
            f"the {what} nests objects or lists more than {MAX_DEPTH} levels deep; "
            "flatten it (a report or plan needs only a few levels)"
        )
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"the {what} must be plain JSON: {error}") from None
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise PayloadTooLarge(
            f"the {what} is {size} bytes of JSON, more than the {max_bytes} accepted; "
            "shorten it, or put large material in the knowledge base and cite it as evidence"
        )
    return json.loads(text)


def stored_problem(value: object, *, expect: type, max_bytes: int) -> str | None:
    """Why a stored content or evidence value cannot be shown, or None when it can."""
    if not isinstance(value, expect):
        return f"it is a {type(value).__name__}, not a JSON {expect.__name__}"
    if depth_exceeds(value):
        return f"it nests more than {MAX_DEPTH} levels deep"
    try:
        size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError, RecursionError):
        return "it is not plain JSON"
    if size > max_bytes:
        return f"it is {size} bytes, more than the {max_bytes} accepted"
    return None


__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_DEPTH",
    "content_digest",
    "depth_exceeds",
    "plain",
    "stored_problem",
]
