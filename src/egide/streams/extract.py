"""Deterministic extractors for military message formats, as a registry of plain functions.

An extractor is `(text) -> list[Finding]`; `EXTRACTORS` maps a name to one, and
the worker runs every registered extractor on every message. More extractors
(grid references, coordinates, units, a gazetteer) plug in with `register`,
written exactly like the ones here — nothing else needs to change.

Language detection counts French and English stopwords: messages are short and
the two languages share an alphabet, so a stopword vote is as good as a model
here and costs microseconds (a measured reason to hand-write it).
"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from egide.extractors.found import Found
from egide.extractors.gazetteer import find_equipment
from egide.extractors.latlon import find_latlon
from egide.extractors.mgrs import find_mgrs
from egide.extractors.units import find_units


@dataclass(frozen=True)
class Finding:
    """Something an extractor found: its kind, its normalised value and where in the text."""

    kind: str
    value: str
    span: tuple[int, int]

    def as_json(self) -> dict[str, object]:
        """The finding as stored in a message's results."""
        return {"kind": self.kind, "value": self.value, "span": list(self.span)}


def stored_findings(stored: Sequence[object] | None) -> tuple[Finding, ...]:
    """Findings as a result row stores them (`Finding.as_json`), read back."""
    found: list[Finding] = []
    for item in stored or ():
        if isinstance(item, dict):
            start, end = item.get("span") or (0, 0)
            found.append(Finding(str(item["kind"]), str(item["value"]), (int(start), int(end))))
    return tuple(found)


Extractor = Callable[[str], list[Finding]]

EXTRACTORS: dict[str, Extractor] = {}
"""Every extractor the worker runs, by name (`register` adds one)."""


def register(name: str, extractor: Extractor) -> Extractor:
    """Add an extractor to the registry under `name` (a later one with the same name wins)."""
    EXTRACTORS[name] = extractor
    return extractor


def extract_all(text: str, extractors: Mapping[str, Extractor] | None = None) -> list[Finding]:
    """Every finding of every extractor, in registry order then text order."""
    found: list[Finding] = []
    for extractor in (extractors if extractors is not None else EXTRACTORS).values():
        found.extend(extractor(text))
    return found


# language ----------------------------------------------------------------------------

_WORD = re.compile(r"[^\W\d_]+")
_STOPWORDS = {
    "fr": frozenset(
        "le la les un une des du de au aux et ou est sont à dans sur pour par avec sans "
        "ce cette ces qui que quoi dont où il elle ils elles nous vous je tu on se sa son "
        "ses leur leurs pas ne plus été être avoir ont en vers chez entre sous après avant "
        "l d qu".split()
    ),
    "en": frozenset(
        "the a an and or is are was were to in on at for by with without this that these "
        "those which who what where he she it they we you i not no be been have has had of "
        "from into over under after before between will would can could should".split()
    ),
}
_MIN_VOTES = 2  # fewer stopwords than this: too little text to say


def language(text: str) -> list[Finding]:
    """The message's language, `fr` or `en`, by stopword vote (nothing when undecided)."""
    counts = Counter(word.lower() for word in _WORD.findall(text))
    votes = {
        lang: sum(n for word, n in counts.items() if word in words)
        for lang, words in _STOPWORDS.items()
    }
    best = max(votes, key=lambda lang: votes[lang])
    ranked = sorted(votes.values(), reverse=True)
    if ranked[0] < _MIN_VOTES or ranked[0] == ranked[1]:
        return []
    return [Finding("language", best, (0, len(text)))]


# date-time groups --------------------------------------------------------------------

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
# DDHHMM, a time-zone letter (A-Z but J, "local", is not written in a DTG), month, year:
# "141200ZMAY26" or, as often typed, "141200Z MAY 26".
_DTG = re.compile(
    r"(?<![A-Z0-9])(?P<day>\d{2})(?P<hour>\d{2})(?P<minute>\d{2})(?P<zone>[A-IK-Z])"
    r"\s?(?P<month>" + "|".join(_MONTHS) + r")\s?(?P<year>\d{2})(?![A-Z0-9])"
)


def date_time_groups(text: str) -> list[Finding]:
    """Valid date-time groups, normalised without spaces (`141200ZMAY26`).

    A group whose day does not exist in its month (`310000ZAPR26`), whose hour is past 23
    or whose minute is past 59 is not a DTG and is not reported.
    """
    found: list[Finding] = []
    for m in _DTG.finditer(text):
        day, hour, minute = int(m["day"]), int(m["hour"]), int(m["minute"])
        month = _MONTHS.index(m["month"]) + 1
        year = 2000 + int(m["year"])
        if not (1 <= day <= calendar.monthrange(year, month)[1] and hour < 24 and minute < 60):
            continue
        value = f"{m['day']}{m['hour']}{m['minute']}{m['zone']}{m['month']}{m['year']}"
        found.append(Finding("dtg", value, m.span()))
    return found


# call signs --------------------------------------------------------------------------

DEFAULT_CALLSIGN = r"(?<![\w-])[A-Z]{2,10}-\d{1,3}[A-Z]?(?![\w-])"
"""A word in capitals, a hyphen and a number (`CLOU-7`, `VIPER-21`, `ALPHA-3B`)."""


def callsign_extractor(pattern: str = DEFAULT_CALLSIGN) -> Extractor:
    """An extractor of call signs matching `pattern` (a regular expression; theatres differ)."""
    compiled = re.compile(pattern)

    def call_signs(text: str) -> list[Finding]:
        return [Finding("callsign", m.group(), m.span()) for m in compiled.finditer(text)]

    return call_signs


def with_callsigns(
    pattern: str | None, base: Iterable[tuple[str, Extractor]] = ()
) -> dict[str, Extractor]:
    """The registry with its call-sign extractor built from `pattern` (None: the default)."""
    chosen = dict(base) or dict(EXTRACTORS)
    if pattern is not None:
        chosen["callsign"] = callsign_extractor(pattern)
    return chosen


register("language", language)
register("dtg", date_time_groups)
register("callsign", callsign_extractor())


# positions, units and equipment (egide.extractors) -----------------------------------


def _adapted(find: Callable[[str], list[Found]]) -> Extractor:
    """An `egide.extractors` finder as a registry extractor (its details stay there)."""

    def extractor(text: str) -> list[Finding]:
        return [Finding(found.kind, found.value, found.span) for found in find(text)]

    extractor.__name__ = find.__name__
    return extractor


register("mgrs", _adapted(find_mgrs))
register("latlon", _adapted(find_latlon))
register("unit", _adapted(find_units))
register("equipment", _adapted(find_equipment))
