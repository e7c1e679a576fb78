"""Full-text and vector ranking inside SQL, one implementation per database.

Every ranking query takes the set of label ids the caller may read and keeps
`label_id IN (…)` in its WHERE clause, so candidates above the caller's
clearance are never ranked, counted or returned — there is no top-k filtered
afterwards that could starve or betray the result.

- SQLite: FTS5 `bm25()` over `chunks_fts`; exact cosine distance by sqlite-vec
  over `chunk_vectors` (a scan: exact, and fast enough for an embedded store).
- PostgreSQL: `ts_rank_cd` over the generated `tsv` column (GIN), and pgvector
  cosine distance on `chunks.embedding` with its HNSW index, iterative scans
  making sure a selective label filter still yields k results.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Protocol

import numpy as np
from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from egide.errors import ConfigurationError

_TERM = re.compile(r"\w+", re.UNICODE)
Ranked = list[tuple[int, float]]


class Index(Protocol):
    """What a database must offer the knowledge base."""

    def add_vectors(
        self, session: Session, rows: Sequence[tuple[int, int, int]], vectors: np.ndarray
    ) -> None: ...

    def fulltext(
        self,
        session: Session,
        query: str,
        readable: Collection[int],
        collection: int | None,
        k: int,
    ) -> Ranked: ...

    def dense(
        self,
        session: Session,
        vector: np.ndarray,
        readable: Collection[int],
        collection: int | None,
        k: int,
    ) -> Ranked: ...


def terms(query: str) -> list[str]:
    """The words of a free-text query, for an OR full-text match."""
    return list(dict.fromkeys(t.lower() for t in _TERM.findall(query)))[:64]


def _scope(collection: int | None) -> str:
    return "" if collection is None else " AND c.collection_id = :collection"


class SqliteIndex:
    """FTS5 + sqlite-vec."""

    def add_vectors(
        self, session: Session, rows: Sequence[tuple[int, int, int]], vectors: np.ndarray
    ) -> None:
        """Store the vector of each (chunk id, label id, collection id)."""
        session.execute(
            text(
                "INSERT INTO chunk_vectors (chunk_id, label_id, collection_id, embedding) "
                "VALUES (:chunk, :label, :collection, :vector)"
            ),
            [
                {
                    "chunk": c,
                    "label": lb,
                    "collection": col,
                    "vector": v.astype(np.float32).tobytes(),
                }
                for (c, lb, col), v in zip(rows, vectors, strict=True)
            ],
        )

    def fulltext(
        self,
        session: Session,
        query: str,
        readable: Collection[int],
        collection: int | None,
        k: int,
    ) -> Ranked:
        words = terms(query)
        if not words or not readable:
            return []
        match = " OR ".join('"' + w.replace('"', "") + '"' for w in words)
        statement = text(
            "SELECT c.id, bm25(chunks_fts) AS score FROM chunks_fts "
            "JOIN chunks c ON c.id = chunks_fts.rowid "
            "WHERE chunks_fts MATCH :match AND c.label_id IN :readable"
            + _scope(collection)
            + " ORDER BY score LIMIT :k"
        ).bindparams(bindparam("readable", expanding=True))
        params = {"match": match, "readable": list(readable), "k": k, "collection": collection}
        # bm25() is lower-is-better; negate so that every method ranks higher-is-better.
        return [(row[0], -float(row[1])) for row in session.execute(statement, params)]

    def dense(
        self,
        session: Session,
        vector: np.ndarray,
        readable: Collection[int],
        collection: int | None,
        k: int,
    ) -> Ranked:
        if not readable:
            return []
        statement = text(
            "SELECT v.chunk_id, vec_distance_cosine(v.embedding, :query) AS distance "
            "FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id "
            "WHERE v.label_id IN :readable" + _scope(collection) + " ORDER BY distance LIMIT :k"
        ).bindparams(bindparam("readable", expanding=True))
        params = {
            "query": vector.astype(np.float32).tobytes(),
            "readable": list(readable),
            "k": k,
            "collection": collection,
        }
        try:
            rows = session.execute(statement, params).all()
        except Exception as error:
            if "vec_distance_cosine" in str(error):
                raise ConfigurationError(
                    "dense search needs the sqlite-vec extension, which this Python's sqlite3 "
                    "cannot load; install pysqlite3-binary (scripts/install does)"
                ) from None
            raise
        return [(row[0], 1.0 - float(row[1])) for row in rows]


class PostgresIndex:
    """tsvector + pgvector (HNSW)."""

    def add_vectors(
        self, session: Session, rows: Sequence[tuple[int, int, int]], vectors: np.ndarray
    ) -> None:
        session.execute(
            text("UPDATE chunks SET embedding = CAST(:vector AS vector) WHERE id = :chunk"),
            [
                {"chunk": c, "vector": _literal(v)}
                for (c, _, _), v in zip(rows, vectors, strict=True)
            ],
        )

    def fulltext(
        self,
        session: Session,
        query: str,
        readable: Collection[int],
        collection: int | None,
        k: int,
    ) -> Ranked:
        words = terms(query)
        if not words or not readable:
            return []
        statement = text(
            "SELECT c.id, ts_rank_cd(c.tsv, q) AS score "
            "FROM chunks c, to_tsquery('simple', :query) q "
            "WHERE c.tsv @@ q AND c.label_id IN :readable"
            + _scope(collection)
            + " ORDER BY score DESC, c.id LIMIT :k"
        ).bindparams(bindparam("readable", expanding=True))
        params = {
            "query": " | ".join(w.replace("'", "") for w in words),
            "readable": list(readable),
            "k": k,
            "collection": collection,
        }
        return [(row[0], float(row[1])) for row in session.execute(statement, params)]

    def dense(
        self,
        session: Session,
        vector: np.ndarray,
        readable: Collection[int],
        collection: int | None,
        k: int,
    ) -> Ranked:
        if not readable:
            return []
        # Without iterative scans, HNSW returns its ef_search nearest rows and the
        # label filter then removes the unreadable ones: a cleared-low caller could
        # get too few results. relaxed_order keeps scanning until k rows pass.
        session.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
        statement = text(
            "SELECT c.id, c.embedding <=> CAST(:query AS vector) AS distance FROM chunks c "
            "WHERE c.embedding IS NOT NULL AND c.label_id IN :readable"
            + _scope(collection)
            + " ORDER BY distance LIMIT :k"
        ).bindparams(bindparam("readable", expanding=True))
        params = {
            "query": _literal(vector),
            "readable": list(readable),
            "k": k,
            "collection": collection,
        }
        return [(row[0], 1.0 - float(row[1])) for row in session.execute(statement, params)]


def _literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector.tolist()) + "]"


INDEXES: dict[str, type[SqliteIndex] | type[PostgresIndex]] = {
    "sqlite": SqliteIndex,
    "postgresql": PostgresIndex,
}


def index_for(dialect: str) -> Index:
    """The index implementation of a database dialect."""
    try:
        return INDEXES[dialect]()
    except KeyError:
        raise ConfigurationError(
            f"the knowledge base supports SQLite and PostgreSQL, not {dialect}"
        ) from None
