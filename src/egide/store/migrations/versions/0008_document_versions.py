"""Documents keep one stable id across versions; each version's metadata is kept.

Before, a changed file of the same name became a new `documents` row and the
old row was marked "superseded", so a document's id changed with each
version (and anyone could version anyone's document by its file name). Now a
document is one row whose id never changes; `document_versions` holds one row
per ingested version (file name, title, digest, label at ingestion, actor,
time). Existing superseded rows are folded into the versions of the current
document of the same collection and file name, then removed (they had no
passages left).

On SQLite the vector table `chunk_vectors` keeps its own copy of each chunk's
label for the label filter of dense search: a trigger now copies a chunk's
new label there in the same statement, so relabelling a document
(`egide documents relabel`) moves its vectors with it. PostgreSQL keeps the
vector on the chunk row itself; its existing triggers already follow label
changes in `chunk_stats` and `chunk_terms`.

Revision ID: 0008_document_versions
Revises: 0007_term_postings
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_document_versions"
down_revision = "0007_term_postings"
branch_labels = None
depends_on = None

# The current document each row belongs to: itself, or for a superseded row the
# current row of the same collection and file name with a later version.
_OWNER = (
    "(SELECT c.id FROM documents c WHERE c.collection_id = d.collection_id "
    "AND c.filename = d.filename AND c.status = 'current' AND c.version > d.version "
    "ORDER BY c.id DESC LIMIT 1)"
)


def upgrade() -> None:
    op.create_table(
        "document_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        # bigint on PostgreSQL: document ids are random 53-bit numbers since
        # 0009_random_ids (this step runs again over them after a downgrade below it).
        sa.Column(
            "document_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_versions")),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_versions_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["label_id"], ["labels.id"], name=op.f("fk_document_versions_label_id_labels")
        ),
        sa.UniqueConstraint(
            "document_id", "version", name=op.f("uq_document_versions_document_id_version")
        ),
    )
    for column in ("document_id", "label_id"):
        op.create_index(op.f(f"ix_document_versions_{column}"), "document_versions", [column])
    # Ingestion looks each file's name up in its collection.
    op.create_index(
        op.f("ix_documents_collection_id_filename"), "documents", ["collection_id", "filename"]
    )
    columns = "document_id, version, title, filename, content_hash, label_id, actor, created_at"
    values = "d.version, d.title, d.filename, d.content_hash, d.label_id, 'migrated', d.created_at"
    op.execute(
        f"INSERT INTO document_versions ({columns}) "
        f"SELECT d.id, {values} FROM documents d WHERE d.status = 'current'"
    )
    op.execute(
        f"INSERT INTO document_versions ({columns}) "
        f"SELECT {_OWNER}, {values} FROM documents d "
        f"WHERE d.status <> 'current' AND {_OWNER} IS NOT NULL"
    )
    superseded = "SELECT id FROM documents WHERE status <> 'current'"
    op.execute(f"DELETE FROM chunks WHERE document_id IN ({superseded})")
    op.execute("DELETE FROM documents WHERE status <> 'current'")
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER chunk_vectors_label AFTER UPDATE OF label_id ON chunks BEGIN "
            "UPDATE chunk_vectors SET label_id = new.label_id WHERE chunk_id = new.id; END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS chunk_vectors_label")
    op.drop_index(op.f("ix_documents_collection_id_filename"), table_name="documents")
    op.drop_table("document_versions")
