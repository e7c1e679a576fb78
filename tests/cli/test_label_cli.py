"""`egide label …` and `egide policy show` through the real console script."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_cli import EGIDE


def egide(*args: str, stdin: str | None = None, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EGIDE_DATA_DIR": str(tmp / "unused"), "COLUMNS": "200"}
    return subprocess.run(
        [EGIDE, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60
    )


def test_join(tmp_path: Path) -> None:
    done = egide(
        "label", "join", "NATO SECRET REL TO FRA, DEU", "NATO SECRET REL TO FRA, GBR", tmp=tmp_path
    )
    assert done.returncode == 0 and done.stdout.strip() == "NATO SECRET REL TO FRA"
    # French SECRET is national by itself: SPÉCIAL FRANCE is implied, not written.
    done = egide("label", "join", "DR", "SECRET SPÉCIAL FRANCE", "--lang", "en", tmp=tmp_path)
    assert done.stdout.strip() == "SECRET"
    # The equivalence maps the level; French releasability travels with it.
    done = egide("label", "join", "SECRET", "NATO SECRET", "--lang", "en", tmp=tmp_path)
    assert done.stdout.strip() == "NATO SECRET REL TO FRA"


@pytest.mark.parametrize(
    ("a", "b", "code"),
    [
        ("SECRET", "DR", 0),
        ("DR", "SECRET", 1),
        # NATO SECRET is releasable to all NATO nations: less restrictive than French SECRET.
        ("NATO SECRET", "SECRET", 1),
        ("NATO SECRET REL TO FRA", "SECRET", 0),
    ],
)
def test_dominates_exit_code(tmp_path: Path, a: str, b: str, code: int) -> None:
    assert egide("label", "dominates", a, b, tmp=tmp_path).returncode == code


def test_xml_round_trip(tmp_path: Path) -> None:
    xml = egide("label", "to-xml", "NATO SECRET REL TO FRA, DEU", tmp=tmp_path).stdout
    assert "originatorConfidentialityLabel" in xml
    back = egide("label", "from-xml", "-", "--lang", "en", stdin=xml, tmp=tmp_path)
    assert back.returncode == 0 and back.stdout.strip() == "NATO SECRET REL TO DEU, FRA"


@pytest.mark.parametrize(
    ("args", "stdin", "needle"),
    [
        (("label", "join", "SECRET", "BANANA"), None, "BANANA"),
        (("label", "from-xml", "-"), "<oops", "not well-formed"),
        (("label", "from-xml", "/nonexistent.xml"), None, "cannot read"),
        (("policy", "show", "ZZ"), None, "unknown policy"),
    ],
)
def test_bad_input_one_line(
    tmp_path: Path, args: tuple[str, ...], stdin: str | None, needle: str
) -> None:
    done = egide(*args, stdin=stdin, tmp=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0]
    assert not (tmp_path / "unused").exists()


def test_policy_show(tmp_path: Path) -> None:
    out = egide("policy", "show", tmp=tmp_path).stdout
    assert "DIFFUSION RESTREINTE" in out and "COSMIC TOP SECRET" in out
    assert "originator control: FRA only, from DIFFUSION RESTREINTE" in out
    assert "MÉDICAL=MEDICAL" in out
