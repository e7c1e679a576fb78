"""Deterministic extractors for military message formats (docs/streams-extractors.md).

Pure functions over text, with no I/O once built: MGRS grid references
(`mgrs`), latitudes and longitudes (`latlon`), call signs and unit
designations (`units`), equipment from a gazetteer (`gazetteer`), and
point-in-polygon tests for watched areas (`areas`). Each extractor returns a
list of `Found`, ordered by position in the text.
"""

from __future__ import annotations

from egide.extractors.found import Found

__all__ = ["Found"]
