"""The ``models`` table created by migration 0002 agrees with `ModelRecord`."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from egide.modelhub.records import ModelRecord
from egide.store import Base, Database


def test_model_record_matches_its_migration(database: Database) -> None:
    assert ModelRecord.__table__.metadata is Base.metadata
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    # Other engineers' tables are checked by tests/store/test_schema.py.
    ours = [d for d in differences if "models" in repr(d)]
    assert ours == []


def test_migration_is_at_head(database: Database) -> None:
    assert database.current_revision() == Database.head_revision()
