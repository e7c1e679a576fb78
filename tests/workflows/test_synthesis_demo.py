"""`egide demo` for real: the exercise corpus, graded, synthesised, refused, approved, exported."""

from __future__ import annotations

from pathlib import Path

import pytest

from egide.app import Platform
from egide.demo.scenario import run_scenario
from egide.settings import Settings
from egide.workflows.synthesis import ensure_valid


@pytest.mark.slow
def test_demo_proposes_an_assessed_report(data_dir: Path) -> None:
    platform = Platform(Settings(data_dir=data_dir))
    said: list[str] = []
    try:
        result = run_scenario(platform, said.append)
    finally:
        platform.close()
    output = "\n".join(said)
    ensure_valid(result.report)
    assert "BLUF:" in output and "KJ1:" in output and "B2" in output
    assert "export before approval refused" in output
    assert result.report["ai_involvement"]["mode"] == "assembled"
    gradings = {s["title"]: s["grading"] for s in result.report["sources"]}
    assert "ungraded" in gradings.values() or len(set(gradings.values())) > 1
    assert "## Key judgments" in result.export and "approve by approbateur" in result.export
    lines = result.export.strip().splitlines()
    assert "SECRET" in lines[0] and lines[0] == lines[-1]
    assert "audit journal:" in output
