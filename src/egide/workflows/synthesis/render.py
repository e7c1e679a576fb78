"""A report as marked blocks (for the document layer) and as plain text.

Each judgment, its likelihood and confidence lines, the BLUF and each fact
carry the join of the labels of the sources they cite; a source's line in
the sources list carries the join of its passage's label and, when it names
its document's title, its document's label; text that cites nothing
(assumptions, alternatives, gaps, AI involvement) carries the report's own
label, since it may draw on any passage of the context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from egide.core.labels import Label, PolicyRegistry, join
from egide.workflows.synthesis.lexicon import RANGES, UNGRADED, Grading


def blocks_of(
    report: Mapping[str, Any],
    labels: Mapping[int, Label],
    report_label: Label,
    policies: PolicyRegistry,
    *,
    lines: Mapping[int, Label] | None = None,
) -> list[dict[str, str]]:
    """The ``blocks`` of a proposal's content: headings, portion-marked paragraphs and bullets.

    Args:
        labels: The label of each numbered source's passage.
        lines: The label of each source's line in the sources list, which names its
            document's title (default: its passage's label).
    """

    def marked(
        kind: str, text: str, cited: Sequence[int] | None = None, at: Label | None = None
    ) -> dict[str, str]:
        label = at or (join(*(labels[n] for n in cited)) if cited else report_label)
        return {"kind": kind, "text": text, "marking": policies.canonical(label)}

    def heading(text: str) -> dict[str, str]:
        return {"kind": "heading", "text": text}

    out = [heading("Bottom line up front (BLUF)")]
    bluf = report["bluf"]
    out.append(marked("paragraph", f"{bluf['text']} {_cites(bluf['sources'])}", bluf["sources"]))
    out.append(heading("Key judgments"))
    for i, j in enumerate(report["key_judgments"], start=1):
        cited = j["sources"]
        out.append(marked("paragraph", f"KJ{i}. {j['statement']} {_cites(cited)}", cited))
        out.append(
            marked("bullet", f"Likelihood: {j['likelihood']} ({RANGES[j['likelihood']]}).", cited)
        )
        out.append(
            marked("bullet", f"Confidence: {j['confidence']}. {j['confidence_basis']}", cited)
        )
    out.append(heading("Facts reported by the sources"))
    for fact in report["facts"]:
        n = fact["source"]
        out.append(marked("bullet", f"«{fact['text']}» {_cites([n])}", [n]))
    for title, field in (
        ("Assumptions", "assumptions"),
        ("Alternatives considered", "alternatives"),
        ("Information gaps", "gaps"),
    ):
        out.append(heading(title))
        items = report[field] or ["None identified."]
        out.extend(marked("bullet", text) for text in items)
    out.append(heading("Sources and gradings (Admiralty code)"))
    for source in report["sources"]:
        n = source["number"]
        grading = Grading(source["reliability"], source["credibility"])
        page = f", p. {source['page']}" if source["page"] else ""
        graded = (
            grading.meaning
            if grading.code == UNGRADED
            else f"graded {grading.code}: {grading.meaning}"
        )
        line = f"[{n}] {source['title']}{page} — {source['marking']} — {graded}."
        out.append(marked("bullet", line, at=(lines or labels)[n]))
    out.append(heading("AI involvement"))
    out.append(marked("paragraph", report["ai_involvement"]["statement"]))
    return out


def text_of(
    title: str, blocks: Sequence[Mapping[str, str]], banner: Label, policies: PolicyRegistry
) -> str:
    """Plain text: banner, title, portion-marked headings and paragraphs, banner."""
    top = policies.format(banner)
    lines = [top, "", title]
    for block in blocks:
        marking = block.get("marking")
        portion = policies.portion(policies.parse(marking) if marking else banner)
        if block["kind"] == "heading":
            lines += ["", f"{portion} {block['text'].upper()}"]
            continue
        bullet = "- " if block["kind"] == "bullet" else ""
        lines.append(f"{bullet}{portion} {block['text']}")
    lines += ["", top]
    return "\n".join(lines)


def _cites(numbers: Sequence[int]) -> str:
    return "[" + ", ".join(str(n) for n in numbers) + "]"
