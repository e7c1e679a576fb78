"""The synthesis report: its JSON schema and the validator that enforces analytic standards.

The schema says the shape; the validator adds what a schema cannot say:
one ICD 203 lexicon and no other, a likelihood and a confidence never in one
sentence, every citation a source the reader was shown, facts that are
verbatim extracts of what they cite, gradings that are Admiralty codes.
Each problem names its field (``key_judgments[1].statement``) and says what
is wrong and what to do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from egide.errors import InvalidInput
from egide.workflows.synthesis.lexicon import (
    CONFIDENCE,
    CREDIBILITY,
    LIKELIHOOD,
    RELIABILITY,
    UNGRADED,
    foreign_terms,
    likelihood_terms,
    mixed_sentences,
)

_TEXT: dict[str, Any] = {"type": "string", "minLength": 1}
_TEXTS: dict[str, Any] = {"type": "array", "items": _TEXT}
_CITES: dict[str, Any] = {"type": "array", "items": {"type": "integer"}, "minItems": 1}

# What a model writes. Égide itself fills in tasking, sources and AI involvement,
# so a model can neither invent a source nor misstate who wrote the report.
ANALYSIS_PROPERTIES: dict[str, Any] = {
    "bluf": {
        "type": "object",
        "required": ["text", "sources"],
        "additionalProperties": False,
        "properties": {"text": _TEXT, "sources": _CITES},
    },
    "key_judgments": {
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "required": ["statement", "likelihood", "confidence", "confidence_basis", "sources"],
            "additionalProperties": False,
            "properties": {
                "statement": _TEXT,
                "likelihood": {"type": "string", "enum": list(LIKELIHOOD)},
                "confidence": {"type": "string", "enum": list(CONFIDENCE)},
                "confidence_basis": _TEXT,
                "sources": _CITES,
            },
        },
    },
    "facts": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["text", "source"],
            "additionalProperties": False,
            "properties": {"text": _TEXT, "source": {"type": "integer"}},
        },
    },
    "assumptions": _TEXTS,
    "alternatives": {**_TEXTS, "minItems": 1},
    "gaps": _TEXTS,
}

ANALYSIS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": list(ANALYSIS_PROPERTIES),
    "additionalProperties": False,
    "properties": ANALYSIS_PROPERTIES,
}
"""The schema a model's output is constrained to."""

SOURCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "number",
        "chunk_id",
        "document_id",
        "title",
        "page",
        "marking",
        "reliability",
        "credibility",
        "grading",
    ],
    "additionalProperties": False,
    "properties": {
        "number": {"type": "integer"},
        "chunk_id": {"type": "integer"},
        "document_id": {"type": ["integer", "null"]},
        "title": _TEXT,
        "page": {"type": ["integer", "null"]},
        "marking": _TEXT,
        "reliability": {"type": ["string", "null"], "enum": [*RELIABILITY, None]},
        "credibility": {"type": ["integer", "null"], "enum": [*CREDIBILITY, None]},
        "grading": {"type": "string"},
    },
}

REPORT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Égide intelligence synthesis report",
    "type": "object",
    "required": ["tasking", *ANALYSIS_PROPERTIES, "sources", "ai_involvement"],
    "additionalProperties": False,
    "properties": {
        "tasking": _TEXT,
        **ANALYSIS_PROPERTIES,
        "sources": {"type": "array", "minItems": 1, "items": SOURCE_SCHEMA},
        "ai_involvement": {
            "type": "object",
            "required": ["mode", "model", "model_digest", "statement"],
            "additionalProperties": False,
            "properties": {
                "mode": {"type": "string", "enum": ["assembled", "generated"]},
                "model": {"type": ["string", "null"]},
                "model_digest": {"type": ["string", "null"]},
                "statement": _TEXT,
            },
        },
    },
}
"""The whole report, as stored in a proposal's content under ``report``."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a report: where, and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ReportInvalid(InvalidInput):
    """A report breaks the schema or the analytic standards; `problems` lists each breach."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        shown = "; ".join(str(p) for p in self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"the report does not meet the analytic standards: {shown}{more}")


def validate_report(
    report: Any,
    *,
    passages: Mapping[int, str] | None = None,
    schema: Mapping[str, Any] = REPORT_SCHEMA,
) -> list[Problem]:
    """Every problem of `report`, empty when it is valid.

    Args:
        report: The report (parsed JSON).
        passages: The text of each numbered source, to check that facts quote them
            and (for a model's part alone) that citations exist.
        schema: `REPORT_SCHEMA`, or `ANALYSIS_SCHEMA` for a model's part alone.
    """
    problems = list(_shape(report, schema, "report"))
    if problems:
        return problems
    return list(_standards(report, passages))


def ensure_valid(report: Any, *, passages: Mapping[int, str] | None = None) -> None:
    """Raise `ReportInvalid` unless `report` is valid."""
    problems = validate_report(report, passages=passages)
    if problems:
        raise ReportInvalid(problems)


# structure ---------------------------------------------------------------------------

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "null": (type(None),),
}


