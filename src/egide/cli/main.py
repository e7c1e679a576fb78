"""The `egide` command: one Typer app, one error handler.

Every deliberate error (`egide.errors.EgideError`) becomes a one-line message on
standard error and the exit code of its class; tracebacks are for bugs only.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.text import Text

from egide.cli import admin, audit, labels
from egide.cli import bench as bench_cli
from egide.cli import chat as chat_cli
from egide.cli import demo as demo_cli
from egide.cli import documents as documents_cli
from egide.cli import knowledge as knowledge_cli
from egide.cli import maintenance as maintenance_cli
from egide.cli import models as models_cli
from egide.cli import plan as plan_cli
from egide.cli import proposals as proposals_cli
from egide.cli import serve as serve_cli
from egide.cli import streams as streams_cli
from egide.cli import synthesis as synthesis_cli
from egide.errors import EgideError

app = typer.Typer(
    name="egide",
    help="Égide: sovereign generative AI with labelled data, a tamper-evident journal "
    "and human decisions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
admin.register(app)
app.add_typer(labels.label_app, name="label")
app.add_typer(labels.policy_app, name="policy")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(models_cli.models_app, name="models")
app.command("serve")(serve_cli.serve)
app.command("chat")(chat_cli.chat)
app.add_typer(proposals_cli.proposals_app, name="proposals")
app.add_typer(knowledge_cli.collections_app, name="collections")
app.command("ingest")(knowledge_cli.ingest)
app.add_typer(documents_cli.documents_app, name="documents")
app.command("search")(knowledge_cli.search_command)
app.command("ask")(knowledge_cli.ask)
app.command("synthesize")(synthesis_cli.synthesize)
app.command("demo")(demo_cli.demo)
app.add_typer(bench_cli.bench_app, name="bench")
app.add_typer(streams_cli.worker_app, name="worker")
app.add_typer(streams_cli.stream_app, name="stream")
app.add_typer(streams_cli.watchlist_app, name="watchlist")
app.add_typer(streams_cli.alerts_app, name="alerts")
app.add_typer(plan_cli.plan_app, name="plan")
app.add_typer(maintenance_cli.maintenance_app, name="maintenance")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except EgideError as error:
        # The message is plain text: markings such as "[CRYPTO]" must not be read as markup.
        line = Text.assemble(("error:", "bold red"), " ", error.message)
        Console(stderr=True, soft_wrap=True).print(line, highlight=False)
        sys.exit(error.exit_code)
