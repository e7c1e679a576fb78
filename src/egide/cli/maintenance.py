"""`egide maintenance train|predict`: remaining useful life with prediction intervals.

Both act on local files as the local operator and touch no installation: the
model directory and the predictions file are the whole result. The service
layer (labels, journal, proposals) is built on the same engine, not here.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from egide.cli.context import ApiKey
from egide.errors import ConfigurationError, InvalidInput

maintenance_app = typer.Typer(
    help="Maintenance forecasting: remaining useful life of a fleet, with intervals.",
    no_args_is_help=True,
)


@maintenance_app.command("train")
def train_command(
    train_file: Annotated[
        Path,
        typer.Option("--train", help="Run-to-failure histories: C-MAPSS .txt, .csv or .parquet."),
    ],
    out: Annotated[Path, typer.Option(help="New directory for the model.")] = Path("rul-model"),
    seed: Annotated[int, typer.Option(help="Seed of the unit split and the boosters.")] = 0,
    rounds: Annotated[int, typer.Option(help="Boosting rounds per fold (1-10000).")] = 300,
    label: Annotated[
        list[str] | None,
        typer.Option(
            help="Label of the training data (repeat for several; the model gets their "
            "join). Registers the model through the platform, journaled, as the API key's "
            "holder; without it the model is trained locally and left unlabelled."
        ),
    ] = None,
    api_key: ApiKey = None,
) -> None:
    """Train a RUL model, calibrate its intervals, and print its validation report."""
    _require_engine()
    if label:
        _train_registered(train_file, out, seed, rounds, label, api_key)
        return
    from egide.forecasting.histories import describe
    from egide.forecasting.importing import read_histories
    from egide.forecasting.storage import data_file, save
    from egide.forecasting.training import TrainingConfig, train

    if not 1 <= rounds <= 10_000:
        raise InvalidInput(f"--rounds {rounds} is outside 1..10000")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InvalidInput(f"{out} already exists and is not empty; choose another --out")
    histories = read_histories(train_file)
    description = describe(histories)
    for line in description.lines():
        typer.echo(line, err=True)
    config = TrainingConfig(seed=seed, rounds=rounds)
    trained = train(histories, config)
    save(
        trained.model,
        out,
        data=[data_file(train_file, histories.rows, description.units)],
        training={**config.to_json(), "seconds": round(trained.seconds, 2)},
        split=trained.split.to_json(),
        report=trained.report,
        description=description.to_json(),
    )
    r = trained.report
    typer.echo(
        f"validation on {r['units']} held-out units ({r['cuts']} cut points): "
        f"RMSE {r['rmse']:.2f} cycles, NASA score {r['nasa_score_per_unit']:.2f} per forecast"
    )
    for level, item in r["intervals"].items():
        typer.echo(
            f"  {level} % interval: coverage {item['coverage'] * 100:.1f} %, "
            f"mean width {item['mean_width']:.1f} cycles"
        )
    typer.echo(f"trained in {trained.seconds:.1f} s; model written to {out}")


@maintenance_app.command("predict")
def predict_command(
    model: Annotated[Path, typer.Option(help="Model directory from `egide maintenance train`.")],
    test: Annotated[
        Path, typer.Option(help="Histories of units in service (.txt, .csv, .parquet).")
    ],
    out: Annotated[Path, typer.Option(help="Predictions CSV to write.")] = Path("predictions.csv"),
    horizon: Annotated[
        int | None,
        typer.Option(help="Also give each unit's probability of failing within this many cycles."),
    ] = None,
) -> None:
    """Forecast each unit's remaining useful life at its last observed cycle."""
    _require_engine()
    from egide.forecasting.importing import read_histories
    from egide.forecasting.storage import load

    stored = load(model)
    histories = read_histories(test)
    forecast = stored.model.forecast(histories, horizon=horizon)
    rows = forecast.rows()
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    _write_atomically(out, buffer.getvalue())
    typer.echo(f"{len(rows)} units forecast; written to {out}")


@maintenance_app.command("rank")
def rank_command(
    model: Annotated[Path, typer.Option(help="Model directory from `egide maintenance train`.")],
    test: Annotated[
        Path, typer.Option(help="Histories of units in service (.txt, .csv, .parquet).")
    ],
    horizon: Annotated[
        int, typer.Option(help="Rank by probability of failing within this many cycles.")
    ] = 30,
    out: Annotated[
        Path | None,
        typer.Option(help="New directory for ranking.json and one SVG plot per unit."),
    ] = None,
) -> None:
    """Rank units by probability of failure within a horizon, with sensor evidence."""
    _require_engine()
    import json

    from egide.forecasting.importing import read_histories
    from egide.forecasting.risk import rank
    from egide.forecasting.storage import load

    if out is not None:
        _check_new_directory(out)
    stored = load(model)
    ranking = rank(stored.model, read_histories(test), horizon)
    for line in ranking.lines():
        typer.echo(line)
    if out is not None:
        files = {f"unit-{unit}.svg": text for unit, text in ranking.plots.items()}
        files["ranking.json"] = json.dumps(ranking.to_json(), indent=1, ensure_ascii=False) + "\n"
        _write_directory(out, files)
        typer.echo(f"{len(ranking.plots)} plots and ranking.json written to {out}")


