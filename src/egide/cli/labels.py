"""`egide label …` and `egide policy show`: the label algebra from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from egide.cli.context import policies
from egide.core import stanag4774
from egide.core.labels import join

label_app = typer.Typer(
    help="Parse, join, compare and convert security labels.", no_args_is_help=True
)
policy_app = typer.Typer(help="Inspect the loaded security policies.", no_args_is_help=True)

Lang = Annotated[str, typer.Option("--lang", help="Display language of markings: fr or en.")]


@label_app.command("join")
def join_command(markings: list[str], lang: Lang = "fr") -> None:
    """Print the high-water mark (join) of the given markings."""
    registry = policies()
    joined = join(*(registry.parse(m) for m in markings))
    typer.echo(registry.format(joined, lang=lang))


@label_app.command("dominates")
def dominates_command(a: str, b: str) -> None:
    """Exit 0 if marking A dominates marking B, 1 if not."""
    registry = policies()
    result = registry.parse(a).dominates(registry.parse(b))
    typer.echo("yes" if result else "no")
    raise typer.Exit(0 if result else 1)


@label_app.command("show")
def show_command(marking: str) -> None:
    """Show a marking in both languages, its portion mark and canonical form."""
    registry = policies()
    label = registry.parse(marking)
    typer.echo(f"fr:        {registry.format(label, lang='fr')}")
    typer.echo(f"en:        {registry.format(label, lang='en')}")
    typer.echo(f"portion:   {registry.portion(label)}")
    typer.echo(f"canonical: {registry.canonical(label)}")


@label_app.command("to-xml")
def to_xml_command(marking: str) -> None:
    """Write the STANAG 4774 confidentiality label of a marking to standard output."""
    registry = policies()
    sys.stdout.write(stanag4774.to_xml(registry.parse(marking), registry))


@label_app.command("from-xml")
def from_xml_command(
    path: Annotated[Path, typer.Argument(help="STANAG 4774 XML file, or - for standard input.")],
    lang: Lang = "fr",
) -> None:
    """Read a STANAG 4774 confidentiality label and print its marking."""
    registry = policies()
    text = sys.stdin.read() if str(path) == "-" else _read(path)
    label = stanag4774.from_xml(text, registry).label
    typer.echo(registry.format(label, lang=lang))


def _read(path: Path) -> str:
    from egide.errors import InvalidInput

    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInput(f"cannot read {path}: {error.strerror}; check the path") from None


@policy_app.command("show")
def policy_show(policy_id: Annotated[str | None, typer.Argument()] = None) -> None:
    """List the loaded policies, or the levels and categories of one."""
    registry = policies()
    console = Console()
    chosen = [registry.get(policy_id)] if policy_id else list(registry.policies())
    for policy in chosen:
        table = Table(title=f"{policy.id} — {policy.identifier}")
        table.add_column("rank")
        table.add_column("level (fr)")
        table.add_column("level (en)")
        table.add_column("portion")
        for rank, level in enumerate(policy.levels):
            table.add_row(str(rank), level.name_fr, level.name_en, level.portion)
        console.print(table)
        for category in policy.categories:
            values = ", ".join(sorted(category.values)) if category.values else "(open)"
            console.print(f"  {category.type.value} {category.name}: {values}")
        if policy.national:
            nationals = ", ".join(sorted(policy.default_nationality))
            start = policy.levels[policy.national_from].name_fr
            console.print(f"  originator control: {nationals} only, from {start}, unless REL TO")
        for other, values_map in sorted(policy.translations.items()):
            pairs = ", ".join(f"{mine}={theirs}" for mine, theirs in sorted(values_map.items()))
            console.print(f"  values in {other}: {pairs} (others kept as {policy.id}:VALUE)")
