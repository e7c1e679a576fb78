"""Knowledge base: collections, documents, chunks, embedding cache, full-text and vector index.

Revision ID: 0003_knowledge
Revises: 0002_model_registry
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_knowledge"
down_revision = "0002_model_registry"
branch_labels = None
depends_on = None

DIMENSIONS = 384
ACCENTED = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿ"
PLAIN = "aaaaaaceeeeiiiinooooouuuuyy"


def upgrade() -> None:
    op.create_table(
        "collections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("default_label_id", sa.Integer(), nullable=True),
        sa.Column("organisations", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collections")),
        sa.UniqueConstraint("name", name=op.f("uq_collections_name")),
        sa.ForeignKeyConstraint(
            ["default_label_id"], ["labels.id"], name=op.f("fk_collections_default_label_id_labels")
        ),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name=op.f("fk_documents_collection_id_collections"),
        ),
        sa.ForeignKeyConstraint(
            ["label_id"], ["labels.id"], name=op.f("fk_documents_label_id_labels")
        ),
    )
    for column in ("collection_id", "content_hash", "label_id"):
        op.create_index(op.f(f"ix_documents_{column}"), "documents", [column])
    op.create_table(
        "chunks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.Column("section", sa.Text(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chunks")),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_chunks_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["collection_id"], ["collections.id"], name=op.f("fk_chunks_collection_id_collections")
        ),
        sa.ForeignKeyConstraint(
            ["label_id"], ["labels.id"], name=op.f("fk_chunks_label_id_labels")
        ),
    )
    for column in ("document_id", "collection_id", "label_id"):
        op.create_index(op.f(f"ix_chunks_{column}"), "chunks", [column])
    op.create_table(
        "embedding_cache",
        sa.Column("embedder", sa.String(100), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("embedder", "content_hash", name=op.f("pk_embedding_cache")),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres_index()
    else:
        _sqlite_index()


def _postgres_index() -> None:
    # Creating the extension needs a privileged role; a DBA may create it beforehand.
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute(f"ALTER TABLE chunks ADD COLUMN embedding vector({DIMENSIONS})")
    # 'simple': no stemming, so French and English behave alike; accents are folded
    # (as SQLite's FTS5 does) with translate(), which needs no extension.
    op.execute(
        "ALTER TABLE chunks ADD COLUMN tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', "
        f"translate(lower(text), '{ACCENTED}', '{PLAIN}'))) STORED"
    )
    op.execute("CREATE INDEX ix_chunks_tsv ON chunks USING gin (tsv)")
    op.execute(
        "CREATE INDEX ix_chunks_embedding ON chunks USING hnsw (embedding vector_cosine_ops)"
    )


def _sqlite_index() -> None:
    op.execute(
        "CREATE TABLE chunk_vectors ("
        " chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,"
        " label_id INTEGER NOT NULL, collection_id INTEGER NOT NULL, embedding BLOB NOT NULL)"
    )
    op.execute("CREATE INDEX ix_chunk_vectors_label_id ON chunk_vectors (label_id)")
    # remove_diacritics 2: "protege" finds "protégé", as analysts type without accents.
    op.execute(
        "CREATE VIRTUAL TABLE chunks_fts USING fts5("
        " text, content='chunks', content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute(
        "CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN"
        " INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text); END"
    )
    op.execute(
        "CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN"
        " INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS chunks_fts_delete")
        op.execute("DROP TRIGGER IF EXISTS chunks_fts_insert")
        op.execute("DROP TABLE IF EXISTS chunks_fts")
        op.execute("DROP TABLE IF EXISTS chunk_vectors")
    op.drop_table("embedding_cache")
    op.drop_table("chunks")
    op.drop_table("documents")
    op.drop_table("collections")
