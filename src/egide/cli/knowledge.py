"""`egide collections …`, `egide ingest`, `egide search`, `egide ask`: the knowledge base.

These commands act as the person whose API key is given: what they ingest must
be within their clearance, and what they search or ask is filtered by it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from egide.cli.context import ApiKey, authenticated, initialised_platform
from egide.errors import EgideError, InvalidInput, RateLimited
from egide.knowledge.service import Ingested

collections_app = typer.Typer(help="Collections of documents.", no_args_is_help=True)
Collection = Annotated[str | None, typer.Option("--collection", "-c", help="Collection name.")]


@collections_app.command("add")
def collections_add(
    name: str,
    api_key: ApiKey = None,
    label: Annotated[str | None, typer.Option(help="Default label of its documents.")] = None,
    description: str = "",
    org: Annotated[list[str] | None, typer.Option(help="Organisation allowed (repeat).")] = None,
) -> None:
    """Create a collection (administrators)."""
    platform = initialised_platform()
    me = authenticated(api_key, "creating a collection")
    default = platform.policies.parse(label) if label else None
    platform.knowledge.create_collection(
        me, name, default_label=default, description=description, organisations=org or []
    )
    typer.echo(f"collection {name!r} created")


@collections_app.command("list")
def collections_list(api_key: ApiKey = None) -> None:
    """List the collections you may use."""
    me = authenticated(api_key, "listing collections")
    table = Table("id", "name", "description")
    for cid, name, description in initialised_platform().knowledge.collections(me):
        table.add_row(str(cid), name, description)
    Console().print(table)


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    collection: Annotated[str, typer.Option("--collection", "-c", help="Target collection.")],
    api_key: ApiKey = None,
    label: Annotated[
        str | None, typer.Option(help="Label of unmarked files; raises, never lowers, markings.")
    ] = None,
    replace: Annotated[
        int | None,
        typer.Option(help="Make the (single) file a new version of document ID.", metavar="ID"),
    ] = None,
) -> None:
    """Ingest files: one transaction each; a bad file is reported and the batch goes on."""
    platform = initialised_platform()
    me = authenticated(api_key, "ingesting documents")
    given = platform.policies.parse(label) if label else None
    files = sorted(f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file())
    if not files:
        raise InvalidInput("no file found at the paths given")
    if replace is not None and len(files) != 1:
        raise InvalidInput(
            f"--replace makes one file a new version of one document, but {len(files)} files "
            "were given; name a single file"
        )
    platform.knowledge.admit_ingest(me, collection)
    failures = 0
    console = Console(stderr=True)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("ingesting", total=len(files))
        for path in files:
            progress.update(task, description=path.name)
            try:
                ingest_one = partial(
                    platform.knowledge.ingest,
                    me,
                    collection,
                    path.name,
                    path.read_bytes(),
                    label=given,
                    replace=replace,
                )
                results = _paced(ingest_one, console)
            except EgideError as error:
                if replace is not None:  # one file, one document: exit with what went wrong
                    raise
                failures += 1
                console.print(f"[red]✗[/] {path}: {error.message}", highlight=False)
            except OSError as error:
                failures += 1
                console.print(f"[red]✗[/] {path}: cannot read ({error.strerror})", highlight=False)
            else:
                for r in results:
                    typer.echo(
                        f"✓ {r.filename} → document {r.document_id} v{r.version} "
                        f"[{r.label}] {r.chunks} chunks ({_STATUS[r.status]})"
                    )
            progress.advance(task)
    if failures:
        typer.echo(f"{failures} of {len(files)} files failed; the others were ingested", err=True)
        raise typer.Exit(2)


def _paced(ingest: Callable[[], list[Ingested]], console: Console) -> list[Ingested]:
    """Run `ingest`, waiting out the ingestion quota when it is spent (a batch is paced,
    not failed: the quota is the service's, the waiting is this command's)."""
    while True:
        try:
            return ingest()
        except RateLimited as limited:
            console.print(f"quota reached: waiting {limited.retry_after:.0f} s", highlight=False)
            time.sleep(limited.retry_after)


_STATUS = {
    "new": "new",
    "new-version": "new version",
    "unchanged": "unchanged: the same content is already there; nothing was changed",
    "relabelled": "same content; its label was raised to the one shown",
}


def search_command(
    query: str,
    api_key: ApiKey = None,
    collection: Collection = None,
    k: int = 5,
    mode: Annotated[str, typer.Option(help="hybrid, fulltext or dense")] = "hybrid",
) -> None:
    """Search the chunks you may read."""
    if mode not in ("hybrid", "fulltext", "dense"):
        raise InvalidInput("mode must be hybrid, fulltext or dense")
    me = authenticated(api_key, "searching")
    hits = initialised_platform().knowledge.search(
        me,
        query,
        collection=collection,
        k=k,
        mode=mode,  # type: ignore[arg-type]
    )
    for rank, hit in enumerate(hits, start=1):
        page = f" p.{hit.page}" if hit.page else ""
        typer.echo(f"{rank}. [{hit.label}] {hit.document_title}{page} — {hit.text[:200]}")
    if not hits:
        typer.echo("no result among the documents you may read")


def ask(
    question: str,
    api_key: ApiKey = None,
    collection: Collection = None,
    label: Annotated[str | None, typer.Option(help="Working label of the question.")] = None,
) -> None:
    """Ask a question: the answer quotes and cites the passages you may read."""
    platform = initialised_platform()
    me = authenticated(api_key, "asking")
    policies = platform.policies
    # The service checks that your clearance covers the working label, and journals.
    working = policies.parse(label) if label else (me.default_label or platform.home_label)
    answer = platform.knowledge.ask(me, question, working, collection=collection)
    banner = policies.format(answer.label)
    console = Console()
    console.print(banner, style="bold red", highlight=False)
    console.print(answer.text, markup=False, highlight=False)
    for c in answer.citations:
        page = f", p.{c.page}" if c.page else ""
        console.print(
            f"[{c.number}] {c.document_title}{page} ({c.marking}): « {c.quote} »",
            markup=False,
            highlight=False,
        )
    console.print(banner, style="bold red", highlight=False)
