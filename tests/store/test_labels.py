"""The label interning table."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from egide.core.labels import PolicyRegistry
from egide.store import Database, LabelRecord, all_labels, intern_label


def test_intern_is_get_or_create(database: Database) -> None:
    with database.transaction() as session:
        secret = intern_label(session, "FR SECRET")
        assert intern_label(session, "FR SECRET") == secret
        restricted = intern_label(session, "FR DR")
    with database.transaction() as session:
        assert intern_label(session, "FR SECRET") == secret
        assert all_labels(session) == [(secret, "FR SECRET"), (restricted, "FR DR")]


def test_intern_rolls_back_with_its_transaction(database: Database) -> None:
    try:
        with database.transaction() as session:
            intern_label(session, "FR SECRET")
            raise RuntimeError
    except RuntimeError:
        pass
    with database.transaction() as session:
        assert all_labels(session) == []


def test_concurrent_interning_yields_one_row_per_label(database: Database) -> None:
    labels = [f"LABEL {n}" for n in range(5)]

    def intern_all(_worker: int) -> dict[str, int]:
        # Same order in every worker: opposite orders can deadlock on
        # PostgreSQL, which then aborts one transaction (see docs/storage.md).
        with database.transaction() as session:
            return {label: intern_label(session, label) for label in labels}

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(intern_all, range(12)))
    assert all(result == results[0] for result in results)
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(LabelRecord)) == 5


def test_markings_stored_by_earlier_versions_still_resolve(database: Database) -> None:
    """Rows interned before originator control resolve, and a broken one blocks no one."""
    registry = PolicyRegistry.builtin()
    with database.transaction() as session:
        old = intern_label(session, "SECRET SPÉCIAL FRANCE")
        plain = intern_label(session, "SECRET")
        nato = intern_label(session, "NATO SECRET")
        broken = intern_label(session, "NATO SECRET INDUSTRIEL")  # an old unreadable join
        new = intern_label(session, registry.canonical(registry.parse("SECRET SPÉCIAL FRANCE")))
    assert new == plain
    with database.transaction() as session:
        labels = dict(registry.parse_stored(all_labels(session)))
    assert broken not in labels and labels[old] == labels[plain]
    french, german = (registry.parse_clearance(c) for c in ("SECRET", "NATO SECRET NAT DEU"))
    assert {i for i, lb in labels.items() if french.permits(lb).allowed} == {old, plain, nato}
    assert {i for i, lb in labels.items() if german.permits(lb).allowed} == {nato}
