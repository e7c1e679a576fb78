"""PostgreSQL: an inverted index of chunk words that full-text ranking reads alone.

Ranking with the GIN index on `chunks.tsv` had to visit each matching chunk's
row (wide: text, vector, tsvector) to learn its label, collection and length:
at 100,000 chunks a query touched tens of thousands of scattered pages and
took a quarter of a second. `chunk_terms` holds one narrow row per (word,
chunk) — label, collection, term frequency and chunk length beside it — and
its primary key, ordered by word then collection then label and carrying the
frequency and length, lets one index range per query word give everything
BM25 needs, among the readable labels only, without touching `chunks`.

Triggers on `chunks` keep it exact in the same transaction as every insert,
delete (including a document's cascade) and change of label or collection.
The GIN index, which nothing reads any more, is dropped. SQLite is unchanged:
FTS5 already has its own inverted index (`chunks_fts_instances`).

`egide_reader`, the role passages are read under, gets no right on the
table: its rows name words of chunks above any given reader.

Revision ID: 0007_term_postings
Revises: 0006_chunk_statistics
"""

from __future__ import annotations

from alembic import op

revision = "0007_term_postings"
down_revision = "0006_chunk_statistics"
branch_labels = None
depends_on = None

_FUNCTION = """
CREATE FUNCTION egide_chunk_terms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    DELETE FROM chunk_terms
      WHERE term = ANY (tsvector_to_array(OLD.tsv)) AND collection_id = OLD.collection_id
        AND label_id = OLD.label_id AND chunk_id = OLD.id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO chunk_terms (term, collection_id, label_id, chunk_id, tf, tokens)
      SELECT u.lexeme, NEW.collection_id, NEW.label_id, NEW.id,
             coalesce(cardinality(u.positions), 1), NEW.tokens
      FROM unnest(NEW.tsv) u;
  END IF;
  RETURN NULL;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TABLE chunk_terms ("
        "term text NOT NULL, collection_id integer NOT NULL, label_id integer NOT NULL, "
        # bigint: chunk ids are random 53-bit numbers since 0009_random_ids (this step
        # runs again over them when a database is downgraded below it and upgraded).
        "chunk_id bigint NOT NULL, tf integer NOT NULL, tokens integer NOT NULL, "
        "CONSTRAINT pk_chunk_terms PRIMARY KEY (term, collection_id, label_id, chunk_id) "
        "INCLUDE (tf, tokens))"
    )
    op.execute(
        "INSERT INTO chunk_terms (term, collection_id, label_id, chunk_id, tf, tokens) "
        "SELECT u.lexeme, c.collection_id, c.label_id, c.id, "
        "coalesce(cardinality(u.positions), 1), c.tokens FROM chunks c, unnest(c.tsv) u"
    )
    op.execute(_FUNCTION)
    op.execute(
        "CREATE TRIGGER chunks_terms AFTER INSERT OR DELETE OR "
        "UPDATE OF collection_id, label_id, tokens, text ON chunks "
        "FOR EACH ROW EXECUTE FUNCTION egide_chunk_terms()"
    )
    op.execute("DROP INDEX IF EXISTS ix_chunks_tsv")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX ix_chunks_tsv ON chunks USING gin (tsv)")
    op.execute("DROP TRIGGER IF EXISTS chunks_terms ON chunks")
    op.execute("DROP FUNCTION IF EXISTS egide_chunk_terms()")
    op.execute("DROP TABLE chunk_terms")
