"""Full-text statistics kept up to date: chunk token counts, totals per (collection, label).

BM25 needs the number of chunks and their average length among the chunks a
reader may read (never over the whole collection: the order of results would
then depend on text the reader may not see). Computing them by scanning every
readable chunk at each query cost hundreds of milliseconds at 10,000 chunks.
Now each chunk stores its token count (`chunks.tokens`, counted as the
full-text index splits words) and `chunk_stats` holds, per (collection,
label), the number of chunks and the sum of their tokens: a reader's totals
are a sum over the labels they may read.

On SQLite, `chunks_fts_instances` (an fts5vocab table over `chunks_fts`)
lists each occurrence of each word, so BM25 reads term frequencies from the
full-text index instead of re-reading the chunks' text.

Triggers on `chunks` maintain `chunk_stats` in the same transaction as every
insert, delete (including a document's cascade) and change of label or
collection, so the totals can never drift from the rows. On PostgreSQL two
concurrent ingestions into the same (collection, label) wait for each other's
commit on that row; ingestion is one file per transaction, so the wait is
short.

Revision ID: 0006_chunk_statistics
Revises: 0005_row_security
"""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0006_chunk_statistics"
down_revision = "0005_row_security"
branch_labels = None
depends_on = None

# As egide.knowledge.ranking.token_count, frozen here: a migration must not change later.
_WORD = re.compile(r"[^\W_]+", re.UNICODE)

_POSTGRES_FUNCTION = """
CREATE FUNCTION egide_chunk_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    UPDATE chunk_stats SET chunks = chunks - 1, tokens = tokens - OLD.tokens
      WHERE collection_id = OLD.collection_id AND label_id = OLD.label_id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO chunk_stats (collection_id, label_id, chunks, tokens)
      VALUES (NEW.collection_id, NEW.label_id, 1, NEW.tokens)
      ON CONFLICT (collection_id, label_id)
      DO UPDATE SET chunks = chunk_stats.chunks + 1, tokens = chunk_stats.tokens + NEW.tokens;
  END IF;
  RETURN NULL;
END $$
"""
_ADD = (
    "INSERT INTO chunk_stats (collection_id, label_id, chunks, tokens) "
    "VALUES (new.collection_id, new.label_id, 1, new.tokens) "
    "ON CONFLICT (collection_id, label_id) DO UPDATE SET "
    "chunks = chunk_stats.chunks + 1, tokens = chunk_stats.tokens + excluded.tokens;"
)
_REMOVE = (
    "UPDATE chunk_stats SET chunks = chunks - 1, tokens = tokens - old.tokens "
    "WHERE collection_id = old.collection_id AND label_id = old.label_id;"
)
_WATCHED = "UPDATE OF collection_id, label_id, tokens"


def _count(text: str) -> int:
    plain = unicodedata.normalize("NFKD", text.lower())
    return len(_WORD.findall("".join(c for c in plain if not unicodedata.combining(c))))


def upgrade() -> None:
    op.add_column("chunks", sa.Column("tokens", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "chunk_stats",
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("tokens", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("collection_id", "label_id", name=op.f("pk_chunk_stats")),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name=op.f("fk_chunk_stats_collection_id_collections"),
        ),
        sa.ForeignKeyConstraint(
            ["label_id"], ["labels.id"], name=op.f("fk_chunk_stats_label_id_labels")
        ),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, text FROM chunks")).all()
    if rows:
        bind.execute(
            sa.text("UPDATE chunks SET tokens = :tokens WHERE id = :id"),
            [{"id": row[0], "tokens": _count(row[1])} for row in rows],
        )
    op.execute(
        "INSERT INTO chunk_stats (collection_id, label_id, chunks, tokens) "
        "SELECT collection_id, label_id, count(*), coalesce(sum(tokens), 0) FROM chunks "
        "GROUP BY collection_id, label_id"
    )
    if bind.dialect.name == "postgresql":
        op.execute(_POSTGRES_FUNCTION)
        op.execute(
            f"CREATE TRIGGER chunks_stats AFTER INSERT OR DELETE OR {_WATCHED} ON chunks "
            "FOR EACH ROW EXECUTE FUNCTION egide_chunk_stats()"
        )
    else:
        # Each occurrence of each word, read from FTS5's own index: term frequencies for BM25.
        op.execute(
            "CREATE VIRTUAL TABLE chunks_fts_instances USING fts5vocab(chunks_fts, instance)"
        )
        op.execute(f"CREATE TRIGGER chunks_stats_insert AFTER INSERT ON chunks BEGIN {_ADD} END")
        op.execute(f"CREATE TRIGGER chunks_stats_delete AFTER DELETE ON chunks BEGIN {_REMOVE} END")
        op.execute(
            f"CREATE TRIGGER chunks_stats_update AFTER {_WATCHED} ON chunks "
            f"BEGIN {_REMOVE} {_ADD} END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS chunks_stats ON chunks")
        op.execute("DROP FUNCTION IF EXISTS egide_chunk_stats()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS chunks_stats_{name}")
        op.execute("DROP TABLE IF EXISTS chunks_fts_instances")
    op.drop_table("chunk_stats")
    with op.batch_alter_table("chunks") as batch:
        batch.drop_column("tokens")
