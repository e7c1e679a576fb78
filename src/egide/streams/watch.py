"""Watchlist matching, pure: which of a watchlist's terms a message contains.

A term matches a whole word or phrase, whatever its case (`clou-7` matches
`CLOU-7`, `Marsk` does not match `Marskovo`). Kinds are a registry like the
extractors, so a geographic kind (a polygon matched against extracted
coordinates) is one more function.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

from egide.streams.extract import Finding

MAX_TERMS = 500
MAX_TERM_CHARS = 200

Matcher = Callable[[Sequence[str], str, Sequence[Finding]], list[str]]


@lru_cache(maxsize=4096)
def _pattern(term: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(term.casefold()) + r"(?!\w)")


def match_terms(terms: Sequence[str], text: str, findings: Sequence[Finding]) -> list[str]:
    """The terms found in `text` or among the findings' values, in the watchlist's order."""
    folded = text.casefold()
    values = {f.value.casefold() for f in findings}
    return [t for t in terms if t.casefold() in values or _pattern(t).search(folded)]


MATCHERS: dict[str, Matcher] = {"terms": match_terms}
"""Watchlist kinds and how each matches a message."""
