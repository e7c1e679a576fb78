"""`egide proposals export` through the real console script: approved only, never clobbering."""

from __future__ import annotations

import os
import subprocess
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from egide.app import Platform
from egide.core.principals import Role
from egide.settings import Settings
from tests.cli.test_cli import EGIDE


@pytest.fixture
def installed(data_dir: Path) -> tuple[dict[str, str], int]:
    """A data directory with an analyst's proposal, a chef to approve it, and their keys."""
    platform = Platform(Settings(data_dir=data_dir))
    platform.initialise()
    keys = {}
    for name, role in [
        ("analyst", Role.ANALYST),
        ("chef", Role.APPROVER),
        ("adjoint", Role.APPROVER),
    ]:
        platform.identity.add_user(
            "test", name, clearance=platform.policies.parse_clearance("SECRET"), roles=[role]
        )
        _, keys[name] = platform.identity.create_key("test", name)
    proposal = platform.proposals.create(
        platform.identity.principal("analyst"),
        kind="report",
        title="Synthèse « Osna »",
        content={"text": "Le bataillon s’est regroupé — été 2026.\n\nRien à signaler à Marsk."},
        label=platform.policies.parse("SECRET"),
    )
    platform.close()
    return keys, proposal.id


def egide(data_dir: Path, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EGIDE_DATA_DIR": str(data_dir), "EGIDE_API_KEY": key, "COLUMNS": "200"}
    env.pop("EGIDE_DATABASE_URL", None)
    return subprocess.run(
        [EGIDE, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _one_line(done: subprocess.CompletedProcess[str], code: int, needle: str) -> None:
    assert done.returncode == code, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], done.stderr


def test_export_refused_then_written_once(
    data_dir: Path, tmp_path: Path, installed: tuple[dict[str, str], int]
) -> None:
    keys, pid = installed
    out = tmp_path / "out" / "synthese.pdf"
    out.parent.mkdir()
    export = ("proposals", "export", str(pid), "--format", "pdf", "--out", str(out))
    _one_line(egide(data_dir, keys["analyst"], *export), 4, "not approved")
    assert list(out.parent.iterdir()) == []

    approve = ("proposals", "approve", str(pid), "--rationale", "recoupé")
    assert egide(data_dir, keys["chef"], *approve).returncode == 0
    # SECRET needs a second approver: still refused after one.
    _one_line(egide(data_dir, keys["analyst"], *export), 4, "not approved")
    assert egide(data_dir, keys["adjoint"], *approve).returncode == 0
    done = egide(data_dir, keys["analyst"], *export)
    assert done.returncode == 0, done.stderr
    pages = PdfReader(BytesIO(out.read_bytes())).pages
    text = " ".join(pages[0].extract_text().split())
    assert text.startswith("SECRET") and text.endswith("SECRET")
    assert "(S) Le bataillon s’est regroupé — été 2026." in text

    # No overwrite without --force; nothing left behind either way.
    out.write_bytes(b"earlier")
    _one_line(egide(data_dir, keys["analyst"], *export), 6, "--force")
    assert out.read_bytes() == b"earlier"
    forced = egide(data_dir, keys["analyst"], *export, "--force")
    assert forced.returncode == 0, forced.stderr
    assert out.read_bytes().startswith(b"%PDF")
    assert [p.name for p in out.parent.iterdir()] == ["synthese.pdf"]

    _one_line(egide(data_dir, keys["analyst"], *export[:4], "odt"), 2, "markdown, pdf, docx")
