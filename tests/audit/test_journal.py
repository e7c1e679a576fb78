"""The journal: one transaction with its action, append-only, concurrent, readable by label."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from itertools import pairwise

import pytest
from sqlalchemy import exc, select, text

from egide.audit import GENESIS_HASH, Journal
from egide.audit.journal import NewEntry
from egide.errors import InvalidInput
from egide.store import Database, OrganisationRecord


def test_append_chains_entries(database: Database, journal: Journal) -> None:
    with database.transaction() as session:
        first = journal.append(
            session, actor="user:alice", action="org.create", objects=["org:1"], label="FR DR"
        )
        second = journal.append(session, actor="user:alice", action="org.rename", label="FR DR")
    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert first.time.tzinfo == UTC
    with database.transaction() as session:
        stored = journal.entries(session, readable_labels=None)
    assert stored == [first, second]


def test_append_many_chains_a_group_with_its_checkpoints(
    database: Database, journal: Journal
) -> None:
    entries = [NewEntry("user:alice", "doc.read", "FR DR", [f"d:{i}"], {"i": i}) for i in range(7)]
    with database.transaction() as session:
        journal.append(session, actor="user:alice", action="org.create", label="FR DR")
        group = journal.append_many(session, entries)
    assert [e.seq for e in group] == list(range(2, 9))
    assert all(b.prev_hash == a.hash for a, b in pairwise(group))
    with database.transaction() as session:
        assert journal.verify(session).ok
        assert [c.seq for c in journal.checkpoints(session)] == [5]  # every 5 (the fixture)
        assert journal.entries(session, readable_labels=None, since_seq=1) == group


def test_append_many_writes_nothing_when_one_entry_is_not_json(
    database: Database, journal: Journal
) -> None:
    entries = [
        NewEntry("user:alice", "doc.read", "FR DR", details={"i": 1}),
        NewEntry("user:alice", "doc.read", "FR DR", details={"bad": {1, 2}}),
    ]
    with pytest.raises(InvalidInput, match="plain JSON"), database.transaction() as session:
        journal.append_many(session, entries)
    with database.transaction() as session:
        assert journal.count(session) == 0


def test_failed_action_leaves_no_entry(database: Database, journal: Journal) -> None:
    with pytest.raises(RuntimeError), database.transaction() as session:
        session.add(OrganisationRecord(name="EMA"))
        journal.append(session, actor="user:alice", action="org.create", label="FR DR")
        raise RuntimeError("the action failed after its entry was written")
    with database.transaction() as session:
        assert journal.count(session) == 0
        assert session.scalar(select(OrganisationRecord)) is None


def test_failed_audit_write_rolls_the_action_back(
    database: Database, journal: Journal, tamper: Callable[..., None]
) -> None:
    if database.dialect == "postgresql":
        refuse = [
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$",
            "CREATE TRIGGER refuse BEFORE INSERT ON audit_entries "
            "FOR EACH ROW EXECUTE FUNCTION refuse()",
        ]
    else:
        refuse = [
            "CREATE TRIGGER refuse BEFORE INSERT ON audit_entries "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        ]
    tamper(database, *refuse)
    with pytest.raises(exc.DBAPIError, match="disk full"), database.transaction() as session:
        session.add(OrganisationRecord(name="EMA"))
        session.flush()
        journal.append(session, actor="user:alice", action="org.create", label="FR DR")
    with database.transaction() as session:
        assert session.scalar(select(OrganisationRecord)) is None


@pytest.mark.parametrize("table", ["audit_entries", "audit_checkpoints"])
@pytest.mark.parametrize("statement", ["UPDATE {table} SET seq = seq + 1", "DELETE FROM {table}"])
def test_database_refuses_update_and_delete(
    database: Database, journal: Journal, table: str, statement: str
) -> None:
    with database.transaction() as session:
        journal.append(session, actor="user:alice", action="x", label="FR DR")
        journal.checkpoint(session)
    with pytest.raises(exc.DBAPIError, match="append-only"), database.transaction() as session:
        session.execute(text(statement.format(table=table)))


def test_concurrent_writers_keep_one_chain(database: Database, journal: Journal) -> None:
    def write(worker: int) -> None:
        for n in range(8):
            with database.transaction() as session:
                session.add(OrganisationRecord(name=f"org-{worker}-{n}"))
                journal.append(session, actor=f"user:{worker}", action="org.create", label="L")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, range(4)))
    with database.transaction() as session:
        report = journal.verify(session)
        seqs = [e.seq for e in journal.entries(session, readable_labels=None, limit=1000)]
    assert report.ok, report.message
    assert seqs == list(range(1, 33))
    assert report.checkpoints == 6


def test_entries_filter_by_readable_labels_in_sql(database: Database, journal: Journal) -> None:
    with database.transaction() as session:
        for n, label in enumerate(["FR DR", "FR SECRET", "FR DR", "NATO SECRET"], start=1):
            journal.append(session, actor="system", action=f"a{n}", label=label)
    with database.transaction() as session:
        readable = journal.entries(session, readable_labels={"FR DR", "NATO SECRET"})
        assert [e.seq for e in readable] == [1, 3, 4]
        assert journal.entries(session, readable_labels=[]) == []
        page = journal.entries(session, readable_labels=None, since_seq=1, limit=2)
        assert [e.seq for e in page] == [2, 3]


def test_checkpoints_every_n_and_on_demand(database: Database, journal: Journal) -> None:
    with database.transaction() as session:
        assert journal.checkpoint(session) is None
        for _ in range(7):
            journal.append(session, actor="system", action="tick", label="FR DR")
        on_demand = journal.checkpoint(session)
    assert on_demand is not None and on_demand.seq == 7
    with database.transaction() as session:
        assert [cp.seq for cp in journal.checkpoints(session)] == [5, 7]
        assert journal.verify(session).checkpoints == 2


@pytest.mark.parametrize("details", [{"x": float("nan")}, {"x": {1, 2}}])
def test_details_must_be_plain_json(
    database: Database, journal: Journal, details: dict[str, object]
) -> None:
    with pytest.raises(InvalidInput, match="plain JSON"), database.transaction() as session:
        journal.append(session, actor="system", action="x", label="FR DR", details=details)


def test_details_are_normalised_before_hashing(database: Database, journal: Journal) -> None:
    with database.transaction() as session:
        entry = journal.append(
            session, actor="system", action="x", label="FR DR", details={"t": (1, 2), "n": 1.5}
        )
    assert entry.details == {"t": [1, 2], "n": 1.5}
    with database.transaction() as session:
        assert journal.verify(session).ok
