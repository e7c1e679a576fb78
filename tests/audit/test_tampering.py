"""Tampering directly in SQL is caught, and the report names the first bad entry."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

from egide.audit import Journal, SigningKey, VerificationReport
from egide.audit.chain import entry_hash
from egide.store import Database

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
