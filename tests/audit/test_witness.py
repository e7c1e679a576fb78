"""Seals on a timer, off the appending transaction, copied to a witness outside the database."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from egide.app import Platform
from egide.audit.witness import FileWitness
from egide.errors import ConfigurationError
from egide.store import AuditCheckpointRecord

from .conftest import append_entries, build_platform


def _wait_for_seal(platform: Platform, seq: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    witness = FileWitness(platform.settings.witness_path)
    while time.monotonic() < deadline:
        if any(seal.seq == seq for seal in witness.seals()):
            return
        time.sleep(0.05)
    pytest.fail(f"no seal of entry {seq} reached the witness within {timeout} s")


def _stored_seqs(platform: Platform) -> list[int]:
    with platform.database.transaction() as session:
        return list(session.scalars(select(AuditCheckpointRecord.seq)))


def test_entries_are_sealed_long_before_the_hundredth(data_dir: Path) -> None:
    # Finding 8: nothing was signed before 100 entries, so a short tail could be cut unseen.
    platform = build_platform(data_dir, audit_seal_interval=0.2)
    append_entries(platform, 3)
    _wait_for_seal(platform, 3)  # with no further append: the timer does it
    assert 3 in _stored_seqs(platform)
    with platform.database.transaction() as session:
        assert platform.journal.verify(session).witnessed
    platform.close()


def test_the_time_seal_is_not_made_in_the_appending_transaction(data_dir: Path) -> None:
    platform = build_platform(data_dir, audit_seal_interval=0.01)
    append_entries(platform, 1)
    _wait_for_seal(platform, 1)
    time.sleep(0.05)  # the interval has passed: a seal is due at the next append
    with platform.database.transaction() as session:
        before = session.scalar(select(func.count()).select_from(AuditCheckpointRecord))
        platform.journal.append(session, actor="user:bob", action="x", label="NON PROTÉGÉ")
        # The appender only notes the new head; signing happens on the sealer's thread.
        assert session.scalar(select(func.count()).select_from(AuditCheckpointRecord)) == before
    _wait_for_seal(platform, 2)
    platform.close()


def test_close_seals_the_last_entries_and_writes_the_witness(data_dir: Path) -> None:
    platform = build_platform(data_dir, audit_seal_interval=3600)
    append_entries(platform, 4)  # the first is sealed at once, the others wait an hour
    platform.close()  # what `egide serve` and every command do when they end
    seals = FileWitness(platform.settings.witness_path).seals()
    assert seals[-1].seq == 4
    assert 4 in _stored_seqs(platform)


def test_a_seal_rolled_back_never_reaches_the_witness(data_dir: Path) -> None:
    platform = build_platform(data_dir, audit_seal_interval=0, audit_checkpoint_every=2)
    with pytest.raises(RuntimeError), platform.database.transaction() as session:
        for n in range(2):
            platform.journal.append(session, actor="system", action=f"a{n}", label="DR")
        raise RuntimeError("the action failed")
    platform.close()
    assert FileWitness(platform.settings.witness_path).seals() == []
    assert _stored_seqs(platform) == []


def test_count_seals_reach_the_witness_too(data_dir: Path) -> None:
    platform = build_platform(data_dir, audit_seal_interval=0, audit_checkpoint_every=2)
    append_entries(platform, 5)
    platform.close()  # and close seals the head (5) that no count checkpoint covered
    assert [seal.seq for seal in FileWitness(platform.settings.witness_path).seals()] == [2, 4, 5]


def test_witness_file_is_private_and_append_only(data_dir: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "other-volume" / "seals.jsonl"
    platform = build_platform(data_dir, audit_seal_interval=3600, audit_witness_file=elsewhere)
    append_entries(platform, 2)
    platform.close()
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o600
    assert stat.S_IMODE(elsewhere.parent.stat().st_mode) == 0o700
    first = elsewhere.read_text()
    platform = build_platform(data_dir, audit_seal_interval=3600, audit_witness_file=elsewhere)
    append_entries(platform, 1)
    platform.close()
    assert elsewhere.read_text().startswith(first)  # appended, never rewritten


def test_a_torn_last_line_is_ignored_but_an_edited_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "seals.jsonl"
    path.write_text('{"type":"checkpoint","seq":1')  # a crash in the middle of a write
    assert FileWitness(path).seals() == []
    path.write_text("not a seal\n")
    with pytest.raises(ConfigurationError, match=r"line 1 .* not a seal"):
        FileWitness(path).seals()


@pytest.mark.parametrize("interval", [0, 3600])
def test_close_seals_what_was_written_after_the_sealer_last_ran(
    data_dir: Path, interval: float
) -> None:
    # Interval 0 (count checkpoints only) left the last entries unsealed at close.
    platform = build_platform(data_dir, audit_seal_interval=interval)
    append_entries(platform, 1)
    if interval:
        _wait_for_seal(platform, 1)  # the background sealer has just run
    append_entries(platform, 2)
    platform.close()
    assert FileWitness(platform.settings.witness_path).seals()[-1].seq == 3
    assert 3 in _stored_seqs(platform)


def test_close_after_no_write_adds_no_seal(data_dir: Path) -> None:
    platform = build_platform(data_dir, audit_seal_interval=0)
    platform.close()
    assert _stored_seqs(platform) == []
