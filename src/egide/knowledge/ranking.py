"""Full-text and vector ranking inside SQL, one implementation per database.

Every ranking query takes the set of label ids the caller may read and keeps
`label_id IN (…)` in its WHERE clause, so candidates above the caller's
clearance are never ranked, counted or returned — there is no top-k filtered
afterwards that could starve or betray the result.

- Full text: each query term is matched by the database's own index (FTS5 on
  SQLite, the GIN-indexed `tsv` column on PostgreSQL), restricted to readable
  labels; BM25 is then computed from statistics of the *readable* chunks only
  (document frequencies, lengths). A stock BM25 would weigh terms by their
  frequency across every chunk, so the order of a reader's results could
  change with text they may not read; here it cannot.
- Dense: exact cosine distance by sqlite-vec over `chunk_vectors` on SQLite (a
  scan: exact, and fast enough for an embedded store); pgvector on PostgreSQL
  with its HNSW index, iterative scans making sure a selective label filter
  still yields k results. Cosine similarity involves no corpus statistics.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection, Sequence
from typing import Protocol

import numpy as np
from sqlalchemy import TextClause, bindparam, select, text
from sqlalchemy.orm import Session

from egide.errors import ConfigurationError
from egide.knowledge.records import ChunkRecord

_TERM = re.compile(r"\w+", re.UNICODE)
Ranked = list[tuple[int, float]]
# Words too common to discriminate, French and English: dropping them keeps the
# per-term match sets small on large collections.
STOPWORDS = frozenset(
    (
        "a an the of to in on at for from by with and or is are was were be been it its this "
        "that these those what which who whom when where why how does do did as into than then "
        "there their they he she his her we you your our not no le la les un une des du de d l "
        "et ou est sont au aux en dans sur pour par avec que qui quoi quel quelle quels quelles "
        "ce cette ces il elle ils elles on ne pas plus se sa son ses leur leurs y s qu c n"
    ).split()
)
# The role retrieval runs as on PostgreSQL (created by migration 0005_row_security).
READER_ROLE = "egide_reader"
BM25_K1 = 1.2
BM25_B = 0.75


class Index(Protocol):
    """What a database must offer the knowledge base; every method filters by readable label."""

    def add_vectors(
        self, session: Session, rows: Sequence[tuple[int, int, int]], vectors: np.ndarray
    ) -> None: ...

    def term_matches(
        self, session: Session, term: str, readable: Collection[int], collection: int | None
    ) -> set[int]: ...

    def scope_size(
        self, session: Session, readable: Collection[int], collection: int | None
    ) -> tuple[int, float]: ...

    def dense(
        self,
        session: Session,
        vector: np.ndarray,
        readable: Collection[int],
        collection: int | None,
        k: int,
    ) -> Ranked: ...

    def confine(self, session: Session, readable: Collection[int]) -> None:
        """Let the rest of this transaction read only rows of the readable labels, if possible."""
        ...


def fold(text: str) -> str:
    """Lower case without accents, as both full-text indexes compare words."""
    plain = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in plain if not unicodedata.combining(c))


def terms(query: str) -> list[str]:
    """The discriminating words of a free-text query."""
    words = [w for w in _TERM.findall(fold(query)) if w not in STOPWORDS]
    return list(dict.fromkeys(words))[:32]


def fulltext(
    index: Index,
    session: Session,
    query: str,
    readable: Collection[int],
    collection: int | None,
    k: int,
) -> Ranked:
    """BM25 over the readable chunks, with statistics of the readable chunks only."""
    words = terms(query)
    if not words or not readable:
        return []
    matches = {w: index.term_matches(session, w, readable, collection) for w in words}
    total, average_chars = index.scope_size(session, readable, collection)
    if total == 0:
        return []
    idf = {
        w: math.log(1 + (total - len(ids) + 0.5) / (len(ids) + 0.5)) for w, ids in matches.items()
    }
    # A first pass on term presence picks the candidates; exact BM25 needs their text.
    presence: dict[int, float] = {}
    for w, ids in matches.items():
        for chunk in ids:
            presence[chunk] = presence.get(chunk, 0.0) + idf[w]
    pool = sorted(presence, key=lambda c: (-presence[c], c))[: max(k * 4, 200)]
    texts: dict[int, str] = {}
    if pool:
        rows = session.execute(
            select(ChunkRecord.id, ChunkRecord.text).where(ChunkRecord.id.in_(pool))
        )
        texts = {row.id: row.text for row in rows}
    scored = []
    for chunk, body in texts.items():
        tokens = _TERM.findall(fold(body))
        length = len(body) / (average_chars or 1)
        counts: dict[str, int] = {}
        for token in tokens:
            if token in idf:
                counts[token] = counts.get(token, 0) + 1
        score = sum(
            idf[w] * tf * (BM25_K1 + 1) / (tf + BM25_K1 * (1 - BM25_B + BM25_B * length))
            for w, tf in counts.items()
        )
        scored.append((chunk, score))
    scored.sort(key=lambda pair: (-pair[1], pair[0]))
    return scored[:k]


def _scope(collection: int | None) -> str:
    return "" if collection is None else " AND c.collection_id = :collection"


def _expanding(sql: str) -> TextClause:
    return text(sql).bindparams(bindparam("readable", expanding=True))


class SqliteIndex:
    """FTS5 + sqlite-vec."""

    def add_vectors(
        self, session: Session, rows: Sequence[tuple[int, int, int]], vectors: np.ndarray
    ) -> None:
        """Store the vector of each (chunk id, label id, collection id)."""
        if not rows:
            return
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

    def term_matches(
        self, session: Session, term: str, readable: Collection[int], collection: int | None
    ) -> set[int]:
        statement = _expanding(
            "SELECT c.id FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid "
            "WHERE chunks_fts MATCH :term AND c.label_id IN :readable" + _scope(collection)
        )
        params = {"term": '"' + term + '"', "readable": list(readable), "collection": collection}
        return set(session.scalars(statement, params))

    def scope_size(
        self, session: Session, readable: Collection[int], collection: int | None
    ) -> tuple[int, float]:
        row = session.execute(
            _expanding(
                "SELECT count(*), avg(length(c.text)) FROM chunks c "
                "WHERE c.label_id IN :readable" + _scope(collection)
            ),
            {"readable": list(readable), "collection": collection},
        ).one()
        return int(row[0]), float(row[1] or 0.0)

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
        statement = _expanding(
            "SELECT v.chunk_id, vec_distance_cosine(v.embedding, :query) AS distance "
            "FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id "
            "WHERE v.label_id IN :readable"
            + _scope(collection)
            + " ORDER BY distance, v.chunk_id LIMIT :k"
        )
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

    def confine(self, session: Session, readable: Collection[int]) -> None:
        """SQLite has no row-level security: the label filter in each query is the guard."""


class PostgresIndex:
    """tsvector (GIN) + pgvector (HNSW)."""

    def confine(self, session: Session, readable: Collection[int]) -> None:
        """Become `egide_reader` for the rest of the transaction, reading only `readable` labels.

        Row-level security (migration 0005) then hides every other chunk and
        document even from a query that forgot its label filter. Both settings
        are transaction-local: they end with the commit or rollback.
        """
        session.execute(text(f"SET LOCAL ROLE {READER_ROLE}"))
        session.execute(
            text("SELECT set_config('egide.readable_labels', :labels, true)"),
            {"labels": "{" + ",".join(str(int(i)) for i in sorted(readable)) + "}"},
        )

    def add_vectors(
        self, session: Session, rows: Sequence[tuple[int, int, int]], vectors: np.ndarray
    ) -> None:
        if not rows:
            return
        session.execute(
            text("UPDATE chunks SET embedding = CAST(:vector AS vector) WHERE id = :chunk"),
            [
                {"chunk": c, "vector": _literal(v)}
                for (c, _, _), v in zip(rows, vectors, strict=True)
            ],
        )

    def term_matches(
        self, session: Session, term: str, readable: Collection[int], collection: int | None
    ) -> set[int]:
        statement = _expanding(
            "SELECT c.id FROM chunks c WHERE c.tsv @@ to_tsquery('simple', :term) "
            "AND c.label_id IN :readable" + _scope(collection)
        )
        # The 'simple' configuration keeps accents: match both spellings a reader may type.
        params = {
            "term": term.replace("'", ""),
            "readable": list(readable),
            "collection": collection,
        }
        return set(session.scalars(statement, params))

    def scope_size(
        self, session: Session, readable: Collection[int], collection: int | None
    ) -> tuple[int, float]:
        row = session.execute(
            _expanding(
                "SELECT count(*), avg(length(c.text)) FROM chunks c "
                "WHERE c.label_id IN :readable" + _scope(collection)
            ),
            {"readable": list(readable), "collection": collection},
        ).one()
        return int(row[0]), float(row[1] or 0.0)

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
        statement = _expanding(
            "SELECT c.id, c.embedding <=> CAST(:query AS vector) AS distance FROM chunks c "
            "WHERE c.embedding IS NOT NULL AND c.label_id IN :readable"
            + _scope(collection)
            + " ORDER BY distance, c.id LIMIT :k"
        )
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
