"""`egide proposals …`: decide on proposals as an accountable person.

Deciding needs a named approver, so these commands authenticate with that
person's API key (`--api-key` or `EGIDE_API_KEY`), like any API client.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from egide.cli.context import ApiKey, authenticated, initialised_platform
from egide.core.principals import Principal
from egide.errors import InvalidInput
from egide.workflows.proposals import Proposal

proposals_app = typer.Typer(help="Proposals awaiting a human decision.", no_args_is_help=True)


def _me(api_key: str | None) -> Principal:
    return authenticated(api_key, "deciding on proposals")


@proposals_app.command("list")
def list_command(
    api_key: ApiKey = None,
    state: Annotated[str | None, typer.Option(help="draft, proposed, approved, rejected")] = None,
) -> None:
    """List the proposals you may read."""
    me = _me(api_key)
    table = Table("id", "state", "kind", "label", "title", "author", "approvals")
    for p in initialised_platform().proposals.readable(me, state=state):
        table.add_row(
            str(p.id),
            p.state,
            p.kind,
            p.marking,
            p.title,
            p.author,
            f"{len(p.approvals)}/{p.required_approvals}",
        )
    Console().print(table)


@proposals_app.command("show")
def show(proposal_id: int, api_key: ApiKey = None) -> None:
    """Show a proposal, its content, evidence and decision history."""
    _print(initialised_platform().proposals.get(_me(api_key), proposal_id))


@proposals_app.command("approve")
def approve(
    proposal_id: int,
    api_key: ApiKey = None,
    rationale: Annotated[str, typer.Option(help="Why you approve.")] = "",
) -> None:
    """Approve the current content of a proposal."""
    _print(initialised_platform().proposals.approve(_me(api_key), proposal_id, rationale=rationale))


@proposals_app.command("reject")
def reject(
    proposal_id: int,
    rationale: Annotated[str, typer.Option(help="Why you reject (required).")],
    api_key: ApiKey = None,
) -> None:
    """Reject a proposal, with a rationale."""
    _print(initialised_platform().proposals.reject(_me(api_key), proposal_id, rationale))


@proposals_app.command("amend")
def amend(
    proposal_id: int,
    content: Annotated[Path, typer.Option(help="JSON file with the new content.")],
    rationale: Annotated[str, typer.Option(help="Why you amend (required).")],
    api_key: ApiKey = None,
) -> None:
    """Replace a proposal's content (the original is kept)."""
    try:
        body = json.loads(content.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InvalidInput(f"cannot read JSON content from {content}: {error}") from None
    if not isinstance(body, dict):
        raise InvalidInput(f"{content} must hold a JSON object")
    _print(initialised_platform().proposals.amend(_me(api_key), proposal_id, body, rationale))


def _print(p: Proposal) -> None:
    console = Console()
    console.print(p.marking, style="bold red", highlight=False)
    console.print(f"#{p.id} {p.title} [{p.kind}] — {p.state}", highlight=False, markup=False)
    console.print(
        f"author {p.author}; approvals {', '.join(p.approvals) or 'none'} "
        f"({len(p.approvals)}/{p.required_approvals})",
        markup=False,
    )
    console.print(json.dumps(p.content, ensure_ascii=False, indent=2), markup=False)
    for event in p.history:
        note = f" — {event.rationale}" if event.rationale else ""
        console.print(
            f"  {event.at:%Y-%m-%d %H:%M} {event.action} by {event.actor}{note}",
            markup=False,
            highlight=False,
        )
    console.print(p.marking, style="bold red", highlight=False)
