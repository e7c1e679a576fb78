"""The grouped journal writer: every entry committed before its caller resumes, in groups."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from egide.audit import Journal
from egide.audit.writer import JournalWriter
from egide.errors import InvalidInput
from egide.store import Database


class CountingTransactions:
    """`Database.transaction`, counting the transactions opened."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.opened = 0

    @contextmanager
    def __call__(self) -> Iterator[Session]:
        self.opened += 1
        with self.database.transaction() as session:
            yield session


def _entries(database: Database, journal: Journal) -> list[tuple[str, dict[str, object]]]:
    with database.transaction() as session:
        assert journal.verify(session).ok
        return [(e.action, e.details) for e in journal.entries(session, readable_labels=None)]


def test_concurrent_appends_are_all_committed_in_fewer_transactions(
    database: Database, journal: Journal
) -> None:
    transactions = CountingTransactions(database)
    writer = JournalWriter(transactions, journal)

    async def one(i: int) -> int:
        await writer.append(
            actor="user:alice", action="inference.chat", objects=[], label="FR DR", details={"i": i}
        )
        with database.transaction() as session:  # committed before the caller resumes
            return journal.count(session)

    async def burst() -> list[int]:
        return await asyncio.gather(*(one(i) for i in range(64)))

    counts = asyncio.run(burst())
    writer.close()
    entries = _entries(database, journal)
    assert sorted(e[1]["i"] for e in entries) == list(range(64))  # type: ignore[type-var]
    assert all(count >= 1 for count in counts)
    assert transactions.opened < 64


def test_an_entry_the_journal_refuses_fails_alone(database: Database, journal: Journal) -> None:
    writer = JournalWriter(database.transaction, journal)

    async def burst() -> list[BaseException | None]:
        details: list[object] = [{"i": 1}, {"bad": {1, 2}}, {"i": 3}]
        return await asyncio.gather(
            *(
                writer.append(actor="user:alice", action="a", objects=[], label="FR DR", details=d)  # type: ignore[arg-type]
                for d in details
            ),
            return_exceptions=True,
        )

    results = asyncio.run(burst())
    writer.close()
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], InvalidInput)
    assert sorted(d["i"] for _, d in _entries(database, journal)) == [1, 3]  # type: ignore[type-var]


def test_closing_writes_what_is_queued_and_a_later_entry_is_still_written(
    database: Database, journal: Journal
) -> None:
    writer = JournalWriter(database.transaction, journal)

    async def burst(action: str) -> None:
        await asyncio.gather(
            *(
                writer.append(actor="a", action=action, objects=[], label="FR DR", details={})
                for _ in range(20)
            )
        )

    asyncio.run(burst("before"))
    writer.close()
    writer.close()
    asyncio.run(burst("after"))
    writer.close()
    actions = [action for action, _ in _entries(database, journal)]
    assert actions == ["before"] * 20 + ["after"] * 20
