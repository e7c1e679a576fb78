"""The `egide` command end to end: the real console script, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

EGIDE = shutil.which("egide") or str(Path(__file__).parents[2] / ".venv" / "bin" / "egide")


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Cli:
    data_dir: Path
    database_url: str

    def __call__(self, *args: str, stdin: str | None = None) -> Result:
        env = {
            **os.environ,
            "EGIDE_DATA_DIR": str(self.data_dir),
            "EGIDE_DATABASE_URL": self.database_url,
            "COLUMNS": "200",
        }
        done = subprocess.run(
            [EGIDE, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert result.code == 0, result
        return result.out


@pytest.fixture
def cli(data_dir: Path, database_url: str) -> Cli:
    return Cli(data_dir, database_url)


@pytest.fixture
def initialised(cli: Cli) -> Cli:
    out = cli.ok("init", "--org", "DIRISI", "--admin", "chef", "--clearance", "TRÈS SECRET")
    assert out.strip().splitlines()[-1].startswith("egk_")
    return cli


def _one_line_error(result: Result, code: int, *needles: str) -> None:
    assert result.code == code, result
    lines = [line for line in result.err.strip().splitlines() if line]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error:"), result.err
    assert "Traceback" not in result.err
    for needle in needles:
        assert needle.lower() in lines[0].lower(), (needle, lines[0])


def _actions(cli: Cli, tmp_path: Path) -> list[str]:
    out = tmp_path / "journal.jsonl"
    cli.ok("audit", "export", str(out))
    records = [json.loads(line) for line in out.read_text().splitlines()]
    return [r["action"] for r in records if "action" in r]


def test_init_twice_changes_nothing(initialised: Cli, tmp_path: Path) -> None:
    before = _actions(initialised, tmp_path)
    out = initialised.ok("init")
    assert "already initialised" in out
    after = _actions(initialised, tmp_path)
    assert after == [*before, "audit.export"]


def test_every_mutating_command_is_journaled(initialised: Cli, tmp_path: Path) -> None:
    cli = initialised
    cli.ok("orgs", "add", "DRM", "--parent", "DIRISI", "--description", "renseignement")
    assert "DRM" in cli.ok("orgs", "list")
    cli.ok("users", "add", "alice", "--clearance", "SECRET", "--roles", "analyst", "--org", "DRM")
    cli.ok("users", "add", "bob", "--clearance", "DR", "--roles", "auditor,approver")
    listing = cli.ok("users", "list")
    assert "alice" in listing and "bob" in listing
    token = cli.ok("keys", "create", "alice", "--name", "poste", "--scopes", "analyst").strip()
    assert token.startswith("egk_")
    key_id = token.split("_")[1]
    assert key_id in cli.ok("keys", "list", "--user", "alice")
    assert token.split("_", 2)[2] not in cli.ok("keys", "list")
    cli.ok("keys", "revoke", key_id)
    assert "revoked" in cli.ok("keys", "list", "--user", "alice")
    cli.ok("users", "disable", "bob")
    assert "disabled" in cli.ok("users", "list")

    actions = _actions(cli, tmp_path)
    assert actions == [
        "org.add",
        "user.add",
        "key.create",
        "org.add",
        "user.add",
        "user.add",
        "key.create",
        "key.revoke",
        "user.disable",
        "audit.export",
    ]
    assert "ok:" in cli.ok("audit", "verify")


def test_bad_input_is_one_line_and_changes_nothing(initialised: Cli, tmp_path: Path) -> None:
    cli = initialised
    cli.ok("users", "add", "alice", "--clearance", "SECRET", "--roles", "analyst")
    before = _actions(cli, tmp_path)
    _one_line_error(
        cli("users", "add", "alice", "--clearance", "SECRET", "--roles", "analyst"),
        6,
        "already exists",
    )
    _one_line_error(
        cli("users", "add", "carol", "--clearance", "ULTRA", "--roles", "analyst"), 2, "ULTRA"
    )
    _one_line_error(
        cli("users", "add", "carol", "--clearance", "SECRET", "--roles", "wizard"), 2, "wizard"
    )
    _one_line_error(cli("keys", "revoke", "nope"), 5, "nope")
    _one_line_error(
        cli("users", "add", "dan", "--clearance", "S", "--roles", "analyst", "--org", "Nowhere"),
        5,
        "Nowhere",
    )
    assert _actions(cli, tmp_path) == [*before, "audit.export"]
    assert "carol" not in cli.ok("users", "list")


def test_audit_tampering_is_named(initialised: Cli, tmp_path: Path) -> None:
    cli = initialised
    for name in ("u1", "u2", "u3"):
        cli.ok("users", "add", name, "--clearance", "DR", "--roles", "analyst")
    engine = create_engine(cli.database_url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
        else:
            for (name,) in connection.execute(
                text(
                    "SELECT name FROM sqlite_master "
                    "WHERE type='trigger' AND tbl_name='audit_entries'"
                )
            ):
                connection.execute(text(f'DROP TRIGGER "{name}"'))
        connection.execute(text("UPDATE audit_entries SET actor = 'someone-else' WHERE seq = 5"))
    engine.dispose()
    result = cli("audit", "verify")
    assert result.code == 9
    assert "entry 5" in result.err


def test_export_verifies_offline_with_public_key(initialised: Cli, tmp_path: Path) -> None:
    cli = initialised
    export = tmp_path / "journal.jsonl"
    cli.ok("audit", "export", str(export))
    key = tmp_path / "audit.pub"
    key.write_text(cli.ok("audit", "public-key"))
    offline = Cli(tmp_path / "elsewhere", "sqlite:///" + str(tmp_path / "none.db"))
    assert "ok:" in offline.ok("audit", "verify", "--file", str(export), "--public-key", str(key))
    lines = export.read_text().splitlines()
    forged = [json.loads(line) for line in lines]
    for record in forged:
        if record.get("action") == "user.add":
            record["details"]["clearance"] = "TS"
            break
    export.write_text("".join(json.dumps(r) + "\n" for r in forged))
    result = offline("audit", "verify", "--file", str(export), "--public-key", str(key))
    assert result.code == 9


def test_uninitialised_and_unusable_places(cli: Cli, tmp_path: Path) -> None:
    _one_line_error(cli("users", "list"), 10, "egide init")
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o500)
    try:
        if os.geteuid() != 0:
            blocked = Cli(readonly / "data", "")
            _one_line_error(blocked("init"), 10, "data directory")
    finally:
        readonly.chmod(0o700)
    # A file where the data directory should be: unusable even for root.
    squatter = tmp_path / "squatter"
    squatter.write_text("")
    _one_line_error(Cli(squatter, "")("init"), 10, "data directory")
    assert squatter.read_text() == ""


def test_unreachable_database(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "d", "postgresql+psycopg://egide@127.0.0.1:1/egide")
    result = cli("init")
    _one_line_error(result, 8, "PostgreSQL")
    assert not (tmp_path / "d" / "keys").exists()
