"""Render an approved proposal for dissemination, marked at top and bottom."""

from __future__ import annotations

from egide.core.labels import PolicyRegistry
from egide.workflows.document import MarkedDocument, document_of
from egide.workflows.proposals import Proposal


def render_markdown(proposal: Proposal, policies: PolicyRegistry) -> str:
    """Markdown with the banner marking first and last, and the decision record."""
    return markdown_of(document_of(proposal, policies), policies)


def markdown_of(document: MarkedDocument, policies: PolicyRegistry) -> str:
    """Markdown of a marked document: banner, title, portion-marked blocks, record, banner."""
    banner = policies.format(document.label)
    lines = [banner, "", f"# {document.title}", ""]
    for block in document.blocks:
        if block.kind == "heading":
            lines += ["", f"## {block.text}", ""]
            continue
        portion = policies.portion(block.label or document.label)
        bullet = "- " if block.kind == "bullet" else ""
        lines.append(f"{bullet}{portion} {block.text}")
    lines += ["", "---", "", "Décision / Decision:"]
    lines += [f"- {line}" for line in document.record]
    lines += ["", banner, ""]
    return "\n".join(lines)