def _shape(value: Any, schema: Mapping[str, Any], path: str) -> Iterator[Problem]:
    kinds = schema.get("type")
    if kinds is not None:
        allowed = [kinds] if isinstance(kinds, str) else list(kinds)
        ok = any(
            isinstance(value, _TYPES[k]) and not (k == "integer" and isinstance(value, bool))
            for k in allowed
        )
        if not ok:
            yield Problem(path, f"must be {' or '.join(allowed)}, not {_kind(value)}")
            return
    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(repr(c) for c in schema["enum"] if c is not None)
        yield Problem(path, f"{value!r} is not allowed; use one of {choices}")
    if isinstance(value, str) and len(value.strip()) < schema.get("minLength", 0):
        yield Problem(path, "must not be empty")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            yield Problem(path, f"needs at least {schema['minItems']} item(s)")
        for index, item in enumerate(value):
            yield from _shape(item, schema.get("items", {}), f"{path}[{index}]")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                yield Problem(f"{path}.{key}", "is missing")
        if schema.get("additionalProperties", True) is False:
            for key in value:
                if key not in properties:
                    yield Problem(f"{path}.{key}", "is not a field of the report schema")
        for key, sub in properties.items():
            if key in value:
                yield from _shape(value[key], sub, f"{path}.{key}")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


# analytic standards ------------------------------------------------------------------


def _standards(report: Mapping[str, Any], passages: Mapping[int, str] | None) -> Iterator[Problem]:
    full = "sources" in report
    known = [s["number"] for s in report["sources"]] if full else list(passages or ())
    sources = {n: (passages or {}).get(n) for n in known}
    full = full or passages is not None
    yield from _wording(report["bluf"]["text"], "report.bluf.text")
    yield from _cited(report["bluf"]["sources"], sources, full, "report.bluf.sources")
    for i, judgment in enumerate(report["key_judgments"]):
        path = f"report.key_judgments[{i}]"
        yield from _wording(judgment["statement"], f"{path}.statement")
        stated = set(likelihood_terms(judgment["statement"]))
        if len(stated) > 1:
            yield Problem(
                f"{path}.statement",
                f"uses several likelihood terms ({', '.join(sorted(stated))}); "
                "a judgment carries exactly one, in its 'likelihood' field",
            )
        elif stated and stated != {judgment["likelihood"]}:
            yield Problem(
                f"{path}.statement",
                f"says {stated.pop()!r} but its likelihood is {judgment['likelihood']!r}; "
                "make them agree",
            )
        yield from _wording(judgment["confidence_basis"], f"{path}.confidence_basis")
        if likelihood_terms(judgment["confidence_basis"]):
            yield Problem(
                f"{path}.confidence_basis",
                "states a likelihood; the confidence basis explains the evidence, "
                "the likelihood goes in its own field",
            )
        yield from _cited(judgment["sources"], sources, full, f"{path}.sources")
    for i, fact in enumerate(report["facts"]):
        path = f"report.facts[{i}]"
        yield from _cited([fact["source"]], sources, full, f"{path}.source")
        if not _quotes(fact["text"], sources.get(fact["source"])):
            yield Problem(
                f"{path}.text",
                f"is not a verbatim extract of source [{fact['source']}]; facts are what a "
                "source says — put interpretation in key_judgments or assumptions",
            )
    for field in ("assumptions", "alternatives", "gaps"):
        for i, text in enumerate(report[field]):
            yield from _wording(text, f"report.{field}[{i}]")
    for i, source in enumerate(report.get("sources", [])):
        yield from _grading(source, f"report.sources[{i}]")
    if "sources" in report:
        numbers = [s["number"] for s in report["sources"]]
        if len(set(numbers)) != len(numbers):
            yield Problem("report.sources", "numbers a source twice; number each source once")
        ai = report["ai_involvement"]
        if ai["mode"] == "generated" and not (ai["model"] and ai["model_digest"]):
            yield Problem(
                "report.ai_involvement",
                "a generated report must name its model and the digest of its weights",
            )


def _wording(text: str, path: str) -> Iterator[Problem]:
    foreign = sorted(set(foreign_terms(text)))
    if foreign:
        yield Problem(
            path,
            f"uses {', '.join(repr(t) for t in foreign)}, outside the ICD 203 lexicon; "
            f"say it with one of: {', '.join(LIKELIHOOD)}",
        )
    for sentence in mixed_sentences(text):
        yield Problem(
            path,
            f"states a likelihood and a confidence in one sentence ({sentence[:80]!r}); "
            "give the confidence in the judgment's 'confidence' field",
        )


def _cited(
    numbers: Sequence[int], sources: Mapping[int, str | None], full: bool, path: str
) -> Iterator[Problem]:
    if not full:
        return
    for number in numbers:
        if number not in sources:
            known = ", ".join(str(n) for n in sorted(sources)) or "none"
            yield Problem(path, f"cites [{number}], which is not a source of this report ({known})")


_SPACE = re.compile(r"\s+")


def _quotes(text: str, passage: str | None) -> bool:
    if passage is None:
        return True  # no text to compare with (unknown source: reported as a bad citation)
    needle = _SPACE.sub(" ", text.strip().strip('«»"“” ').strip())
    return needle in _SPACE.sub(" ", passage)


def _grading(source: Mapping[str, Any], path: str) -> Iterator[Problem]:
    reliability, credibility, code = source["reliability"], source["credibility"], source["grading"]
    if (reliability is None) != (credibility is None):
        yield Problem(
            path,
            "grades only one of reliability and credibility; grade both (e.g. B2) or neither "
            "(ungraded)",
        )
    expected = (
        UNGRADED if reliability is None or credibility is None else f"{reliability}{credibility}"
    )
    if code != expected:
        yield Problem(
            f"{path}.grading", f"is {code!r} but reliability and credibility say {expected!r}"
        )
