"""`egide audit verify` and `egide audit export`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from egide.audit import public_key_from_text, verify_file
from egide.cli.context import initialised_platform, local_actor
from egide.errors import InvalidInput

audit_app = typer.Typer(
    help="Verify and export the tamper-evident audit journal.", no_args_is_help=True
)


@audit_app.command("verify")
def verify(
    file: Annotated[
        Path | None, typer.Option("--file", help="Verify an exported JSON-lines file offline.")
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(help="PEM public key to trust for --file (default: the key in the file)."),
    ] = None,
) -> None:
    """Exit 0 when the journal verifies; otherwise name the first bad entry and exit 9."""
    if file is not None:
        trusted = [public_key_from_text(_read(public_key))] if public_key else None
        report = verify_file(file, trusted_keys=trusted)
    else:
        current = initialised_platform()
        with current.database.transaction() as session:
            report = current.journal.verify(session)
    if report.ok:
        typer.echo(
            f"ok: {report.entries} entries, {report.checkpoints} signed checkpoints verified"
        )
        return
    typer.echo(
        f"BROKEN at entry {report.first_bad_seq} ({report.problem}): {report.message}", err=True
    )
    raise typer.Exit(9)


@audit_app.command("export")
def export(
    out: Annotated[Path, typer.Argument(help="File to write, or - for standard output.")],
) -> None:
    """Write the journal as JSON lines that verify offline with only the public key."""
    current = initialised_platform()
    with current.database.transaction() as session:
        # Taking a copy of the journal is itself an action worth recording.
        current.journal.append(
            session,
            actor=local_actor(),
            action="audit.export",
            objects=[],
            label=current.identity.admin_label,
            details={"to": str(out)},
        )
    with current.database.transaction() as session:
        if str(out) == "-":
            count = current.journal.export(session, sys.stdout)
        else:
            try:
                with out.open("w", encoding="utf-8") as handle:
                    count = current.journal.export(session, handle)
            except OSError as error:
                raise InvalidInput(f"cannot write {out}: {error.strerror}") from None
    typer.echo(f"exported {count} entries", err=True)


@audit_app.command("public-key")
def public_key_command() -> None:
    """Print the public key that verifies checkpoints, to hand to auditors out of band."""
    typer.echo(initialised_platform().signing_key.public_key_text().rstrip())


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInput(f"cannot read {path}: {error.strerror}; check the path") from None
