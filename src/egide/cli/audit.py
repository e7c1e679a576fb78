"""`egide audit list`, `tail`, `verify`, `export` and `public-key`."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from egide.audit import VerificationReport, public_key_from_text, verify_file
from egide.audit.chain import AuditEntry, format_time
from egide.audit.service import AuditQuery
from egide.audit.witness import FileWitness
from egide.cli.context import ApiKey, authenticated, initialised_platform, local_actor
from egide.errors import InvalidInput

audit_app = typer.Typer(
    help="Read, verify and export the tamper-evident audit journal.", no_args_is_help=True
)

Json = Annotated[bool, typer.Option("--json", help="One JSON object per entry, as exported.")]


@audit_app.command("list")
def list_entries(
    api_key: ApiKey = None,
    actor: Annotated[str | None, typer.Option(help="Only this actor, e.g. user:alice.")] = None,
    action: Annotated[
        str | None, typer.Option(help="Only actions starting with this, e.g. proposal.")
    ] = None,
    object: Annotated[
        str | None, typer.Option("--object", help="Only entries touching it, e.g. proposal:12.")
    ] = None,
    since: Annotated[
        datetime | None, typer.Option(help="From this time (UTC unless a zone is given).")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(help="Before this time (UTC unless a zone is given).")
    ] = None,
    after: Annotated[int, typer.Option(help="Only entries after this sequence number.")] = 0,
    limit: Annotated[int, typer.Option(help="At most this many entries (1-1000).")] = 100,
    as_json: Json = False,
) -> None:
    """Journal entries your clearance dominates, oldest first (needs the auditor role)."""
    query = AuditQuery(
        actor=actor,
        action=action,
        object=object,
        since=_utc(since),
        until=_utc(until),
        after_seq=after,
        limit=limit,
    )
    _show(query, api_key, as_json)


@audit_app.command("tail")
def tail(
    api_key: ApiKey = None,
    lines: Annotated[int, typer.Option("-n", "--lines", help="How many entries (1-1000).")] = 20,
    action: Annotated[
        str | None, typer.Option(help="Only actions starting with this, e.g. audit.")
    ] = None,
    as_json: Json = False,
) -> None:
    """The newest journal entries your clearance dominates (needs the auditor role)."""
    _show(AuditQuery(action=action, limit=lines, newest_first=True), api_key, as_json)


def _show(query: AuditQuery, api_key: str | None, as_json: bool) -> None:
    me = authenticated(api_key, "reading the audit journal")
    page = initialised_platform().audit.entries(me, query)
    entries = sorted(page.entries, key=lambda entry: entry.seq)
    for entry in entries:
        typer.echo(json.dumps(entry.to_json(), ensure_ascii=False) if as_json else _line(entry))
    if page.has_more and not as_json:
        more = "older" if query.newest_first else f"more: add --after {entries[-1].seq}"
        typer.echo(f"({more} entries match)", err=True)


def _line(entry: AuditEntry) -> str:
    objects = ",".join(entry.objects) or "-"
    fields = (str(entry.seq), format_time(entry.time), entry.actor, entry.action, objects)
    return "\t".join(fields) + f"\t[{entry.label}]"


def _utc(moment: datetime | None) -> datetime | None:
    """A command-line time without a zone is read as UTC (the journal's zone)."""
    if moment is None or moment.utcoffset() is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@audit_app.command("verify")
def verify(
    file: Annotated[
        Path | None, typer.Option("--file", help="Verify an exported JSON-lines file offline.")
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(help="PEM public key to trust for --file (default: the key in the file)."),
    ] = None,
    witness: Annotated[
        Path | None,
        typer.Option(
            help="Witness file of seals to check against (default: EGIDE_AUDIT_WITNESS_FILE; "
            "with --file: none)."
        ),
    ] = None,
) -> None:
    """Exit 0 when the journal verifies; otherwise name the first bad entry and exit 9."""
    chosen = FileWitness(witness) if witness is not None else None
    if file is not None:
        trusted = [public_key_from_text(_read(public_key))] if public_key else None
        seals = chosen.seals() if chosen is not None else None
        name = chosen.description if chosen is not None else None
        report = verify_file(file, trusted_keys=trusted, witnessed=seals, witness_name=name)
    else:
        current = initialised_platform()
        with current.database.transaction() as session:
            report = current.journal.verify(session, witness=chosen)
    _report(report)


def _report(report: VerificationReport) -> None:
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if report.ok:
        witnessed = f", {report.witnessed} witness seals" if report.witnessed is not None else ""
        typer.echo(
            f"ok: {report.entries} entries, {report.checkpoints} signed checkpoints"
            f"{witnessed} verified"
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
