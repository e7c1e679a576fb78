"""`egide ingest --replace` and `egide documents …` end to end: the real console script."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.cli.test_cli import Cli, cli, initialised  # noqa: F401  (fixtures)

SECRET_REPORT = "SECRET\n\nLe bataillon blindé adverse se regroupe dans la forêt de Dravna.\n"


def _user(run: Cli, name: str, clearance: str, roles: str) -> str:
    run.ok("users", "add", name, "--clearance", clearance, "--roles", roles, "--org", "DIRISI")
    return run.ok("keys", "create", name).strip()


def _file(folder: Path, name: str, body: str) -> str:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return str(path)


def test_documents_cannot_be_hijacked_and_are_managed_from_the_command_line(
    initialised: Cli,  # noqa: F811
    tmp_path: Path,
) -> None:
    run = initialised
    chef = _user(run, "chef2", "TRÈS SECRET", "admin")
    alice = _user(run, "alice", "SECRET", "analyst")
    bob = _user(run, "bob", "DR", "analyst")
    clara = _user(run, "clara", "TRÈS SECRET", "classifier")
    run.ok("collections", "add", "c", "--api-key", chef)
    secret = _file(tmp_path / "a", "rapport.txt", SECRET_REPORT)

    out = run.ok("ingest", secret, "-c", "c", "--api-key", alice)
    # Ids are random (they count no hidden document): read them from the output.
    one = re.search(r"document (\d+) v1 \[SECRET\]", out).group(1)  # type: ignore[union-attr]
    assert "(new)" in out
    # Finding 7: a same-name file by a DR user is a new document and says nothing of the other.
    mine = _file(tmp_path / "b", "rapport.txt", "DR\n\nRien à signaler.")
    out = run.ok("ingest", mine, "-c", "c", "--api-key", bob)
    assert re.search(r"document \d+ v1 \[DIFFUSION RESTREINTE\]", out) and "(new)" in out
    assert f"document {one} " not in out
    hidden = run("ingest", mine, "-c", "c", "--replace", one, "--api-key", bob)
    missing = run("ingest", mine, "-c", "c", "--replace", "99", "--api-key", bob)
    # One file, one document: the refusal's own exit code (5, as `documents show`).
    assert hidden.code == missing.code == 5
    assert hidden.err.replace(f"document {one} ", "document 99 ") == missing.err
    assert "no document 99 that you may read" in missing.err
    shown, absent = (run("documents", "show", i, "--api-key", bob) for i in (one, "99"))
    assert shown.code == absent.code == 5
    assert shown.err.replace(f"document {one} ", "document 99 ") == absent.err

    # The same content with a higher label raises the label, and says so.
    out = run.ok("ingest", secret, "-c", "c", "--label", "TRÈS SECRET", "--api-key", chef)
    assert f"document {one} v1 [TRÈS SECRET]" in out and "raised" in out
    listed = run.ok("documents", "list", "--api-key", alice)
    # One row (file name and title) — bob's DR document; the TRÈS SECRET one is gone.
    assert listed.count("rapport.txt") == 2 and "TRÈS SECRET" not in listed
    # Lowering needs a rationale (and the classifier role).
    refused = run("documents", "relabel", one, "SECRET", "--api-key", clara)
    assert refused.code == 2 and "rationale" in refused.err
    refused = run("documents", "relabel", one, "SECRET", "--rationale", "x", "--api-key", chef)
    assert refused.code == 4 and "classifier" in refused.err
    out = run.ok(
        "documents", "relabel", one, "SECRET", "--rationale", "exercice clos", "--api-key", clara
    )
    assert "lowered: TRÈS SECRET → SECRET" in out
    assert "bataillon" in run.ok("documents", "show", one, "--api-key", alice)

    v2 = _file(tmp_path / "c", "rapport-v2.txt", "NP\n\nLe bataillon est parti.")
    out = run.ok("ingest", v2, "-c", "c", "--replace", one, "--api-key", alice)
    assert f"document {one} v2 [SECRET]" in out and "(new version)" in out
    folders = (str(tmp_path / "a"), str(tmp_path / "c"))
    many = run("ingest", *folders, "-c", "c", "--replace", one, "--api-key", alice)
    assert many.code == 2 and "single file" in many.err

    assert run("documents", "delete", one, "--yes", "--api-key", alice).code == 4
    assert "deleted" in run.ok("documents", "delete", one, "--yes", "--api-key", chef)
    assert run("documents", "show", one, "--api-key", chef).code == 5

    journal = tmp_path / "journal.jsonl"
    run.ok("audit", "export", str(journal))
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    actions = [e.get("action") for e in entries]
    for action in ("document.ingest", "document.replace", "document.read", "document.delete"):
        assert action in actions, action
    # Refusals are journaled under the same action; two relabels were done.
    done = [e for e in entries if not (e.get("details") or {}).get("refused")]
    assert [e.get("action") for e in done].count("document.relabel") == 2
