"""`egide bench retrieval`: measure retrieval on any SQuAD-format file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

bench_app = typer.Typer(help="Benchmarks (tables + JSON).", no_args_is_help=True)
DEFAULT_SQUAD = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "squad"


@bench_app.command("retrieval")
def retrieval(
    squad: Annotated[Path, typer.Option(help="SQuAD-format JSON file.")] = DEFAULT_SQUAD
    / "squad-dev-v1.1.json",
    work_dir: Annotated[Path, typer.Option(help="Where the benchmark's database lives.")] = Path(
        "bench/results/squad"
    ),
    database_url: Annotated[
        str | None, typer.Option(help="PostgreSQL URL (default SQLite).")
    ] = None,
    limit_queries: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    out: Annotated[Path | None, typer.Option(help="JSON output file.")] = None,
) -> None:
    """Recall@1/5/10, nDCG@10, MRR and latency for full text, dense and hybrid."""
    from egide.benchmarks.retrieval import run, table

    if not squad.is_file():
        from egide.errors import InvalidInput

        raise InvalidInput(f"no SQuAD file at {squad}; pass --squad PATH")
    work_dir.mkdir(parents=True, exist_ok=True)
    report = run(
        squad,
        work_dir,
        database_url=database_url,
        limit_queries=limit_queries,
        say=lambda m: typer.echo(m, err=True),
    )
    typer.echo(table(report))
    target = out or work_dir.parent / f"retrieval-{report['database']}.json"
    target.write_text(json.dumps(report, indent=2), encoding="utf-8")
    typer.echo(f"written {target}", err=True)


def retrieval_main(argv: list[str]) -> int:
    """Entry point of bench/retrieval.py."""
    try:
        bench_app(["retrieval", *argv], standalone_mode=False)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0
