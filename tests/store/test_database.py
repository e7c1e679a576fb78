"""Database: migrations, transaction boundaries, SQLite settings, clear errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import exc, select, text

from egide.errors import ConfigurationError, Conflict, Unavailable
from egide.store import Database, FlagRecord, OrganisationRecord, PrincipalRecord
from egide.store.database import sqlite_module


def test_migrate_reaches_head_and_is_idempotent(database: Database) -> None:
    assert database.current_revision() == Database.head_revision()
    database.migrate()
    assert database.current_revision() == Database.head_revision()


def test_fresh_database_has_no_revision(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert db.current_revision() is None
    finally:
        db.dispose()


def test_transaction_commits_on_success(database: Database) -> None:
    with database.transaction() as session:
        session.add(OrganisationRecord(name="EMA"))
    with database.transaction() as session:
        assert session.scalar(select(OrganisationRecord.name)) == "EMA"


def test_transaction_rolls_back_on_error(database: Database) -> None:
    with pytest.raises(RuntimeError), database.transaction() as session:
        session.add(OrganisationRecord(name="EMA"))
        session.flush()
        raise RuntimeError("the action failed")
    with database.transaction() as session:
        assert session.scalar(select(OrganisationRecord)) is None


def test_duplicate_is_conflict(database: Database) -> None:
    with database.transaction() as session:
        session.add(OrganisationRecord(name="EMA"))
    with pytest.raises(Conflict, match="already exists"), database.transaction() as session:
        session.add(OrganisationRecord(name="EMA"))


def test_foreign_keys_are_enforced(database: Database) -> None:
    with pytest.raises(exc.IntegrityError), database.transaction() as session:
        session.add(PrincipalRecord(username="alice", clearance="NR", organisation_id=999))


def test_principal_kind_is_checked(database: Database) -> None:
    with pytest.raises(exc.IntegrityError), database.transaction() as session:
        session.add(PrincipalRecord(username="alice", clearance="NR", kind="robot"))


def test_timestamps_come_back_utc_aware_with_microseconds(database: Database) -> None:
    paris = timezone(timedelta(hours=2))
    moment = datetime(2025, 6, 1, 14, 30, 15, 123456, tzinfo=paris)
    with database.transaction() as session:
        session.add(OrganisationRecord(name="EMA", created_at=moment))
    with database.transaction() as session:
        stored = session.scalar(select(OrganisationRecord.created_at))
    assert stored == moment
    assert stored is not None and stored.tzinfo == UTC
    assert stored.hour == 12 and stored.microsecond == 123456


def test_naive_timestamps_are_refused(database: Database) -> None:
    naive = datetime(2025, 1, 1)
    with pytest.raises(exc.StatementError, match="naive"), database.transaction() as session:
        session.add(OrganisationRecord(name="EMA", created_at=naive))


def test_json_columns_round_trip(database: Database) -> None:
    with database.transaction() as session:
        session.add(PrincipalRecord(username="alice", clearance="NR", roles=["analyst", "auditor"]))
        session.add(FlagRecord(key="ai.suspended", value={"on": True, "by": "ops"}))
    with database.transaction() as session:
        assert session.scalar(select(PrincipalRecord.roles)) == ["analyst", "auditor"]
        flag = session.get(FlagRecord, "ai.suspended")
        assert flag is not None and flag.value == {"on": True, "by": "ops"}
        assert flag.updated_at.tzinfo == UTC


def test_sqlite_settings(data_dir: Path) -> None:
    db = Database(f"sqlite:///{data_dir / 'egide.db'}")
    try:
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    finally:
        db.dispose()


def test_sqlite_driver_can_load_extensions() -> None:
    # sqlite-vec (later) needs a driver built with extension loading.
    module = sqlite_module()
    assert module.__name__ == "pysqlite3.dbapi2"
    connection = module.connect(":memory:")
    try:
        connection.enable_load_extension(True)
    finally:
        connection.close()


def test_sqlite_creates_the_data_directory(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'new' / 'dir' / 'egide.db'}")
    try:
        db.migrate()
    finally:
        db.dispose()
    assert (tmp_path / "new" / "dir" / "egide.db").is_file()


def test_unusable_sqlite_path_is_a_configuration_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigurationError, match="EGIDE_DATA_DIR"):
        Database(f"sqlite:///{blocker / 'egide.db'}")


def test_database_path_that_is_a_directory_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="is a directory"):
        Database(f"sqlite:///{tmp_path}")


def test_data_directory_removed_after_start_is_a_configuration_error(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'gone' / 'egide.db'}")
    (tmp_path / "gone").rmdir()
    try:
        with pytest.raises(ConfigurationError, match="cannot open SQLite database"):
            db.migrate()
    finally:
        db.dispose()


def test_unreachable_postgres_is_unavailable() -> None:
    db = Database("postgresql+psycopg://egide@127.0.0.1:1/egide?connect_timeout=2")
    try:
        with pytest.raises(Unavailable, match=r"127\.0\.0\.1:1 .*check EGIDE_DATABASE_URL"):
            db.migrate()
        with pytest.raises(Unavailable), db.transaction() as session:
            session.execute(text("SELECT 1"))
    finally:
        db.dispose()


@pytest.mark.parametrize("url", ["mysql://x@y/z", "not a url"])
def test_unsupported_url_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError, match="EGIDE_DATABASE_URL"):
        Database(url)
