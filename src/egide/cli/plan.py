"""`egide plan …`: routing and supply plans from the optimisation engine (docs/planning.md).

`routes`, `show`, `replan` and `schema` work on files only: a problem in, a plan file and
its map out. `propose` hands a plan (or a problem, solved first) to the planning service as
the person whose API key is given: stored at a label, journaled, and proposed for a human
decision (kind logistics-plan, two approvals before it can be exported).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from egide.cli.context import ApiKey
from egide.errors import InvalidInput
from egide.planning.codec import loads_plan, plan_document, schema
from egide.planning.model import Problem
from egide.planning.solution import Solution

plan_app = typer.Typer(help="Routing and supply plans (optimisation engine).", no_args_is_help=True)

TimeLimit = Annotated[
    float, typer.Option(help="Seconds the solver may search.", min=0.1, max=86400)
]
Seed = Annotated[int, typer.Option(help="Random seed (same seed and limit: same search).")]
Iterations = Annotated[
    int | None,
    typer.Option(help="Also stop after this many iterations (same seed: same plan).", min=1),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
OutDir = Annotated[Path, typer.Option(help="Where to write the plan file and its SVG map.")]


@plan_app.command("routes")
def routes(
    file: Annotated[Path, typer.Argument(help="Problem: .json, .csv, .vrp or .txt.")],
    time_limit: TimeLimit = 10.0,
    seed: Seed = 0,
    max_iterations: Iterations = None,
    as_json: AsJson = False,
    out: OutDir = Path("."),
    fmt: Annotated[
        str | None, typer.Option("--format", help="json, csv, vrplib or solomon.")
    ] = None,
) -> None:
    """Plan routes for a problem file; write PLAN.plan.json and PLAN.plan.svg."""
    from egide.planning.readers import read_problem
    from egide.planning.solver import solve

    problem = read_problem(file, fmt)
    solution = solve(problem, time_limit=time_limit, seed=seed, max_iterations=max_iterations)
    written = _write(problem, solution, out, file.stem)
    _print(problem, solution, as_json, written)


@plan_app.command("show")
def show(
    plan: Annotated[Path, typer.Argument(help="A plan file written by `egide plan routes`.")],
    as_json: AsJson = False,
) -> None:
    """Show a plan file, re-checked by the independent validator."""
    from egide.planning.validate import validate

    problem, solution = _read_plan(plan)
    report = validate(problem, solution)
    if not report.ok:
        raise InvalidInput(
            f"{plan}: the plan breaks its problem's constraints: "
            + "; ".join(report.violations[:5])
        )
    _print(problem, solution, as_json, [])


@plan_app.command("replan")
def replan_command(
    plan: Annotated[Path, typer.Argument(help="The previous plan file.")],
    set_demand: Annotated[
        list[str] | None,
        typer.Option("--set", help="New quantity: DEMAND:DIMENSION=QUANTITY (repeatable)."),
    ] = None,
    drop: Annotated[list[str] | None, typer.Option(help="Demand no longer to serve.")] = None,
    lose: Annotated[list[str] | None, typer.Option(help="Vehicle no longer available.")] = None,
    time_limit: TimeLimit = 10.0,
    seed: Seed = 0,
    max_iterations: Iterations = None,
    as_json: AsJson = False,
    out: OutDir = Path("."),
) -> None:
    """Re-solve a plan after changes, starting from it, and show what moved."""
    from egide.planning.replan import Changes, replan

    problem, previous = _read_plan(plan)
    quantities: dict[str, dict[str, float]] = {}
    for item in set_demand or []:
        match = re.fullmatch(r"([^:]+):([^=]+)=([0-9.eE+-]+)", item)
        if match is None:
            raise InvalidInput(
                f"--set {item!r}: write DEMAND:DIMENSION=QUANTITY, e.g. U3:fuel=1200"
            )
        try:
            value = float(match.group(3))
        except ValueError:
            raise InvalidInput(f"--set {item!r}: {match.group(3)!r} is not a number") from None
        quantities.setdefault(match.group(1), {})[match.group(2)] = value
    changes = Changes(quantities=quantities, dropped=drop or [], lost_vehicles=lose or [])
    changed, solution, difference = replan(
        problem, previous, changes, time_limit, seed, max_iterations
    )
    stem = plan.name.removesuffix(".json").removesuffix(".plan") + "-replan"
    written = _write(changed, solution, out, stem)
    if as_json:
        typer.echo(json.dumps({**_summary(solution), "diff": difference.to_dict()}, indent=2))
        return
    _print(changed, solution, False, written)
    console = Console()
    console.print(
        f"cost {difference.cost_before:.2f} -> {difference.cost_after:.2f} "
        f"({difference.cost_delta:+.2f})",
        highlight=False,
    )
    for demand, before, after in difference.moved:
        console.print(
            f"  {demand}: {before or 'unserved'} -> {after or 'unserved'}", highlight=False
        )
    if not difference.moved:
        console.print("  no stop changed vehicle", highlight=False)


@plan_app.command("propose")
def propose_command(
    file: Annotated[
        Path, typer.Argument(help="A plan file (PLAN.plan.json) or a problem file (.json).")
    ],
    title: Annotated[str, typer.Option(help="The proposal's title.")],
    label: Annotated[
        str | None, typer.Option(help="Label of the input (default: yours, else home).")
    ] = None,
    rationale: Annotated[str, typer.Option(help="Why this plan (shown to approvers).")] = "",
    time_limit: TimeLimit = 10.0,
    seed: Seed = 0,
    api_key: ApiKey = None,
) -> None:
    """Store a plan at a label and propose it for approval (a problem file is solved first)."""
    from egide.cli.context import authenticated, initialised_platform
    from egide.planning.codec import PLAN_FORMAT, loads_problem

    platform = initialised_platform()
    me = authenticated(api_key, "proposing a logistics plan")
    given = platform.policies.parse(label) if label else None
    if not file.is_file():
        raise InvalidInput(f"{file}: no such file")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{file}: not UTF-8 text") from None
    service = platform.planning
    if f'"{PLAN_FORMAT}"' in text:
        problem, solution = loads_plan(text, str(file))
        plan = service.store(me, problem, solution, label=given)
    else:
        plan = service.solve(
            me, loads_problem(text, str(file)), label=given, time_limit=time_limit, seed=seed
        )
    proposal = service.propose(me, plan.id, title, rationale)
    console = Console()
    console.print(
        f"plan {plan.id} stored at {plan.label}; proposal {proposal.id} "
        f"({proposal.kind}, {proposal.state}, {proposal.required_approvals} approval(s) needed)",
        highlight=False,
    )


@plan_app.command("schema")
def schema_command() -> None:
    """Print the JSON schema of a problem file."""
    typer.echo(json.dumps(schema(), indent=2, ensure_ascii=False))


def _read_plan(path: Path) -> tuple[Problem, Solution]:
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text") from None
    return loads_plan(text, str(path))


def _write(problem: Problem, solution: Solution, out: Path, stem: str) -> list[Path]:
    from egide.planning.svg import render_svg

    try:
        out.mkdir(parents=True, exist_ok=True)
        document = out / f"{stem}.plan.json"
        picture = out / f"{stem}.plan.svg"
        document.write_text(
            json.dumps(plan_document(problem, solution), indent=1, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
        picture.write_text(render_svg(problem, solution), encoding="utf-8")
    except OSError as error:
        raise InvalidInput(f"cannot write the plan to {out}: {error.strerror}") from None
    return [document, picture]


def _summary(solution: Solution) -> dict[str, object]:
    data = solution.to_dict()
    return {
        "cost": data["cost"],
        "gap_to_bound": data["gap_to_bound"],
        "status": data["status"],
        "routes": data["routes"],
        "unserved": data["unserved"],
        **{
            k: v
            for k, v in data.items()
            if k not in ("cost", "gap_to_bound", "status", "routes", "unserved")
        },
    }


def _print(problem: Problem, solution: Solution, as_json: bool, written: list[Path]) -> None:
    if as_json:
        typer.echo(json.dumps(_summary(solution), indent=2, ensure_ascii=False))
        return
    console = Console()
    table = Table(title=f"{problem.name or 'plan'}: {solution.status}, cost {solution.cost:.2f}")
    for column in ("vehicle", "from", "stops", "distance", "leaves", "back", "cost"):
        table.add_column(
            column, justify="left" if column in ("vehicle", "from", "stops") else "right"
        )
    for route in solution.routes:
        stops = " ".join(s.demand for s in route.stops)
        table.add_row(
            route.vehicle,
            route.start_depot,
            stops if len(stops) <= 60 else stops[:57] + "…",
            f"{route.distance:.1f}",
            f"{route.departure:.0f}",
            f"{route.arrival:.0f}",
            f"{route.cost:.2f}",
        )
    console.print(table)
    for item in solution.unserved:
        console.print(f"unserved {item.demand}: {item.reason}", highlight=False, markup=False)
    for transfer in solution.transfers:
        console.print(
            f"transfer {transfer.quantity:g} {transfer.dimension} "
            f"{transfer.source} -> {transfer.target}",
            highlight=False,
            markup=False,
        )
    gap = "unknown" if solution.gap_to_bound is None else f"{solution.gap_to_bound:.2%}"
    console.print(
        f"solver {solution.solver.get('name')} "
        f"{solution.solver.get('runtime_s', 0):.1f} s, gap to bound: {gap}",
        highlight=False,
    )
    for path in written:
        console.print(f"wrote {path}", highlight=False, markup=False)
