"""How to exercise each `egide` command as each kind of caller: one entry per command.

A command added to the Typer app without an entry here (or in `LOCAL`, with
the reason it acts as the local operator rather than as a person) fails
`test_cli_enforcement.py::test_every_command_has_a_case`. A case gives the
command's arguments for a caller (`args(world, caller, context)`, the key is
passed by the runner), the journal actions it writes, and who must be refused.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from egide.cli import context
from egide.cli.main import app
from egide.errors import EgideError
from tests.enforcement.world import PLAN_PROBLEM, WRONG_ROLES, World

Args = Callable[[World, str | None, Any], list[str]]


@dataclass(frozen=True)
class CliCase:
    """One command: who may run it, who must be refused, what the journal must show.

    Attributes mirror `api_cases.Case`; exit codes are those of `egide.errors`
    (3: no valid credential, 4: forbidden, 5: not found).
    """

    command: str
    actions: tuple[str, ...]
    args: Args
    ok: str = "analyst"
    wrong_roles: tuple[str, ...] = WRONG_ROLES
    under: str | None = "low"
    wrong_org: str | None = None
    prepare: Callable[[World], Any] | None = None


def _label(caller: str | None) -> list[str]:
    return ["--label", "TRÈS SECRET"] if caller in ("low", "lowapprover") else []


def _fixed(*args: str) -> Args:
    return lambda world, caller, ctx: list(args)


def _ask(world: World, caller: str | None, _: Any) -> list[str]:
    return ["ask", "Où s'installe le poste de commandement ?", "-c", "cpcoonly", *_label(caller)]


def _search(world: World, caller: str | None, _: Any) -> list[str]:
    return ["search", "Opération HIBOU", "-c", "cpcoonly"]


def _synthesize(world: World, caller: str | None, _: Any) -> list[str]:
    document = str(world.secret_document)
    return [
        "synthesize",
        "Où s'installe le poste de commandement ?",
        "-d",
        document,
        *_label(caller),
    ]


def _chat(world: World, caller: str | None, _: Any) -> list[str]:
    return ["chat", "Bonjour", "--model", "echo-secret", *_label(caller)]


def _ingest(world: World, caller: str | None, folder: Path) -> list[str]:
    return ["ingest", str(folder), "-c", "cpcoonly", "--label", "NP"]


def _scratch(world: World, what: str) -> Path:
    """A new folder beside the world's data directory (removed with the test's files)."""
    return Path(tempfile.mkdtemp(prefix=f"{what}-", dir=world.platform.settings.data_dir.parent))


def _problem_file(world: World) -> Path:
    path = _scratch(world, "plan") / "problem.json"
    path.write_text(json.dumps(PLAN_PROBLEM), "utf-8")
    return path


def _plan_propose(world: World, caller: str | None, problem: Path) -> list[str]:
    label = "TRÈS SECRET" if caller == "low" else "SECRET"
    return [
        "plan",
        "propose",
        str(problem),
        "--title",
        "Ravitaillement",
        "--label",
        label,
        "--time-limit",
        "0.2",
    ]


def _note(world: World) -> Path:
    folder = _scratch(world, "note")
    (folder / f"note-{world.mark()}.txt").write_text("NON PROTÉGÉ\n\nUne note.\n", "utf-8")
    return folder


def _proposal(verb: str, *extra: str) -> Args:
    return lambda world, caller, pid: ["proposals", verb, str(pid), *extra]


def _amend(world: World, caller: str | None, pid: Any) -> list[str]:
    path = _scratch(world, "amend") / "content.json"
    path.write_text('{"text": "autre"}', "utf-8")
    return ["proposals", "amend", str(pid), "--content", str(path), "--rationale", "précision"]


def _export(world: World, caller: str | None, pid: Any) -> list[str]:
    out = _scratch(world, "export") / f"proposal-{pid}.md"
    return ["proposals", "export", str(pid), "--out", str(out)]


def _replace(world: World, caller: str | None, did: Any) -> list[str]:
    # The under-cleared caller names the TRÈS SECRET document it may not read.
    target = world.secret_document if caller in ("low", "lowapprover") else did
    folder = _scratch(world, "version")
    (folder / f"version-{world.mark()}.txt").write_text("SECRET\n\nMise à jour.\n", "utf-8")
    return ["ingest", str(folder), "-c", "cpcoonly", "--replace", str(target)]


def _documents(world: World, caller: str | None, _: Any) -> list[str]:
    # The outsider names the collection its organisation is kept out of.
    return ["documents", "list", *(["-c", "cpcoonly"] if caller == "outsider" else [])]


def _on_document(*args: str) -> Args:
    # Without a prepared document the command names the TRÈS SECRET one of `cpcoonly`.
    def build(world: World, caller: str | None, did: Any) -> list[str]:
        verb, *rest = args
        return ["documents", verb, str(did or world.secret_document), *rest]

    return build


_DECIDERS = ("analyst", "norole", "auditor", "operator")
# Document reads: analyst, admin, approver (evidence), classifier.
_NOT_READER = ("norole", "auditor", "operator")
_NOT_CLASSIFIER = ("analyst", "approver", "auditor", "operator", "norole", "scoped")
_NOT_AUDITOR = ("analyst", "approver", "classifier", "operator", "norole")

_MAINTENANCE: dict[Path, dict[str, Path]] = {}


def _maintenance(world: World) -> dict[str, Path]:
    """A SECRET RUL model trained through the service, a fleet and a workshop (once per world)."""
    import json

    from tests.forecasting.fleet import fleet, in_service, lives, write_cmapss

    key = world.platform.settings.data_dir
    if key not in _MAINTENANCE:
        folder = _scratch(world, "maintenance")
        write_cmapss(fleet(20, seed=11), str(folder / "train.txt"))
        full = fleet(4, seed=5, first_unit=100)
        write_cmapss(in_service(full, dict.fromkeys(lives(full), 40)), str(folder / "fleet.txt"))
        shop = {
            "cycles_per_period": 10,
            "periods": [{"name": "J1", "slots": 1}],
            "failure_cost": 1000,
            "service_kinds": {"revision": {"cost": 10, "parts": {}}},
            "stock": {},
        }
        (folder / "workshop.json").write_text(json.dumps(shop), encoding="utf-8")
        world.platform.maintenance.train(
            world.principal("admin"),
            folder / "train.txt",
            folder / "model",
            labels=[world.platform.policies.parse("SECRET")],
            rounds=20,
        )
        _MAINTENANCE[key] = {n: folder / n for n in ("model", "fleet.txt", "workshop.json")}
    return _MAINTENANCE[key]


def _propose(world: World, caller: str | None, files: dict[str, Path]) -> list[str]:
    return [
        "maintenance",
        "propose",
        "--model",
        str(files["model"]),
        "--test",
        str(files["fleet.txt"]),
        "--workshop",
        str(files["workshop.json"]),
        "--label",
        "SECRET",
    ]


CLI_CASES: tuple[CliCase, ...] = (
    CliCase("maintenance propose", ("maintenance.plan",), _propose, prepare=_maintenance),
    CliCase("ask", ("knowledge.ask",), _ask, wrong_org="outsider"),
    CliCase("search", ("knowledge.search",), _search, under=None, wrong_org="outsider"),
    CliCase("synthesize", ("synthesis.report",), _synthesize, wrong_org="outsider"),
    CliCase(
        "plan propose",
        ("plan.solve", "plan.propose", "plan.read", "proposal.create"),
        _plan_propose,
        prepare=_problem_file,
    ),
    CliCase("chat", ("inference.chat",), _chat),
    CliCase(
        "ingest",
        ("document.ingest",),
        _ingest,
        wrong_roles=("norole", "auditor", "operator", "scoped"),
        under=None,  # an unmarked note labelled NP: see the knowledge tests for clearances
        wrong_org="outsider",
        prepare=_note,
    ),
    CliCase(
        "ingest",
        ("document.replace", "document.ingest"),
        _replace,
        wrong_roles=_NOT_READER,
        wrong_org="outsider",
        prepare=lambda w: w.document("SECRET"),
    ),
    CliCase(
        "documents list",
        ("document.list",),
        _documents,
        wrong_roles=_NOT_READER,
        under=None,  # a listing filters by label in its SQL; `test_gaps.py` checks it
        wrong_org="outsider",
    ),
    CliCase(
        "documents show",
        ("document.read",),
        _on_document("show"),
        wrong_roles=_NOT_READER,
        wrong_org="outsider",
    ),
    CliCase(
        "documents relabel",
        ("document.relabel",),
        _on_document("relabel", "TRÈS SECRET"),
        wrong_roles=_NOT_READER,
        wrong_org="outsider",
        prepare=lambda w: w.document("SECRET"),
    ),
    CliCase(
        "documents relabel",
        ("document.relabel",),
        _on_document("relabel", "NON PROTÉGÉ", "--rationale", "déclassé"),
        ok="classifier",
        wrong_roles=_NOT_CLASSIFIER,
        wrong_org="outsider",
        prepare=lambda w: w.document("SECRET"),
    ),
    CliCase(
        "documents delete",
        ("document.delete",),
        _on_document("delete", "--yes"),
        ok="classifier",
        wrong_roles=_NOT_CLASSIFIER,
        wrong_org="outsider",
        prepare=lambda w: w.document("SECRET"),
    ),
    CliCase(
        "audit list",
        ("audit.read",),
        _fixed("audit", "list", "--action", "document.", "--limit", "50"),
        ok="auditor",
        wrong_roles=_NOT_AUDITOR,
        under=None,  # entries are filtered by label in the SQL; `test_gaps.py` checks it
    ),
    CliCase(
        "audit tail",
        ("audit.read",),
        _fixed("audit", "tail", "-n", "5"),
        ok="auditor",
        wrong_roles=_NOT_AUDITOR,
        under=None,
    ),
    CliCase(
        "collections add",
        ("collection.create",),
        lambda world, caller, ctx: ["collections", "add", f"c{world.mark()}"],
        ok="admin",
        wrong_roles=("analyst", "approver", "auditor", "operator", "norole"),
        under=None,
    ),
    CliCase(
        "collections list",
        ("collection.list",),
        _fixed("collections", "list"),
        wrong_roles=("norole", "auditor", "operator", "scoped"),
        under=None,
    ),
    CliCase(
        "proposals list",
        ("proposal.list",),
        _fixed("proposals", "list"),
        wrong_roles=("norole", "operator"),
        under=None,
    ),
    CliCase(
        "proposals show",
        ("proposal.read",),
        _proposal("show"),
        wrong_roles=("norole", "operator"),
        prepare=lambda w: w.proposal("TRÈS SECRET"),
    ),
    CliCase(
        "proposals approve",
        ("proposal.approve",),
        _proposal("approve", "--rationale", "vu"),
        ok="approver",
        wrong_roles=_DECIDERS,
        under="lowapprover",
        prepare=lambda w: w.proposal("SECRET"),
    ),
    CliCase(
        "proposals reject",
        ("proposal.reject",),
        _proposal("reject", "--rationale", "non"),
        ok="approver",
        wrong_roles=_DECIDERS,
        under="lowapprover",
        prepare=lambda w: w.proposal("SECRET"),
    ),
    CliCase(
        "proposals amend",
        ("proposal.amend",),
        _amend,
        ok="approver",
        wrong_roles=_DECIDERS,
        under="lowapprover",
        prepare=lambda w: w.proposal("SECRET"),
    ),
    CliCase(
        "proposals export",
        ("proposal.release", "proposal.read"),
        _export,
        wrong_roles=("norole", "auditor", "operator"),
        prepare=lambda w: w.approved("TRÈS SECRET"),
    ),
)


def _watchlist(world: World, caller: str | None, _: Any) -> list[str]:
    label = "TRÈS SECRET" if caller == "low" else "NON PROTÉGÉ"
    return ["watchlist", "add", f"veille-cli-{world.mark()}", "convoi", "--label", label]


CLI_CASES += (
    CliCase("watchlist add", ("watchlist.create",), _watchlist),
    CliCase(
        "watchlist list",
        ("watchlist.list",),
        _fixed("watchlist", "list"),
        under=None,  # filtered by label in the SQL; tests/streams check it
    ),
    CliCase(
        "alerts tail",
        ("alert.read",),
        _fixed("alerts", "tail", "-n", "50"),
        under=None,  # filtered by label in the SQL; tests/streams check it
        prepare=lambda w: w.alert(),
    ),
    CliCase(
        "stream channels",
        ("stream.channels",),
        _fixed("stream", "channels"),
        under=None,  # counted from readable messages in the SQL; test_stream_leaks.py checks it
        prepare=lambda w: w.alert(),
    ),
    CliCase(
        "stream summary",
        ("stream.summary",),
        _fixed("stream", "summary", "logistique", "--window", "1h"),
        under=None,  # drawn from readable messages in the SQL; test_stream_leaks.py checks it
        prepare=lambda w: w.alert(),
    ),
)

_ROOT = (
    "the local operator (root of trust, docs/access.md); mutating steps journaled as local:<user>"
)
_PURE = "label arithmetic on its arguments: reads no stored data"
_FILES = (
    "the optimisation engine on the operator's own files: reads no stored data, writes only "
    "the plan files asked for; labelled, journaled plans come with the planning service"
)
# Commands that act as the local operator, not as an authenticated person, and why.
LOCAL: dict[str, str] = {
    "init": _ROOT,
    "orgs add": _ROOT,
    "orgs list": _ROOT,
    "users add": _ROOT,
    "users list": _ROOT,
    "users disable": _ROOT,
    "users enable": _ROOT,
    "keys create": _ROOT,
    "keys revoke": _ROOT,
    "keys list": _ROOT,
    "models import": _ROOT,
    "models demo": _ROOT,
    "models list": _ROOT,
    "models verify": _ROOT,
    "models disable": _ROOT,
    "models enable": _ROOT,
    "models keygen": "writes a key pair to files; touches no installation",
    "models sign": "signs a manifest file; touches no installation",
    "audit verify": _ROOT,
    "audit export": _ROOT,
    "audit public-key": "prints the journal's public key",
    "label join": _PURE,
    "label dominates": _PURE,
    "label show": _PURE,
    "label to-xml": _PURE,
    "label from-xml": _PURE,
    "policy show": "prints a loaded policy; reads no stored data",
    "stream run": "a worker acting as the local operator, like serve; each message it "
    "processes or quarantines is journaled as stream:<worker>",
    "worker streams": "the same command as stream run (its canonical name): a worker acting "
    "as the local operator, like serve; each message it processes or quarantines is "
    "journaled as stream:<worker>",
    "stream quarantine": _ROOT,
    "serve": "starts the API, whose routes are enumerated by test_api_enforcement.py",
    "demo": "builds a demonstration installation of its own",
    "bench retrieval": "builds a benchmark installation of its own",
    "bench scale": "builds a benchmark installation of its own",
    "bench planning": "solves benchmark instances from files; touches no installation",
    "plan routes": _FILES,
    "plan show": _FILES,
    "plan replan": _FILES,
    "plan schema": "prints the problem file's JSON schema",
    "maintenance train": "without --label: reads a local history file and writes an "
    "unlabelled model directory, touching no installation; with --label it trains through "
    "the maintenance service as the key's holder (tests/forecasting/test_service.py)",
    "maintenance predict": "reads local model and history files and writes a CSV; touches "
    "no installation (the forecasting service will label and journal)",
    "maintenance rank": "reads local model and history files and writes plots; touches "
    "no installation (the forecasting service will label and journal)",
    "maintenance plan": "reads local model, history and workshop files and prints a plan; "
    "touches no installation (`maintenance propose` goes through the service)",
}


def commands(group: Any = None, prefix: str = "") -> list[str]:
    """Every leaf command of the `egide` app, as space-separated paths."""
    group = group or typer.main.get_command(app)
    children = getattr(group, "commands", None)  # a group (Typer may vendor its own click)
    if not children:
        return [prefix.strip()]
    found: list[str] = []
    for name, command in sorted(children.items()):
        found += commands(command, f"{prefix} {name}")
    return found


@contextmanager
def _installation(world: World) -> Iterator[None]:
    settings = world.platform.settings
    env = {
        "EGIDE_DATA_DIR": str(settings.data_dir),
        "EGIDE_DATABASE_URL": str(settings.database_url),
        "EGIDE_EMBEDDINGS": "false",
        "EGIDE_DEPLOYMENTS": __import__("json").dumps(settings.deployments),
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    context.platform.cache_clear()
    try:
        yield
    finally:
        if context.platform.cache_info().currsize:
            context.platform().close()
        context.platform.cache_clear()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run(world: World, args: Sequence[str], caller: str | None) -> tuple[int, str]:
    """Run `egide ARGS` in-process as `caller` (its key in EGIDE_API_KEY); (exit code, output)."""
    env = {"EGIDE_API_KEY": world.tokens[caller] if caller else ""}
    with _installation(world):
        result = CliRunner().invoke(app, list(args), env=env)
    error = result.exception
    if isinstance(error, EgideError):
        return error.exit_code, f"{result.output}\n{error.message}"
    if error is not None and not isinstance(error, SystemExit):
        raise error
    return result.exit_code, result.output
