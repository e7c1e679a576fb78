"""`egide bench retrieval`, `egide bench scale` and `egide bench planning`: tables + JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from egide.benchmarks.vectors import DEFAULT_CACHE_DIR
from egide.errors import InvalidInput

QUICK_STOPS = 60

bench_app = typer.Typer(help="Benchmarks (tables + JSON).", no_args_is_help=True)
DEFAULT_SQUAD = (
    Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "squad" / "squad-dev-v1.1.json"
)
DEFAULT_VRP = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "vrp"
SquadFile = Annotated[Path, typer.Option(help="SQuAD-format JSON file.")]
CacheDir = Annotated[
    Path, typer.Option(help="Where the real model's vectors are kept between runs.")
]
OutFile = Annotated[Path | None, typer.Option(help="JSON output file.")]


@bench_app.command("retrieval")
def retrieval(
    squad: SquadFile = DEFAULT_SQUAD,
    work_dir: Annotated[Path, typer.Option(help="Where the benchmark's database lives.")] = Path(
        "bench/results/squad"
    ),
    database_url: Annotated[
        str | None, typer.Option(help="PostgreSQL URL (default SQLite).")
    ] = None,
    limit_queries: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    out: OutFile = None,
    cache_dir: CacheDir = DEFAULT_CACHE_DIR,
) -> None:
    """Recall@1/5/10, nDCG@10, MRR and latency for full text, dense and hybrid."""
    from egide.benchmarks.retrieval import run, table

    _require_squad(squad)
    work_dir.mkdir(parents=True, exist_ok=True)
    report = run(
        squad,
        work_dir,
        database_url=database_url,
        limit_queries=limit_queries,
        cache_dir=cache_dir,
        say=lambda m: typer.echo(m, err=True),
    )
    _publish(table(report), report, out or work_dir.parent / f"retrieval-{report['database']}.json")


@bench_app.command("scale")
def scale(
    squad: SquadFile = DEFAULT_SQUAD,
    sizes: Annotated[str, typer.Option(help="Collection sizes in chunks, comma-separated.")] = (
        "10000,100000"
    ),
    backends: Annotated[str, typer.Option(help="sqlite, postgresql or both.")] = (
        "sqlite,postgresql"
    ),
    queries: Annotated[int, typer.Option(help="Queries timed per method and size.")] = 300,
    per_document: Annotated[int, typer.Option(help="Paragraphs per ingested file.")] = 50,
    paragraphs: Annotated[
        int | None, typer.Option(help="Distinct paragraphs repeated (default: all that fit).")
    ] = None,
    embedding_sample: Annotated[
        int, typer.Option(help="Paragraphs embedded for real to time the model (0: skip).")
    ] = 32,
    postgres_url: Annotated[
        str | None,
        typer.Option(help="Admin URL of a PostgreSQL with pgvector (default: embedded server)."),
    ] = None,
    work_dir: Annotated[Path, typer.Option(help="Where the benchmark's databases live.")] = Path(
        "bench/results/scale"
    ),
    cache_dir: CacheDir = DEFAULT_CACHE_DIR,
    out: OutFile = None,
) -> None:
    """Ingestion chunks/s and query latency p50/p95 on SQLite and PostgreSQL at each size."""
    from egide.benchmarks.scale import run, table
    from egide.benchmarks.vectors import BenchEmbedder

    _require_squad(squad)
    try:
        size_list = [int(s) for s in sizes.split(",") if s.strip()]
    except ValueError:
        raise InvalidInput(
            f"--sizes takes chunk counts separated by commas, not {sizes!r}"
        ) from None
    backend_list = [b.strip() for b in backends.split(",") if b.strip()]
    unknown = set(backend_list) - {"sqlite", "postgresql"}
    if unknown or not backend_list:
        raise InvalidInput("--backends takes sqlite, postgresql or sqlite,postgresql")
    if not size_list or min(size_list) < 1 or queries < 1 or per_document < 1:
        raise InvalidInput("--sizes, --queries and --per-document must be positive")
    work_dir.mkdir(parents=True, exist_ok=True)
    report = run(
        squad,
        work_dir,
        sizes=size_list,
        backends=backend_list,
        queries=queries,
        paragraphs=paragraphs,
        per_document=per_document,
        embedding_sample_size=embedding_sample,
        database_url=postgres_url,
        embedder=BenchEmbedder(cache_dir),
        say=lambda m: typer.echo(m, err=True),
    )
    _publish(table(report), report, out or work_dir.parent / "scale.json")


@bench_app.command("planning")
def planning(
    data_dir: Annotated[Path, typer.Option(help="Folder with the VRPLIB instances.")] = DEFAULT_VRP,
    limits: Annotated[str, typer.Option(help="Time limits in seconds, comma-separated.")] = (
        "5,30,120"
    ),
    instances: Annotated[
        str, typer.Option(help="RC208, E-n22-k4, X-n101-50-k13 and/or military, comma-separated.")
    ] = "RC208,E-n22-k4,X-n101-50-k13,military",
    solvers: Annotated[
        str,
        typer.Option(help="pyvrp, ortools and/or egide (the planning engine), comma-separated."),
    ] = ("pyvrp,ortools"),
    quick: Annotated[
        bool, typer.Option(help="Smoke test: 0.5 s limits and a 60-stop military instance.")
    ] = False,
    seed: Annotated[int, typer.Option(help="PyVRP's random seed.")] = 1,
    military_stops: Annotated[int, typer.Option(help="Stops in the generated instance.")] = 500,
    military_seed: Annotated[int, typer.Option(help="Seed of the generated instance.")] = 2026,
    reference: Annotated[
        list[str] | None,
        typer.Option(help="NAME=COST: a best-known cost to measure the gap against."),
    ] = None,
    write_military: Annotated[
        Path | None, typer.Option(help="Also write the generated instance as JSON here.")
    ] = None,
    out: OutFile = None,
) -> None:
    """Cost, gap and feasibility of PyVRP and OR-Tools side by side at each time limit."""
    from egide.benchmarks.routing import run as planning_run
    from egide.benchmarks.routing.engine import ENGINE, engine_status
    from egide.benchmarks.routing.solvers import SOLVERS

    try:
        limit_list = (
            list(planning_run.QUICK_LIMITS)
            if quick
            else [float(x) for x in limits.split(",") if x.strip()]
        )
        references = {k: float(v) for k, v in (r.split("=", 1) for r in reference or [])}
    except ValueError:
        raise InvalidInput(
            "--limits takes seconds separated by commas (5,30,120); --reference takes NAME=COST"
        ) from None
    if not limit_list or min(limit_list) <= 0:
        raise InvalidInput("--limits must be positive seconds")
    solver_list = [s.strip() for s in solvers.split(",") if s.strip()]
    if not solver_list or set(solver_list) - {*SOLVERS, ENGINE}:
        raise InvalidInput("--solvers takes pyvrp, ortools and egide (the planning engine)")
    if ENGINE in solver_list and not engine_status()["available"]:
        raise InvalidInput("--solvers egide needs egide.planning, which is not installed here")
    names = [n.strip() for n in instances.split(",") if n.strip()]
    if not names or set(names) - set(planning_run.INSTANCES):
        raise InvalidInput(f"--instances takes {', '.join(planning_run.INSTANCES)}")
    if military_stops < 1:
        raise InvalidInput("--military-stops must be positive")
    try:
        loaded = planning_run.load_instances(
            data_dir,
            names,
            military_stops=QUICK_STOPS if quick else military_stops,
            military_seed=military_seed,
            references=references,
        )
    except FileNotFoundError as missing:
        raise InvalidInput(str(missing)) from None
    if write_military is not None:
        for instance in loaded:
            if instance.kind == "military":
                write_military.write_text(
                    json.dumps(planning_run.instance_json(instance), indent=2), encoding="utf-8"
                )
    report = planning_run.run(
        loaded, limit_list, solvers=solver_list, seed=seed, say=lambda m: typer.echo(m, err=True)
    )
    target = out or Path("bench/results/planning.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    _publish(planning_run.table(report), report, target)


def _require_squad(squad: Path) -> None:
    if not squad.is_file():
        raise InvalidInput(f"no SQuAD file at {squad}; pass --squad PATH")


def _publish(text: str, report: dict[str, Any], target: Path) -> None:
    """Print the table, write the JSON."""
    typer.echo(text)
    target.write_text(json.dumps(report, indent=2), encoding="utf-8")
    typer.echo(f"written {target}", err=True)


def bench_main(command: str, argv: list[str]) -> int:
    """Entry point of the bench/*.py scripts: `egide bench COMMAND ARGV…`."""
    try:
        bench_app([command, *argv], standalone_mode=False)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0
