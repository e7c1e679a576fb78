"""`egide proposals …`: decide on proposals as an accountable person.

Deciding needs a named approver, so these commands authenticate with that
person's API key (`--api-key` or `EGIDE_API_KEY`), like any API client.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.console import Console
from rich.table import Table

from egide.cli.context import ApiKey, authenticated, initialised_platform
from egide.core.principals import Principal
from egide.errors import Conflict, InvalidInput
from egide.workflows.export import export_format, export_proposal
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
            f"{p.state} (damaged)" if p.problem else p.state,
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
    expires_at: Annotated[
        str | None,
        typer.Option(help="When the approval lapses: ISO 8601 with a zone (2030-01-31T18:00Z)."),
    ] = None,
) -> None:
    """Approve the current version of a proposal (never one you wrote or amended)."""
    expiry = _datetime(expires_at, "--expires-at") if expires_at else None
    _print(
        initialised_platform().proposals.approve(
            _me(api_key), proposal_id, rationale=rationale, expires_at=expiry
        )
    )


def _datetime(text: str, option: str) -> datetime:
    """An ISO 8601 time given on the command line; the service checks its zone."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{option} {text!r} is not an ISO 8601 time; write e.g. 2030-01-31T18:00:00Z"
        ) from None


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


@proposals_app.command("export")
def export(
    proposal_id: int,
    format: Annotated[str, typer.Option("--format", help="markdown, pdf or docx.")] = "markdown",
    out: Annotated[
        Path | None, typer.Option(help="File to write (default proposal-ID.md|pdf|docx).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite the file if it exists.")] = False,
    api_key: ApiKey = None,
) -> None:
    """Export an approved proposal, marked on every page (the release is journaled)."""
    me = _me(api_key)
    chosen = export_format(format)
    target = out or Path(f"proposal-{proposal_id}.{chosen.suffix}")
    if not target.parent.is_dir():
        raise InvalidInput(f"folder {target.parent} does not exist; create it or choose --out")
    if target.exists() and not force:
        raise Conflict(f"{target} already exists; pass --force to overwrite it or choose --out")
    platform = initialised_platform()
    # The file is opened before the release, so an unwritable place is known before
    # the journal records an export; it gets its name only once complete.
    with _atomic(target, replace=force) as handle:
        done = export_proposal(platform.proposals, platform.policies, me, proposal_id, chosen.name)
        handle.write(done.data)
    Console(stderr=True).print(
        f"{done.proposal.marking}: proposal {proposal_id} written to {target}",
        markup=False,
        highlight=False,
    )


@contextmanager
def _atomic(target: Path, *, replace: bool) -> Iterator[BinaryIO]:
    """A temporary file beside `target`, renamed to it only if the block succeeds."""
    try:
        fd, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part"
        )
    except OSError as error:
        raise InvalidInput(
            f"cannot write in {target.parent}: {error.strerror}; choose --out"
        ) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temporary, target)
        else:
            _link(temporary, target)
    except FileExistsError:
        raise Conflict(f"{target} already exists; pass --force to overwrite it") from None
    except OSError as error:
        raise InvalidInput(
            f"cannot write {target}: {error.strerror}; choose another --out"
        ) from None
    finally:
        Path(temporary).unlink(missing_ok=True)


def _link(temporary: str, target: Path) -> None:
    """Give the file its name unless the name is taken, even if it appeared meanwhile."""
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise
    except OSError:
        # File systems without hard links (FAT removable media, some shares).
        if target.exists():
            raise FileExistsError(target) from None
        os.replace(temporary, target)


def _print(p: Proposal) -> None:
    console = Console()
    console.print(p.marking, style="bold red", highlight=False)
    console.print(f"#{p.id} {p.title} [{p.kind}] — {p.state}", highlight=False, markup=False)
    console.print(
        f"author {p.author}; approvals {', '.join(p.approvals) or 'none'} "
        f"({len(p.approvals)}/{p.required_approvals}); "
        f"may not approve this version: {', '.join(p.authors)}",
        markup=False,
    )
    if p.organisations:
        console.print(f"organisations: {', '.join(p.organisations)} only", markup=False)
    if p.problem:
        console.print(f"damaged record: {p.problem}", style="bold", markup=False)
    console.print(json.dumps(p.content, ensure_ascii=False, indent=2), markup=False)
    for event in p.history:
        note = f" — {event.rationale}" if event.rationale else ""
        console.print(
            f"  {event.at:%Y-%m-%d %H:%M} {event.action} by {event.actor}{note}",
            markup=False,
            highlight=False,
        )
    console.print(p.marking, style="bold red", highlight=False)
