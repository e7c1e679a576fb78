"""Tampering directly in SQL is caught, and the report names the first bad entry."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from egide.app import Platform
from egide.audit import Journal, SigningKey, VerificationReport
from egide.audit.chain import entry_hash
from egide.store import Database

from .conftest import append_entries, build_platform, sqlite_attack

Tamper = Callable[..., None]


def verify(database: Database, journal: Journal) -> VerificationReport:
    with database.transaction() as session:
        return journal.verify(session)


def test_intact_journal_verifies(filled: Database, journal: Journal) -> None:
    report = verify(filled, journal)
    assert report.ok, report.message
    assert (report.entries, report.checkpoints, report.first_bad_seq) == (12, 2, None)
    report.raise_if_broken()


def test_edited_entry(filled: Database, journal: Journal, tamper: Tamper) -> None:
    tamper(filled, """UPDATE audit_entries SET details = '{"n": 700}' WHERE seq = 7""")
    report = verify(filled, journal)
    assert (report.ok, report.first_bad_seq, report.problem) == (False, 7, "edited")


def test_edited_actor(filled: Database, journal: Journal, tamper: Tamper) -> None:
    tamper(filled, "UPDATE audit_entries SET actor = 'user:mallory' WHERE seq = 3")
    assert verify(filled, journal).first_bad_seq == 3


def test_deleted_entry_in_the_middle(filled: Database, journal: Journal, tamper: Tamper) -> None:
    tamper(filled, "DELETE FROM audit_entries WHERE seq = 7")
    report = verify(filled, journal)
    assert (report.first_bad_seq, report.problem) == (7, "deleted")
    assert "7" in report.message


def test_inserted_entry(filled: Database, journal: Journal, tamper: Tamper) -> None:
    with filled.transaction() as session:
        entry6 = journal.entries(session, readable_labels=None, since_seq=5, limit=1)[0]
    # A well-formed entry linked to entry 6 (same time and label, correct hash),
    # slipped in after making room by shifting the later entries.
    forged_hash = entry_hash(
        seq=7,
        time=entry6.time,
        actor="user:mallory",
        action="document.read",
        objects=["document:99"],
        label=entry6.label,
        details={},
        prev_hash=entry6.hash,
    )
    tamper(
        filled,
        "UPDATE audit_entries SET seq = seq + 1000 WHERE seq > 6",
        "UPDATE audit_entries SET seq = seq - 999 WHERE seq > 1000",
        "INSERT INTO audit_entries (seq, time, actor, action, objects, label_id, details, "
        "prev_hash, hash) SELECT 7, time, 'user:mallory', 'document.read', "
        "'[\"document:99\"]', label_id, '{}', :prev, :hash FROM audit_entries WHERE seq = 6",
        prev=entry6.hash,
        hash=forged_hash,
    )
    report = verify(filled, journal)
    assert (report.first_bad_seq, report.problem) == (7, "inserted")


def test_reordered_entries(filled: Database, journal: Journal, tamper: Tamper) -> None:
    tamper(
        filled,
        "UPDATE audit_entries SET seq = -3 WHERE seq = 3",
        "UPDATE audit_entries SET seq = 3 WHERE seq = 8",
        "UPDATE audit_entries SET seq = 8 WHERE seq = -3",
    )
    report = verify(filled, journal)
    assert (report.first_bad_seq, report.problem) == (3, "reordered")


def test_forged_checkpoint_signature(filled: Database, journal: Journal, tamper: Tamper) -> None:
    bogus = base64.b64encode(bytes(64)).decode()
    tamper(filled, "UPDATE audit_checkpoints SET signature = :s WHERE seq = 10", s=bogus)
    report = verify(filled, journal)
    assert (report.first_bad_seq, report.problem) == (10, "bad_signature")
    assert report.checkpoints == 1


def test_checkpoint_signed_by_someone_else(filled: Database) -> None:
    stranger = Journal(SigningKey.generate())
    report = verify(filled, stranger)
    assert (report.first_bad_seq, report.problem) == (5, "unknown_key")


def test_rewritten_and_rechained_entry_is_caught_by_its_checkpoint(
    filled: Database, journal: Journal, tamper: Tamper, rechain: Callable[[Database, int], None]
) -> None:
    # A forger who recomputes every later hash defeats the chain, not the signature.
    tamper(filled, """UPDATE audit_entries SET details = '{"n": 0}' WHERE seq = 9""")
    rechain(filled, 9)
    report = verify(filled, journal)
    assert (report.first_bad_seq, report.problem) == (10, "checkpoint_mismatch")


def test_truncated_tail_is_caught_by_the_last_checkpoint(
    filled: Database, journal: Journal, tamper: Tamper
) -> None:
    tamper(filled, "DELETE FROM audit_entries WHERE seq >= 9")
    report = verify(filled, journal)
    assert (report.first_bad_seq, report.problem) == (9, "truncated")


def test_truncation_after_the_last_checkpoint_is_not_detectable(
    filled: Database, journal: Journal, tamper: Tamper
) -> None:
    # The documented limit (docs/audit.md): entries 11-12 follow the last checkpoint.
    tamper(filled, "DELETE FROM audit_entries WHERE seq > 10")
    assert verify(filled, journal).ok
    with filled.transaction() as session:
        journal.append(session, actor="system", action="x", label="FR DR")
        journal.checkpoint(session)
    assert verify(filled, journal).ok


def test_details_keep_non_ascii_text_in_storage(filled: Database) -> None:
    with filled.engine.connect() as connection:
        raw = connection.exec_driver_sql("SELECT details FROM audit_entries WHERE seq = 1")
        value = raw.scalar()
    details = json.loads(value) if isinstance(value, str) else value
    assert isinstance(details, dict) and details["note"] == "élément"


# --- An attacker with the database file, against the witness (finding 8) -------------------
#
# A real installation (sealer on, witness file in its own directory) holds 12 entries and
# never reached a count checkpoint (every 100 entries, the default). The attacker opens the
# SQLite file itself, drops the append-only triggers and rewrites it; `egide audit verify`,
# run as an operator would, must exit non-zero and name what was done.

EGIDE = shutil.which("egide") or str(Path(sys.executable).parent / "egide")


@pytest.fixture
def sealed(data_dir: Path) -> Platform:
    """An installation with 12 entries whose head is sealed in the database and the witness."""
    platform = build_platform(data_dir, audit_seal_interval=3600)
    append_entries(platform, 12)
    platform.close()
    return platform


def _verify_cli(platform: Platform) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EGIDE_DATA_DIR": str(platform.settings.data_dir)}
    env.pop("EGIDE_DATABASE_URL", None)
    return subprocess.run(
        [EGIDE, "audit", "verify"], env=env, capture_output=True, text=True, timeout=120
    )


def _forged_entry(platform: Platform, seq: int, prev_hash: str) -> dict[str, Any]:
    with platform.database.transaction() as session:
        # Same time and label as its predecessor, which the SQL below copies.
        model = platform.journal.entries(session, readable_labels=None, since_seq=seq - 2, limit=1)[
            0
        ]
    fields: dict[str, Any] = {
        "seq": seq,
        "time": model.time,
        "actor": "user:mallory",
        "action": "document.read",
        "objects": ["document:99"],
        "label": model.label,
        "details": {},
        "prev_hash": prev_hash,
    }
    return {**fields, "hash": entry_hash(**fields)}


def _hash_of(platform: Platform, seq: int) -> str:
    with platform.database.transaction() as session:
        return platform.journal.entries(session, readable_labels=None, since_seq=seq - 1, limit=1)[
            0
        ].hash


def test_intact_sealed_installation_verifies_with_its_witness(sealed: Platform) -> None:
    result = _verify_cli(sealed)
    assert result.returncode == 0, result.stderr
    assert "witness seals" in result.stdout


@pytest.mark.parametrize(
    ("attack", "problem", "needle"),
    [
        pytest.param(
            ["DELETE FROM audit_entries WHERE seq > 9"],
            "truncated",
            "the tail was deleted",
            id="tail-cut-checkpoints-left",
        ),
        pytest.param(
            [
                "DELETE FROM audit_entries WHERE seq > 9",
                "DELETE FROM audit_checkpoints WHERE seq > 9",
            ],
            "witness_ahead",
            # The newest seal is the head at close, or the background sealer's latest:
            # entry 10 itself when the sealer ran just after it.
            r"entries 10 to 1[012] were deleted together with their checkpoints",
            id="tail-and-its-checkpoints-cut",
        ),
        pytest.param(
            ["UPDATE audit_entries SET actor = 'user:mallory' WHERE seq = 7"],
            "edited",
            "entry 7 does not match its hash",
            id="edited",
        ),
        pytest.param(
            ["DELETE FROM audit_entries WHERE seq = 6"],
            "deleted",
            "entries 6 are missing",
            id="deleted-middle",
        ),
        pytest.param(
            [
                "UPDATE audit_entries SET seq = -3 WHERE seq = 3",
                "UPDATE audit_entries SET seq = 3 WHERE seq = 8",
                "UPDATE audit_entries SET seq = 8 WHERE seq = -3",
            ],
            "reordered",
            "entries were reordered",
            id="reordered",
        ),
        pytest.param(
            ["DELETE FROM audit_checkpoints WHERE seq = 12"],
            "checkpoint_deleted",
            "checkpoints were deleted",
            id="checkpoint-deleted",
        ),
    ],
)
def test_attack_on_the_database_file_is_named(
    sealed: Platform, attack: list[str], problem: str, needle: str
) -> None:
    database = sealed.settings.data_dir / "egide.db"
    sqlite_attack(database, *attack)
    result = _verify_cli(sealed)
    assert result.returncode == 9, result
    assert f"({problem})" in result.stderr, result.stderr
    assert re.search(needle, result.stderr), result.stderr
    assert "Traceback" not in result.stderr


def test_inserted_entry_is_named(sealed: Platform) -> None:
    forged = _forged_entry(sealed, 7, _hash_of(sealed, 6))
    sqlite_attack(
        sealed.settings.data_dir / "egide.db",
        "UPDATE audit_entries SET seq = seq + 1000 WHERE seq > 6",
        "UPDATE audit_entries SET seq = seq - 999 WHERE seq > 1000",
        "INSERT INTO audit_entries (seq, time, actor, action, objects, label_id, details, "
        "prev_hash, hash) SELECT 7, time, :actor, :action, '[\"document:99\"]', label_id, '{}', "
        ":prev, :hash FROM audit_entries WHERE seq = 6",
        actor=forged["actor"],
        action=forged["action"],
        prev=forged["prev_hash"],
        hash=forged["hash"],
    )
    result = _verify_cli(sealed)
    assert result.returncode == 9 and "(inserted)" in result.stderr, result


def test_rewritten_rechained_journal_without_the_key_is_caught_by_the_witness(
    sealed: Platform, rechain: Callable[[Database, int], None]
) -> None:
    # The forger rewrites entry 9, recomputes every later hash and removes the checkpoints
    # that would betray it: the database is self-consistent, the witness is not fooled.
    database = sealed.settings.data_dir / "egide.db"
    sqlite_attack(
        database,
        """UPDATE audit_entries SET details = '{"n": 0}' WHERE seq = 9""",
        "DELETE FROM audit_checkpoints",
    )
    rechain(sealed.database, 9)
    result = _verify_cli(sealed)
    assert result.returncode == 9, result
    # Which seal betrays the forger first depends on when the background sealer ran: an
    # early seal whose checkpoint the forger deleted, or the first seal after entry 9.
    assert "(checkpoint_deleted)" in result.stderr or re.search(
        r"\(witness_mismatch\): entry 1[0-2] does not have the hash", result.stderr
    ), result.stderr


def test_witness_newer_than_a_restored_database_is_reported(sealed: Platform) -> None:
    backup = sealed.settings.data_dir.parent / "backup.db"
    shutil.copy(sealed.settings.data_dir / "egide.db", backup)
    platform = build_platform(sealed.settings.data_dir, audit_seal_interval=3600)
    append_entries(platform, 3)
    platform.close()
    shutil.copy(backup, sealed.settings.data_dir / "egide.db")
    for suffix in ("-wal", "-shm"):
        Path(f"{sealed.settings.data_dir / 'egide.db'}{suffix}").unlink(missing_ok=True)
    result = _verify_cli(sealed)
    assert result.returncode == 9 and "(witness_ahead)" in result.stderr, result
    assert "restored from a backup older than the witness" in result.stderr


@pytest.mark.postgres
def test_truncation_on_postgresql_is_caught_by_the_witness(
    postgres_url: str, data_dir: Path, tamper: Tamper
) -> None:
    platform = build_platform(data_dir, postgres_url, audit_seal_interval=3600)
    append_entries(platform, 12)
    platform.close()
    tamper(
        platform.database,
        "DELETE FROM audit_entries WHERE seq > 10",
        "DELETE FROM audit_checkpoints WHERE seq > 10",
    )
    with platform.database.transaction() as session:
        report = platform.journal.verify(session)
    platform.close()
    assert (report.ok, report.problem, report.first_bad_seq) == (False, "witness_ahead", 11)


def test_a_copy_of_the_witness_kept_elsewhere_catches_a_data_directory_attacker(
    sealed: Platform, tmp_path: Path
) -> None:
    witness = sealed.settings.witness_path
    copy = tmp_path / "worm" / "audit-seals.jsonl"
    copy.parent.mkdir()
    shutil.copy(witness, copy)
    # Holding the whole data directory, the attacker cuts the journal and the local witness.
    sqlite_attack(
        sealed.settings.data_dir / "egide.db",
        "DELETE FROM audit_entries WHERE seq > 9",
        "DELETE FROM audit_checkpoints WHERE seq > 9",
    )
    witness.write_text("")
    assert _verify_cli(sealed).returncode == 0  # the documented limit of a local witness
    env = {**os.environ, "EGIDE_DATA_DIR": str(sealed.settings.data_dir)}
    env.pop("EGIDE_DATABASE_URL", None)
    result = subprocess.run(
        [EGIDE, "audit", "verify", "--witness", str(copy)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 9 and "(witness_ahead)" in result.stderr, result
    assert str(copy) in result.stderr
