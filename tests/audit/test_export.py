"""Export to JSON lines and verify offline, without the database."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from egide.audit import FORMAT_VERSION, Journal, SigningKey, verify_file
from egide.store import Database

DOCS = Path(__file__).parents[2] / "docs" / "audit.md"


@pytest.fixture
def export(filled: Database, journal: Journal, tmp_path: Path) -> Path:
    path = tmp_path / "journal.jsonl"
    with filled.transaction() as session, path.open("w", encoding="utf-8") as out:
        assert journal.export(session, out) == 12
    return path


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def rewrite(path: Path, records: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")


def test_export_layout(export: Path) -> None:
    records = lines(export)
    assert records[0]["type"] == "header" and records[0]["format"] == FORMAT_VERSION
    kinds = [r["type"] for r in records[1:]]
    assert kinds.count("entry") == 12 and kinds.count("checkpoint") == 2
    assert kinds.index("checkpoint") == 5  # right after entry 5


def test_export_verifies_offline(export: Path, signing_key: SigningKey) -> None:
    report = verify_file(export)
    assert (report.ok, report.entries, report.checkpoints) == (True, 12, 2)
    assert verify_file(export, trusted_keys=[signing_key.public_key]).ok


def test_export_signed_by_an_untrusted_key_fails(export: Path) -> None:
    report = verify_file(export, trusted_keys=[SigningKey.generate().public_key])
    assert (report.ok, report.problem) == (False, "unknown_key")


def test_edited_line_fails(export: Path) -> None:
    records = lines(export)
    entry = next(r for r in records if r.get("seq") == 4 and r["type"] == "entry")
    entry["actor"] = "user:mallory"
    rewrite(export, records)
    report = verify_file(export)
    assert (report.ok, report.first_bad_seq, report.problem) == (False, 4, "edited")


def test_removed_line_fails(export: Path) -> None:
    records = [r for r in lines(export) if not (r["type"] == "entry" and r["seq"] == 8)]
    rewrite(export, records)
    assert (verify_file(export).first_bad_seq, verify_file(export).problem) == (8, "deleted")


def test_truncated_file_fails(export: Path) -> None:
    records = [r for r in lines(export) if r["type"] != "entry" or int(str(r["seq"])) <= 7]
    rewrite(export, records)
    assert (verify_file(export).first_bad_seq, verify_file(export).problem) == (8, "truncated")


def test_malformed_file_fails(export: Path) -> None:
    with export.open("a", encoding="utf-8") as out:
        out.write("{not json\n")
    report = verify_file(export)
    assert (report.ok, report.problem) == (False, "malformed")
    assert "line 16" in report.message


def test_documented_offline_script_verifies_the_export(export: Path, tmp_path: Path) -> None:
    match = re.search(r"### Verify offline.*?```python\n(.*?)```", DOCS.read_text(), re.S)
    assert match, "docs/audit.md lost its offline verification script"
    script = tmp_path / "verify_audit.py"
    script.write_text(match.group(1), encoding="utf-8")
    ok = subprocess.run([sys.executable, str(script), str(export)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "OK: 12 entries"
    records = lines(export)
    records[3]["details"] = {"n": 0}
    rewrite(export, records)
    bad = subprocess.run([sys.executable, str(script), str(export)], capture_output=True, text=True)
    assert bad.returncode != 0 and "edited" in bad.stderr
