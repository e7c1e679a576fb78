"""Documents and passages get random ids: an id no longer counts hidden rows.

From this version on, new documents and chunks take ids drawn at random up to
2**53 - 1 (`egide.store.ids`) instead of the next number of a sequence, so a
reader who sees two ids learns nothing of how many documents or passages,
readable or not, were added between them. Existing rows keep their ids
(journal entries and citations name them).

SQLite needs no change: an INTEGER PRIMARY KEY holds 64 bits. On PostgreSQL
the id columns and those that refer to them widen from integer to bigint;
their sequences stay, unused (the application always gives the id).
Downgrading leaves them bigint.

Revision ID: 0012_random_ids
Revises: 0011_conversations
"""

from __future__ import annotations

from alembic import op

revision = "0012_random_ids"
down_revision = "0011_conversations"
branch_labels = None
depends_on = None

COLUMNS = (
    ("documents", "id"),
    ("document_versions", "document_id"),
    ("chunks", "id"),
    ("chunks", "document_id"),
    ("chunk_terms", "chunk_id"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE bigint")


def downgrade() -> None:
    # The columns stay bigint: narrowing them fails as soon as one random id is stored,
    # and earlier versions read and write bigint ids as well as integer ones.
    return
