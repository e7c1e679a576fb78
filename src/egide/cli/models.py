"""`egide models import|demo|list|verify|disable|enable|sign|keygen`: the model registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from egide.cli.context import initialised_platform, local_actor
from egide.errors import IntegrityError

models_app = typer.Typer(
    help="Model registry: import verified weights, list, verify, kill switch.",
    no_args_is_help=True,
)


@models_app.command("import")
def import_model(
    path: Annotated[Path, typer.Argument(help="A .gguf file or a model directory.")],
    name: Annotated[str, typer.Option(help="Unique model name clients use.")],
    label: Annotated[str, typer.Option(help="Marking of the weights, e.g. SECRET.")],
    accreditation: Annotated[
        str | None, typer.Option(help="Highest working label it may process (default: label).")
    ] = None,
    version: Annotated[str | None, typer.Option(help="Version (default: manifest's).")] = None,
    manifest: Annotated[Path | None, typer.Option(help="Signed manifest JSON.")] = None,
    signature: Annotated[Path | None, typer.Option(help="Detached signature file.")] = None,
    in_place: Annotated[bool, typer.Option(help="Reference the files, do not copy.")] = False,
    licence: Annotated[str | None, typer.Option(help="Licence of the weights.")] = None,
    provenance: Annotated[str | None, typer.Option(help="Where the weights come from.")] = None,
) -> None:
    """Verify, copy and register a model from removable media."""
    info = initialised_platform().models.import_model(
        local_actor(),
        path,
        name=name,
        label=label,
        accreditation=accreditation,
        version=version,
        manifest=manifest,
        signature=signature,
        in_place=in_place,
        licence=licence,
        provenance=provenance,
    )
    typer.echo(f"imported {info.name} {info.version} ({info.format}, label {info.label_text})")


@models_app.command("demo")
def demo(
    in_place: Annotated[bool, typer.Option(help="Reference the package's file.")] = True,
) -> None:
    """Register the SmolLM2-135M demonstration model (not for operational use)."""
    from egide.modelhub import register_demo_model

    info = register_demo_model(initialised_platform().models, local_actor(), in_place=in_place)
    typer.echo(f"registered demo model {info.name} (label {info.label_text})")


@models_app.command("list")
def list_models() -> None:
    """Every registered model with its labels and state."""
    table = Table("name", "version", "format", "label", "accreditation", "state", "signed")
    for info in initialised_platform().models.list_models():
        state = "enabled" if info.enabled else f"DISABLED {info.disabled_reason}".strip()
        table.add_row(
            info.name + (" (demo)" if info.demo else ""),
            info.version,
            str(info.format),
            info.label_text,
            info.accreditation_text,
            state,
            "yes" if info.signed else "no",
        )
    Console(soft_wrap=True).print(table, highlight=False)


@models_app.command("verify")
def verify(
    name: Annotated[str | None, typer.Argument(help="One model (default: all).")] = None,
) -> None:
    """Re-hash the weights; exit 9 when any file was modified."""
    results = initialised_platform().models.verify(name)
    for result in results:
        typer.echo(f"{'ok' if result.ok else 'FAILED'}: {result.name} {result.problem}".rstrip())
    bad = [r for r in results if not r.ok]
    if bad:
        raise IntegrityError(f"{len(bad)} model(s) failed verification; re-import them")


@models_app.command("disable")
def disable(
    name: str,
    reason: Annotated[str, typer.Option(help="Why, shown to refused clients.")] = "",
) -> None:
    """Kill switch: every API process refuses the model within a second."""
    initialised_platform().models.disable(local_actor(), name, reason=reason)
    typer.echo(f"disabled {name}")


@models_app.command("enable")
def enable(name: str) -> None:
    """Turn the kill switch off."""
    initialised_platform().models.enable(local_actor(), name)
    typer.echo(f"enabled {name}")


@models_app.command("keygen")
def keygen(
    private_key: Annotated[Path, typer.Argument(help="Where to write the private key (PEM).")],
    public_key: Annotated[Path, typer.Argument(help="Where to write the public key (PEM).")],
) -> None:
    """Create a publisher key pair for signing model manifests."""
    from egide.modelhub import generate_publisher_key

    typer.echo(f"fingerprint {generate_publisher_key(private_key, public_key)}")


@models_app.command("sign")
def sign(
    path: Annotated[Path, typer.Argument(help="The model file or directory.")],
    private_key: Annotated[Path, typer.Option(help="Publisher's private key (PEM).")],
    name: Annotated[str, typer.Option(help="Model name in the manifest.")],
    version: Annotated[str, typer.Option(help="Model version.")],
    licence: Annotated[str, typer.Option(help="Licence of the weights.")],
    publisher: Annotated[str, typer.Option(help="Who vouches for the weights.")],
    provenance: Annotated[str, typer.Option(help="Where the weights come from.")],
    out_dir: Annotated[Path | None, typer.Option(help="Where to write the manifest.")] = None,
) -> None:
    """Write and sign a manifest for a model (what a publisher runs)."""
    from egide.modelhub import sign_model

    manifest, signature = sign_model(
        path,
        private_key,
        name=name,
        version=version,
        licence=licence,
        publisher=publisher,
        provenance=provenance,
        out_dir=out_dir,
    )
    typer.echo(f"manifest {manifest}\nsignature {signature}")
