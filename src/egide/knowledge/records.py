"""Tables of the knowledge base (migrations 0003_knowledge, 0008_document_versions,
0011_conversations, 0012_random_ids).

Documents and chunks have random ids (`egide.store.ids`, migration
0012_random_ids): an id shown to a reader says nothing of how many rows,
readable or not, came before it.

The vector and full-text columns differ by database and are reached with
plain SQL in `egide.knowledge.ranking`: on SQLite, `chunk_vectors` (float32
blobs compared by sqlite-vec) and the FTS5 table `chunks_fts`; on PostgreSQL,
`chunks.embedding vector(384)` with an HNSW index and the generated
`chunks.tsv` column, whose words triggers copy into the inverted index
`chunk_terms` (migration 0007). `chunk_stats` (migration 0006) keeps the
full-text statistics per (collection, label).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from egide.store import PUBLIC_ID, Base, random_id, utcnow


class CollectionRecord(Base):
    """A named set of documents with its default label and access list."""

    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    default_label_id: Mapped[int | None] = mapped_column(ForeignKey("labels.id"), nullable=True)
    organisations: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DocumentRecord(Base):
    """A document: a stable id, its current version's metadata and its current label.

    A new version (`egide ingest --replace ID`) updates this row in place and
    adds a `DocumentVersionRecord`; the id never changes. `status` is always
    "current" since migration 0008 (older databases kept superseded versions as
    rows of their own; the migration folds them into `document_versions`).
    """

    __tablename__ = "documents"
    # Ingestion looks a file's name up in its collection (migration 0008).
    __table_args__ = (Index("ix_documents_collection_id_filename", "collection_id", "filename"),)

    id: Mapped[int] = mapped_column(
        PUBLIC_ID, primary_key=True, autoincrement=False, default=random_id
    )
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id"), index=True)
    title: Mapped[str] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="current")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DocumentVersionRecord(Base):
    """One ingested version of a document: what was given, when, by whom, at which label.

    Only the current version's passages are kept (in `chunks`); earlier versions
    leave their metadata here. The label is the one the version was ingested at;
    later relabellings are journal entries (`document.relabel`).
    """

    __tablename__ = "document_versions"
    __table_args__ = (UniqueConstraint("document_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(
        PUBLIC_ID, ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id"), index=True)
    actor: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChunkRecord(Base):
    """A retrieval unit with its provenance and its own label."""

    __tablename__ = "chunks"

    id: Mapped[int] = mapped_column(
        PUBLIC_ID, primary_key=True, autoincrement=False, default=random_id
    )
    document_id: Mapped[int] = mapped_column(
        PUBLIC_ID, ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    page: Mapped[int | None] = mapped_column(Integer, nullable=True)
    section: Mapped[str] = mapped_column(Text, default="")
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id"), index=True)
    # Words as the full-text index counts them: the chunk's length for BM25 (migration 0006).
    tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ChunkStatsRecord(Base):
    """Number of chunks and of their words per (collection, label), kept by triggers on chunks.

    A reader's full-text statistics are sums over the labels they may read
    (`egide.knowledge.ranking`), never over the whole collection.
    """

    __tablename__ = "chunk_stats"

    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id"), primary_key=True)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id"), primary_key=True)
    chunks: Mapped[int] = mapped_column(Integer)
    tokens: Mapped[int] = mapped_column(BigInteger)


class EmbeddingCacheRecord(Base):
    """An embedding computed once per (embedder, text hash), reused forever."""

    __tablename__ = "embedding_cache"

    embedder: Mapped[str] = mapped_column(String(100), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class ConversationRecord(Base):
    """A user's conversation with the knowledge base (migration 0011_conversations).

    `label_id` is the join of its messages' labels and of its working label;
    `working_label_id` is the label chosen before the first question, at which
    every question of the conversation is asked.
    """

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(Text)
    collection: Mapped[str | None] = mapped_column(String(200), nullable=True)
    working_label_id: Mapped[int] = mapped_column(ForeignKey("labels.id"))
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationMessageRecord(Base):
    """One message of a conversation: a question or an answer, with its own label."""

    __tablename__ = "conversation_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id"))
    # The answer's checked citations (number, chunk, document, title, page, marking, quote).
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
