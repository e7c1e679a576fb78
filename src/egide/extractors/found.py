"""What every extractor returns: one `Found` per recognised thing, with its place in the text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Found:
    """One thing an extractor recognised in a text.

    Attributes:
        kind: what it is (``mgrs``, ``latlon``, ``callsign``, ``unit``, ``equipment``).
        value: its canonical spelling (``31UDQ4825111932``, ``48.856600 2.352200``, ``VAB``).
        span: ``(start, end)`` character offsets in the text, ``text[start:end]`` is what matched.
        data: kind-specific details (latitude and longitude, precision, category...).
    """

    kind: str
    value: str
    span: tuple[int, int]
    data: dict[str, Any] = field(default_factory=dict, hash=False)
