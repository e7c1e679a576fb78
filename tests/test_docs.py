"""The operator documentation covers every setting and every command."""

from __future__ import annotations

from pathlib import Path

import typer

from egide.cli.main import app
from egide.settings import Settings

DOCS = Path(__file__).parents[1] / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    missing = [
        f"EGIDE_{n.upper()}" for n in Settings.model_fields if f"`EGIDE_{n.upper()}`" not in text
    ]
    assert not missing, f"document these settings in docs/configuration.md: {missing}"


def _commands(group: typer.Typer, prefix: str = "egide") -> list[str]:
    found = [f"{prefix} {c.name or c.callback.__name__}" for c in group.registered_commands]
    for sub in group.registered_groups:
        found += _commands(sub.typer_instance, f"{prefix} {sub.name}")
    return found


def test_every_command_is_documented() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.md"))
    missing = [c for c in _commands(app) if c not in text]
    assert not missing, f"document these commands in docs/: {missing}"
