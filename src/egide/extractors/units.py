"""Call signs and unit designations, in French and English.

Call signs come from a list of regular expressions, configurable per
deployment; the default reads NATO-style call signs, a phonetic-alphabet word
in capitals or title case followed by a number group (``ALPHA 2-1``,
``Tango 6``, ``Bravo 1-2A``), so that lower-case prose ("the alpha 2
release") is not taken for one.

Unit designations (docs/streams-extractors.md lists them): French
abbreviations after an ordinal (``2e RIMa``, ``1er RCP``) or a company/regiment
pair (``3/2 RI``); French spelled-out units (``3e régiment d'infanterie``,
``1re compagnie``); English ordinals before an echelon (``1st Battalion``,
``3rd Infantry Division``, with the suffix checked: ``2th`` is refused); and
British regiment abbreviations after a battalion number (``2 RIFLES``,
``3 PARA``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from egide.errors import InvalidInput
from egide.extractors.found import Found

PHONETIC = (
    "Alpha Alfa Bravo Charlie Delta Echo Foxtrot Golf Hotel India Juliet Juliett Kilo Lima "
    "Mike November Oscar Papa Quebec Romeo Sierra Tango Uniform Victor Whiskey Whisky X-ray "
    "Xray Yankee Zulu"
).split()
_WORDS = "|".join(w for p in PHONETIC for w in (p, p.upper()))
DEFAULT_CALLSIGN_PATTERNS: tuple[str, ...] = (
    rf"(?<![\w-])(?:{_WORDS})[ -]\d{{1,2}}[A-Z]?(?:[-/]\d{{1,2}}[A-Z]?){{0,2}}(?![\w/-]|[.,]\d)",
)

FRENCH_ABBREVIATIONS = (
    "RI RIMa RPIMa RCP REP REI REG REC RA RAMa RAP RG RD RC RCA RCh RH RHP RHC RMT RMAT "
    "RT RICM RIMaP RMed BCA BCP BIMa BLB DB DBFA GCP GTIA SGTIA EMT"
).split()
BRITISH_ABBREVIATIONS = (
    "RIFLES PARA SCOTS YORKS RGR RRF LANCS MERCIAN IRISH GUARDS WG IG SG CG GG RWELSH RANGLIAN "
    "RA RE RTR RM RLC REME"
).split()
_ECHELONS_FR = (
    "régiment|regiment|bataillon|brigade|division|compagnie|escadron|batterie|section|"
    "groupement|escadrille|flottille|escadre|peloton"
)
_QUALIFIERS_FR = (
    "infanterie|artillerie|génie|genie|marine|parachutistes|parachutiste|chasseurs|hussards|"
    "dragons|cuirassiers|spahis|cavalerie|blindée|blindee|légère|legere|étranger|etranger|"
    "étrangère|etrangere|transmissions|matériel|materiel|commandement|soutien|hélicoptères|"
    "helicopteres|combat|montagne|alpins|chars|logistique|alpine|aéroportée|aeroportee"
)
_CONNECTORS_FR = r"(?:d'|d’|de la |de l'|de |du |des |et )?"
_ORD_FR = r"(?:1(?:er|re|ère|ʳᵉ)|\d{1,3}(?:e|è|ème|eme|ᵉ))"
_ECHELONS_EN = (
    "Battalion|Regiment|Brigade|Division|Company|Squadron|Battery|Platoon|Corps|Group|"
    "Battlegroup|Battle Group|Wing|Fleet|Army"
)
_QUALIFIERS_EN = (
    "Infantry|Armoured|Armored|Airborne|Air Assault|Mechanised|Mechanized|Marine|Cavalry|"
    "Artillery|Field|Signal|Signals|Engineer|Commando|Parachute|Logistics|Light|Mountain|"
    "Special Forces|Support|Rifles|Guards|Tank|Aviation|Ranger|Royal"
)

_UNIT_PATTERNS = (
    re.compile(
        rf"(?<![\w/])(?:\d{{1,2}}/\d{{1,3}}|{_ORD_FR}) ?(?:{'|'.join(FRENCH_ABBREVIATIONS)})"
        r"(?![\w])"
    ),
    re.compile(
        rf"(?<![\w/]){_ORD_FR} (?:{_ECHELONS_FR})(?: {_CONNECTORS_FR}(?:{_QUALIFIERS_FR}))*"
        r"(?!\w)",
        re.IGNORECASE,
    ),
    re.compile(
        rf"(?<![\w/])(?P<n>\d{{1,3}})(?P<suffix>st|nd|rd|th) "
        rf"(?:(?:{_QUALIFIERS_EN}) ){{0,3}}(?:{_ECHELONS_EN})(?!\w)",
        re.IGNORECASE,
    ),
    re.compile(rf"(?<![\w/.,-])\d{{1,2}} (?:{'|'.join(BRITISH_ABBREVIATIONS)})(?!\w)"),
)


class CallSignExtractor:
    """Finds call signs with a list of regular expressions (the defaults if none given)."""

    def __init__(self, patterns: Sequence[str] | None = None) -> None:
        sources = DEFAULT_CALLSIGN_PATTERNS if patterns is None else tuple(patterns)
        self.patterns = []
        for source in sources:
            try:
                self.patterns.append(re.compile(source))
            except re.error as exc:
                raise InvalidInput(
                    f"call-sign pattern {source!r} is not a valid regular expression: {exc}"
                ) from exc

    def __call__(self, text: str) -> list[Found]:
        """Every call sign in `text` (kind ``callsign``, value upper case, single spaces)."""
        found = [
            Found("callsign", " ".join(m.group(0).upper().split()), m.span())
            for pattern in self.patterns
            for m in pattern.finditer(text)
        ]
        return _without_overlaps(found)


find_callsigns = CallSignExtractor()


def find_units(text: str) -> list[Found]:
    """Every unit designation in `text` (kind ``unit``), in order."""
    found = []
    for pattern in _UNIT_PATTERNS:
        for m in pattern.finditer(text):
            if "suffix" in pattern.groupindex and not _english_suffix_ok(m["n"], m["suffix"]):
                continue
            value = " ".join(m.group(0).split())
            found.append(Found("unit", value, m.span()))
    return _without_overlaps(found)


def _english_suffix_ok(number: str, suffix: str) -> bool:
    n = int(number)
    expected = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return suffix.lower() == expected


def _without_overlaps(found: Iterable[Found]) -> list[Found]:
    kept: list[Found] = []
    for f in sorted(found, key=lambda f: (f.span[0], -f.span[1])):
        if not kept or f.span[0] >= kept[-1].span[1]:
            kept.append(f)
    return kept
