"""The schema after migrating from empty is pinned, per dialect, in ``schema_<dialect>.txt``.

When a migration changes the schema on purpose, regenerate the files with::

    EGIDE_REGENERATE_SCHEMA=1 .venv/bin/pytest tests/store/test_schema.py

and review the diff in the commit.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from egide.store import Base, Database

HERE = Path(__file__).parent


def dump_schema(connection: Connection) -> str:
    """A stable text description of every table, column, key, index and trigger."""
    inspector = inspect(connection)
    lines: list[str] = []
    for table in sorted(inspector.get_table_names()):
        lines.append(f"table {table}")
        for column in inspector.get_columns(table):
            null = "NULL" if column["nullable"] else "NOT NULL"
            kind = str(column["type"])
            if getattr(column["type"], "timezone", False):
                kind += " WITH TIME ZONE"
            lines.append(f"  column {column['name']} {kind} {null}")
        pk = inspector.get_pk_constraint(table)
        lines.append(f"  primary key {pk['name']} ({', '.join(pk['constrained_columns'])})")
        for fk in sorted(inspector.get_foreign_keys(table), key=lambda f: str(f["name"])):
            lines.append(
                f"  foreign key {fk['name']} ({', '.join(fk['constrained_columns'])}) -> "
                f"{fk['referred_table']} ({', '.join(fk['referred_columns'])})"
            )
        for uq in sorted(inspector.get_unique_constraints(table), key=lambda u: str(u["name"])):
            lines.append(f"  unique {uq['name']} ({', '.join(uq['column_names'])})")
        for ck in sorted(inspector.get_check_constraints(table), key=lambda c: str(c["name"])):
            lines.append(f"  check {ck['name']} {ck['sqltext']}")
        for ix in sorted(inspector.get_indexes(table), key=lambda i: str(i["name"])):
            unique = "unique " if ix["unique"] else ""
            columns = ", ".join(str(c) for c in ix["column_names"])
            lines.append(f"  {unique}index {ix['name']} ({columns})")
    lines.extend(f"trigger {name}" for name in _triggers(connection))
    return "\n".join(lines) + "\n"


def _triggers(connection: Connection) -> list[str]:
    if connection.dialect.name == "postgresql":
        query = "SELECT tgrelid::regclass || '.' || tgname FROM pg_trigger WHERE NOT tgisinternal"
    else:
        query = "SELECT tbl_name || '.' || name FROM sqlite_master WHERE type = 'trigger'"
    return sorted(str(row[0]) for row in connection.execute(text(query)))


def test_schema_is_pinned(database: Database) -> None:
    with database.engine.connect() as connection:
        actual = dump_schema(connection)
    pinned = HERE / f"schema_{database.dialect}.txt"
    if os.environ.get("EGIDE_REGENERATE_SCHEMA"):
        pinned.write_text(actual, encoding="utf-8")
    assert pinned.exists(), (
        f"{pinned.name} missing: run EGIDE_REGENERATE_SCHEMA=1 pytest {__file__}"
    )
    assert actual == pinned.read_text(encoding="utf-8"), (
        f"the {database.dialect} schema differs from {pinned.name}. If a migration changed it on "
        f"purpose, run EGIDE_REGENERATE_SCHEMA=1 .venv/bin/pytest {__file__} and commit the diff"
    )


# The search index is reached with plain SQL and differs by database (see
# egide/knowledge/ranking.py): its tables, columns and indexes have no ORM model.
INDEX_ONLY = {
    "chunk_vectors",
    "chunk_terms",
    "embedding",
    "tsv",
    "ix_chunks_tsv",
    "ix_chunks_embedding",
    "ix_chunk_vectors_label_id",
}


def _include(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    return not (name in INDEX_ONLY or (name or "").startswith("chunks_fts"))


def test_models_match_migrations(database: Database) -> None:
    # Every table's model must be imported for Base.metadata to know it.
    import egide.knowledge.records
    import egide.modelhub.records
    import egide.planning.records
    import egide.streams.records
    import egide.workflows.records  # noqa: F401

    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": _include}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], (
        "the models in egide/store/models.py and the migrations disagree; "
        f"write a migration for: {differences}"
    )
