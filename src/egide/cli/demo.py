"""`egide demo`: the exercise scenario on the embedded default, then the API."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from egide.app import Platform
from egide.settings import Settings


def demo(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Where the demo lives (default: $EGIDE_DATA_DIR or ~/.egide-demo)."),
    ] = None,
    serve: Annotated[bool, typer.Option(help="Serve the API afterwards.")] = True,
    port: Annotated[int, typer.Option(help="Port of the API.")] = 8000,
) -> None:
    """Load the fictional exercise corpus, answer questions at several clearances,
    approve and export a report — then serve the API on localhost."""
    from egide.demo.scenario import run_scenario, write_keys

    chosen = data_dir or Path(os.environ.get("EGIDE_DATA_DIR") or Path.home() / ".egide-demo")
    os.environ["EGIDE_DATA_DIR"] = str(chosen)
    platform = Platform(Settings(data_dir=chosen))
    result = run_scenario(platform, typer.echo)
    keys = write_keys(chosen, result.keys)
    typer.echo(f"\nAPI keys of the demo users: {keys}")
    typer.echo(
        "Try:  export EGIDE_DATA_DIR=" + str(chosen) + "\n"
        "      export EGIDE_API_KEY=$(grep ^analyste " + str(keys) + " | cut -f2)\n"
        '      egide ask "Quand le convoi CLOU-7 arrive-t-il ?"\n'
        "      egide proposals list"
    )
    platform.close()
    if serve:
        from egide.cli.serve import serve as run_server

        # Plain http on the loopback interface only: the console's cookies cannot be
        # Secure there (the setting refuses this anywhere but loopback).
        os.environ.setdefault("EGIDE_CONSOLE_SECURE_COOKIES", "false")
        typer.echo(
            f"\nConsole: http://127.0.0.1:{port}/  (sign in with a key from {keys}; "
            "e.g. analyste, approbateur, auditeur, admin)"
        )
        typer.echo(f"API:     http://127.0.0.1:{port}/v1  (Ctrl-C to stop)")
        run_server(host="127.0.0.1", port=port, workers=1, log_level="warning")
