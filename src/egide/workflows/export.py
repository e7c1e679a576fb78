"""Render an approved proposal for dissemination, marked at top and bottom."""

from __future__ import annotations

from typing import Any

from egide.core.labels import PolicyRegistry
from egide.workflows.proposals import Proposal


def render_markdown(proposal: Proposal, policies: PolicyRegistry) -> str:
    """Markdown with the banner marking first and last, and the decision record."""
    banner = policies.format(proposal.label)
    portion = policies.portion(proposal.label)
    lines = [banner, "", f"# {proposal.title}", ""]
    lines += [f"{portion} {paragraph}" for paragraph in _paragraphs(proposal.content)]
    lines += ["", "---", "", "Décision / Decision:"]
    for event in proposal.history:
        if event.action in ("approve", "amend", "reject", "dissent"):
            note = f" — {event.rationale}" if event.rationale else ""
            lines.append(
                f"- {event.action} by {event.actor} at {event.at:%Y-%m-%d %H:%M} UTC{note}"
            )
    if proposal.model:
        lines.append(f"- AI involvement: {proposal.model} (weights {proposal.model_digest or '?'})")
    lines.append(f"- Content SHA-256: {proposal.content_hash}")
    lines += ["", banner, ""]
    return "\n".join(lines)


def _paragraphs(content: dict[str, Any]) -> list[str]:
    text = content.get("text")
    if isinstance(text, str):
        return [p.strip() for p in text.split("\n\n") if p.strip()]
    return [f"{key}: {value}" for key, value in content.items()]