@maintenance_app.command("plan")
def plan_command(
    model: Annotated[Path, typer.Option(help="Model directory from `egide maintenance train`.")],
    test: Annotated[
        Path, typer.Option(help="Histories of units in service (.txt, .csv, .parquet).")
    ],
    workshop: Annotated[Path, typer.Option(help="Workshop JSON: periods and slots, stock, costs.")],
    lang: Annotated[str, typer.Option(help="Language of the explanation: fr or en.")] = "en",
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    out: Annotated[
        Path | None,
        typer.Option(help="New directory for plan.json, explanation.txt and the SVG plots."),
    ] = None,
) -> None:
    """Plan which units to service in which period, within slots and spare parts."""
    _require_engine()
    import json

    from egide.forecasting.importing import read_histories
    from egide.forecasting.schedule import explain, parse_workshop, plan_fleet
    from egide.forecasting.storage import load

    if lang not in ("fr", "en"):
        raise InvalidInput(f"--lang {lang!r}: choose fr or en")
    if out is not None:
        _check_new_directory(out)
    shop = parse_workshop(_read_json(workshop), str(workshop))
    stored = load(model)
    result = plan_fleet(stored.model, read_histories(test), shop)
    explanation = explain(result.plan, lang)
    document = {
        "plan": result.plan.to_json(),
        "ranking": result.ranking.to_json(),
        "explanation": explanation,
        "model": stored.manifest["content_sha256"],
    }
    if as_json:
        typer.echo(json.dumps(document, indent=1, ensure_ascii=False))
    else:
        typer.echo(f"{'unit':>5} {'period':>12} {'kind':>12} {'p_fail':>7} {'rul':>6}  note")
        for d in result.plan.decisions:
            note = "risk accepted" if d.risk_accepted else ""
            typer.echo(
                f"{d.unit:>5} {d.period_name or '-':>12} {d.kind:>12} "
                f"{d.p_fail_before:>7.3f} {d.rul:>6.1f}  {note}"
            )
        typer.echo("")
        typer.echo(explanation)
    if out is not None:
        files = {f"unit-{unit}.svg": text for unit, text in result.ranking.plots.items()}
        files["plan.json"] = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
        files["explanation.txt"] = explanation + "\n"
        _write_directory(out, files)
        typer.echo(
            f"plan, explanation and {len(result.ranking.plots)} plots written to {out}", err=True
        )


def _read_json(path: Path) -> object:
    import json

    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    if path.stat().st_size > 1_000_000:
        raise InvalidInput(f"{path}: larger than 1 MB; not a workshop description")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidInput(f"{path}: not valid JSON ({error})") from None


def _train_registered(
    train_file: Path, out: Path, seed: int, rounds: int, labels: list[str], api_key: str | None
) -> None:
    from egide.cli.context import authenticated, initialised_platform

    platform = initialised_platform()
    me = authenticated(api_key, "training a maintenance model")
    parsed = [platform.policies.parse(text) for text in labels]
    done = platform.maintenance.train(me, train_file, out, labels=parsed, seed=seed, rounds=rounds)
    r = done.manifest["validation"]
    typer.echo(
        f"validation on {r['units']} held-out units: RMSE {r['rmse']:.2f} cycles; "
        f"model {done.manifest['content_sha256'][:16]}… labelled "
        f"{platform.policies.format(done.label, 'en')}, written to {out} and journaled"
    )


@maintenance_app.command("propose")
def propose_command(
    model: Annotated[Path, typer.Option(help="Labelled model directory (train with --label).")],
    test: Annotated[
        Path, typer.Option(help="Histories of units in service (.txt, .csv, .parquet).")
    ],
    workshop: Annotated[Path, typer.Option(help="Workshop JSON: periods and slots, stock, costs.")],
    label: Annotated[
        list[str],
        typer.Option(help="Label of the fleet data (repeat for several)."),
    ],
    lang: Annotated[str, typer.Option(help="Language of the explanation: fr or en.")] = "en",
    title: Annotated[str | None, typer.Option(help="Title of the proposal.")] = None,
    api_key: ApiKey = None,
) -> None:
    """Plan the workshop and propose the plan for a human decision (kind maintenance-plan)."""
    _require_engine()
    from egide.cli.context import authenticated, initialised_platform

    platform = initialised_platform()
    me = authenticated(api_key, "proposing a maintenance plan")
    parsed = [platform.policies.parse(text) for text in label]
    shop = _read_json(workshop)
    done = platform.maintenance.propose(
        me, model=model, fleet=test, fleet_labels=parsed, workshop=shop, lang=lang, title=title
    )
    typer.echo(done.explanation)
    p = done.proposal
    typer.echo(
        f"proposal {p.id} ({p.kind}, {p.marking}) is {p.state}; "
        f"it needs {p.required_approvals} approval(s): egide proposals approve {p.id}"
    )


def _check_new_directory(path: Path) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise InvalidInput(f"{path} already exists and is not empty; choose another --out")
    if not path.parent.is_dir():
        raise InvalidInput(f"{path.parent}: no such directory for --out")


def _write_directory(path: Path, files: dict[str, str]) -> None:
    """Write `files` into a new directory `path`, all or nothing."""
    import shutil

    _check_new_directory(path)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
        if path.exists():
            path.rmdir()
        os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _require_engine() -> None:
    """The forecasting libraries are an optional extra: say how to install them."""
    try:
        import lightgbm  # noqa: F401
        import numpy  # noqa: F401
    except ImportError:
        raise ConfigurationError(
            "maintenance forecasting needs LightGBM and NumPy; install them with "
            "`pip install 'egide[forecasting]'`"
        ) from None


def _write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` whole or not at all."""
    if path.is_dir():
        raise InvalidInput(f"{path} is a directory; give a file name for --out")
    if not path.parent.is_dir():
        raise InvalidInput(f"{path.parent}: no such directory for --out")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
