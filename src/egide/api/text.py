"""Text fields of requests: valid Unicode only.

JSON lets a client send `"\\ud800"`, an unpaired UTF-16 surrogate that Python
keeps in a `str` but that no UTF-8 encoder (tokenizer, database, journal)
accepts. Refused at the edge with a 400 that says so, instead of failing later
in the middle of an answer.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def valid_unicode(value: str) -> str:
    """`value` unchanged, or a `ValueError` naming the first unpaired surrogate."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(
            f"the text holds an unpaired UTF-16 surrogate at character {error.start}; "
            "send valid Unicode (a JSON \\ud800-\\udbff escape must be followed by its "
            "low surrogate)"
        ) from None
    return value


UnicodeText = Annotated[str, AfterValidator(valid_unicode)]
"""A `str` field that refuses unpaired surrogates."""
