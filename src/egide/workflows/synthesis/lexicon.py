"""The vocabularies of an assessed report: ICD 203 likelihood, confidence, the Admiralty code.

ICD 203 (US Intelligence Community Directive 203, *Analytic Standards*) fixes
seven terms for how likely something is; Égide uses its first column only and
refuses the equivalents of the second column and of other scales (UK PHIA
"highly likely", "realistic possibility", plain "probably"), because a reader
cannot compare judgments written on two scales. Confidence — how solid the
evidence and reasoning are — is a separate, three-level statement.

The Admiralty (NATO STANAG 2511) code grades a source's reliability (A–F) and
the credibility of one item of information (1–6) independently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from egide.errors import InvalidInput

LIKELIHOOD = (
    "almost no chance",
    "very unlikely",
    "unlikely",
    "roughly even chance",
    "likely",
    "very likely",
    "almost certain",
)
"""ICD 203 likelihood terms, lowest to highest (with their probability ranges below)."""

RANGES = {
    "almost no chance": "1-5%",
    "very unlikely": "5-20%",
    "unlikely": "20-45%",
    "roughly even chance": "45-55%",
    "likely": "55-80%",
    "very likely": "80-95%",
    "almost certain": "95-99%",
}

CONFIDENCE = ("low", "moderate", "high")

RELIABILITY = {
    "A": "completely reliable",
    "B": "usually reliable",
    "C": "fairly reliable",
    "D": "not usually reliable",
    "E": "unreliable",
    "F": "reliability cannot be judged",
}
CREDIBILITY = {
    1: "confirmed by other sources",
    2: "probably true",
    3: "possibly true",
    4: "doubtful",
    5: "improbable",
    6: "truth cannot be judged",
}
UNGRADED = "ungraded"

# Longest first, so "very unlikely" is read as one term and not as "unlikely".
_ICD = re.compile(
    r"\b(almost no chance|roughly even chance|almost certain(?:ly)?|very unlikely|very likely"
    r"|unlikely|likely)\b",
    re.IGNORECASE,
)
# Estimative words of other scales (ICD 203's second column, UK PHIA, common usage).
_FOREIGN = re.compile(
    r"\b(highly likely|highly unlikely|highly probable|highly improbable|nearly certain"
    r"|realistic possibility|remote chance|roughly even odds|even odds|probable|probably"
    r"|improbable|improbably|most likely|more likely than not|in all likelihood"
    r"|almost surely|virtually certain|chances are|remote possibility)\b",
    re.IGNORECASE,
)
_CONFIDENCE_WORDS = re.compile(r"\b(confidence|confident|confidently)\b", re.IGNORECASE)
# Quoted source text is the source's wording, not the analyst's estimate.
_QUOTED = re.compile(r"«[^»]*»|“[^”]*”|\"[^\"]*\"")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")


def unquoted(text: str) -> str:
    """`text` with quoted extracts removed (they are judged as the source's words)."""
    return _QUOTED.sub(" ", text)


def likelihood_terms(text: str) -> list[str]:
    """ICD 203 terms used outside quotes ("almost certainly" read as "almost certain")."""
    found = [m.lower() for m in _ICD.findall(unquoted(text))]
    return ["almost certain" if m == "almost certainly" else m for m in found]


def foreign_terms(text: str) -> list[str]:
    """Estimative terms of other scales used outside quotes."""
    return [m.lower() for m in _FOREIGN.findall(unquoted(text))]


def mixed_sentences(text: str) -> list[str]:
    """Sentences (outside quotes) that state a likelihood and a confidence together."""
    found = []
    for sentence in _SENTENCE_END.split(unquoted(text)):
        if _ICD.search(sentence) and _CONFIDENCE_WORDS.search(sentence):
            found.append(sentence.strip())
    return found


@dataclass(frozen=True)
class Grading:
    """An Admiralty grading of one document: reliability and credibility, assessed apart."""

    reliability: str | None
    credibility: int | None

    @property
    def code(self) -> str:
        """ "B2", or "ungraded"."""
        if self.reliability is None or self.credibility is None:
            return UNGRADED
        return f"{self.reliability}{self.credibility}"

    @property
    def meaning(self) -> str:
        """The code in words."""
        if self.reliability is None or self.credibility is None:
            return "not graded by the analyst (treated as F6: cannot be judged)"
        return f"{RELIABILITY[self.reliability]}; {CREDIBILITY[self.credibility]}"

    @property
    def strong(self) -> bool:
        """A reliable source (A–B) with confirmed or probably true information (1–2)."""
        return self.reliability in ("A", "B") and self.credibility in (1, 2)

    @property
    def fair(self) -> bool:
        """At least fairly reliable (A–C) with possibly true information (1–3)."""
        return self.reliability in ("A", "B", "C") and self.credibility in (1, 2, 3)

    @property
    def discredited(self) -> bool:
        """Information graded doubtful or improbable (4–5), or a source graded unreliable (E)."""
        return self.credibility in (4, 5) or self.reliability == "E"


NOT_GRADED = Grading(None, None)


def parse_grading(text: str, *, what: str = "a source") -> Grading:
    """An Admiralty code such as "B2" (case-insensitive), or "ungraded"."""
    code = text.strip().upper()
    if code in ("", UNGRADED.upper()):
        return NOT_GRADED
    if len(code) != 2 or code[0] not in RELIABILITY or code[1] not in "123456":
        raise InvalidInput(
            f"the grading {text!r} of {what} is not an Admiralty code: give the source's "
            "reliability A-F then the information's credibility 1-6, e.g. B2 (or 'ungraded')"
        )
    return Grading(code[0], int(code[1]))
