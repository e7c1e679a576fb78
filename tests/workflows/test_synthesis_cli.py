"""`egide synthesize` through the real console script, as the person whose key is given."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import Cli

NOTE = (
    "SECRET\n\nUn bataillon blindé adverse se regroupe dans la forêt de Dravna.\n\n"
    "(DR) Des habitants signalent des chars près de Dravna."
)


@pytest.mark.slow
def test_synthesize_from_the_terminal(data_dir: Path, tmp_path: Path) -> None:
    cli = Cli(data_dir, f"sqlite:///{data_dir / 'egide.db'}")
    key = cli.ok("init", "--org", "DRM", "--admin", "chef", "--clearance", "SECRET")
    key = key.strip().splitlines()[-1]
    (tmp_path / "note.txt").write_text(NOTE, encoding="utf-8")
    cli.ok("collections", "add", "osna", "--api-key", key)
    cli.ok("ingest", str(tmp_path / "note.txt"), "-c", "osna", "--api-key", key)
    tasking = "Où se regroupe le bataillon blindé adverse ?"
    bad = cli("synthesize", tasking, "-c", "osna", "--grade", "B2", "--api-key", key)
    assert bad.code == 2 and "DOC=CODE" in bad.err and "Traceback" not in bad.err
    out = cli.ok("synthesize", tasking, "-c", "osna", "--grade", "note.txt=B2", "--api-key", key)
    lines = out.strip().splitlines()
    assert lines[0] == "SECRET" and "BOTTOM LINE UP FRONT (BLUF)" in out
    assert "graded B2" in out and "Dravna" in out
    assert "awaits a decision" in lines[-1]
    cli.ok("models", "demo")
    drafted = cli.ok(
        "synthesize", tasking, "-c", "osna", "--model", "smollm2-135m-demo", "--api-key", key
    )
    assert "assembled by rule: smollm2-135m-demo is a demonstration model" in drafted
    unkeyed = cli("synthesize", tasking, "-c", "osna")
    assert unkeyed.code == 3 and "API key" in unkeyed.err
