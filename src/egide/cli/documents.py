"""`egide documents list|show|relabel|delete`: documents as the person whose API key is given.

Every rule (what you may read, who may lower a label or delete, what is
journaled) is the knowledge service's; these commands only print. A document
you may not read is reported exactly as a missing id.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from egide.cli.context import ApiKey, authenticated, initialised_platform
from egide.knowledge.documents import DocumentView

documents_app = typer.Typer(help="Documents of the knowledge base.", no_args_is_help=True)


@documents_app.command("list")
def list_command(
    api_key: ApiKey = None,
    collection: Annotated[
        str | None, typer.Option("--collection", "-c", help="Only this collection.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many (1 to 100).")] = 50,
    after: Annotated[int | None, typer.Option(help="Only ids after this one (next page).")] = None,
) -> None:
    """List the documents you may read, in id order."""
    me = authenticated(api_key, "listing documents")
    page = initialised_platform().knowledge.documents(
        me, collection=collection, limit=limit, after=after
    )
    table = Table("id", "collection", "label", "version", "passages", "file", "title")
    for d in page.documents:
        table.add_row(
            str(d.id), d.collection, d.label, str(d.version), str(d.passages), d.filename, d.title
        )
    Console().print(table)
    if page.has_more:
        typer.echo(f"more: egide documents list --after {page.documents[-1].id}", err=True)


@documents_app.command("show")
def show(
    document_id: int,
    api_key: ApiKey = None,
    full: Annotated[bool, typer.Option(help="Print each passage whole.")] = False,
) -> None:
    """Show a document: label, versions and the passages you may read (journaled)."""
    me = authenticated(api_key, "reading a document")
    _print(initialised_platform().knowledge.document(me, document_id), full=full)


@documents_app.command("relabel")
def relabel(
    document_id: int,
    label: Annotated[str, typer.Argument(help="The new label, e.g. SECRET.")],
    api_key: ApiKey = None,
    rationale: Annotated[
        str, typer.Option(help="Why (required to lower: a declassification).")
    ] = "",
) -> None:
    """Raise a document's label, or lower it (classifier role, with --rationale)."""
    platform = initialised_platform()
    me = authenticated(api_key, "relabelling a document")
    done = platform.knowledge.relabel(
        me, document_id, platform.policies.parse(label), rationale=rationale
    )
    if done.status == "unchanged":
        typer.echo(f"document {document_id} is already {done.label}: nothing changed")
        return
    typer.echo(
        f"document {document_id} {done.status}: {done.previous} → {done.label} "
        f"({done.portions} passages relabelled)"
    )


@documents_app.command("delete")
def delete(
    document_id: int,
    api_key: ApiKey = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a document, its versions and passages everywhere (admin or classifier)."""
    me = authenticated(api_key, "deleting a document")
    if not yes:
        typer.confirm(f"delete document {document_id} and all its versions?", abort=True)
    initialised_platform().knowledge.delete_document(me, document_id)
    typer.echo(f"document {document_id} deleted")


def _print(view: DocumentView, *, full: bool) -> None:
    console = Console()
    d = view.summary

    def say(line: str, style: str | None = None) -> None:
        console.print(line, style=style, markup=False, highlight=False)

    say(d.label, "bold red")
    say(f"#{d.id} {d.title} — {d.filename}, version {d.version}, collection {d.collection}")
    say(f"sha256 {d.sha256}; {d.passages} passages you may read")
    for v in view.versions:
        say(f"  v{v.version} {v.created_at:%Y-%m-%d %H:%M} [{v.label}] {v.filename} by {v.actor}")
    for p in view.portions:
        page = f" p.{p.page}" if p.page else ""
        section = f" {p.section}" if p.section else ""
        text = p.text if full or len(p.text) <= 200 else p.text[:200] + "…"
        say(f"({p.label}){page}{section}: {text}")
    say(d.label, "bold red")
