"""Full-text and vector ranking inside SQL, one implementation per database.

Every ranking query takes the set of label ids the caller may read and keeps
`label_id IN (…)` in its WHERE clause, so candidates above the caller's
clearance are never ranked, counted or returned — there is no top-k filtered
afterwards that could starve or betray the result. The ranking queries return
chunk ids and scores only; the text is fetched afterwards by
`egide.knowledge.search.hydrate`, under row-level security on PostgreSQL.

- Full text: BM25 computed in one SQL statement from statistics of the
  *readable* chunks only — number of chunks and average length summed from
  `chunk_stats` over the readable labels (migration 0006), document frequency
  of each term counted among the readable chunks it matches. A stock BM25
  would weigh terms by their frequency across every chunk, so the order of a
  reader's results could change with text they may not read; here it cannot.
  SQLite reads term frequencies from FTS5's own index (`chunks_fts_instances`,
  an fts5vocab table); PostgreSQL from `chunk_terms` (migration 0007), an
  inverted index whose entries carry label, collection, term frequency and
  chunk length, so ranking never visits a chunk's row.
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
from typing import Any, Protocol

import numpy as np
from sqlalchemy import BindParameter, TextClause, bindparam, text
from sqlalchemy.orm import Session

from egide.errors import ConfigurationError

# Words as both full-text indexes split them: letters and digits (an underscore separates).
_TERM = re.compile(r"[^\W_]+", re.UNICODE)
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
# The role hydration runs as on PostgreSQL (created by migration 0005_row_security).
READER_ROLE = "egide_reader"
BM25_K1 = 1.2
BM25_B = 0.75


class Index(Protocol):
    """What a database must offer the knowledge base; every ranking filters by readable label."""

    def add_vectors(
        self, session: Session, rows: Sequence[tuple[int, int, int]], vectors: np.ndarray
    ) -> None: ...

    def fulltext(
        self,
        session: Session,
        words: Sequence[str],
        readable: Collection[int],
        collections: Sequence[int] | None,
        k: int,
    ) -> Ranked: ...

    def dense(
        self,
        session: Session,
        vector: np.ndarray,
        readable: Collection[int],
        collections: Sequence[int] | None,
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


def token_count(text: str) -> int:
    """The length of a chunk for BM25, in words as the full-text index splits them."""
    return len(_TERM.findall(fold(text)))


def fulltext(
    index: Index,
    session: Session,
    query: str,
    readable: Collection[int],
    collections: Sequence[int] | None,
    k: int,
) -> Ranked:
    """BM25 over the readable chunks, with statistics of the readable chunks only."""
    words = terms(query)
    if not words or not readable:
        return []
    return index.fulltext(session, words, readable, collections, k)


def _bm25_params(
    words: Sequence[str], readable: Collection[int], collections: Sequence[int] | None, k: int
) -> dict[str, Any]:
    return {
        "readable": sorted(int(i) for i in readable),
        "collections": _ids(collections),
        "k": k,
        "k1": BM25_K1,
        "k1p1": BM25_K1 + 1,
        "b": BM25_B,
        "b1": 1 - BM25_B,
        **{f"w{i}": w for i, w in enumerate(words)},
    }


# BM25 of one (chunk, term): idf · tf·(k1+1) / (tf + k1·(1 − b + b·length/average)).
_BM25 = "{idf} * {tf} * :k1p1 / ({tf} + :k1 * (:b1 + :b * {length} / s.average))"


def _ids(collections: Sequence[int] | None) -> list[int] | None:
    return None if collections is None else sorted(int(i) for i in collections)


def _stats(collections: Sequence[int] | None) -> str:
    """The CTE `s` of readable totals: a sum over the readable labels' rows (migration 0006)."""
    return (
        "s AS (SELECT sum(chunks) AS n, sum(tokens) * 1.0 / nullif(sum(chunks), 0) AS average "
        "FROM chunk_stats WHERE label_id IN :readable" + _scope(collections, None) + ")"
    )


def _scope(collections: Sequence[int] | None, table: str | None = "c") -> str:
    """The collection condition on `table`'s column (none when every collection may be read).

    The caller's organisation may be kept out of some collections: a search "in
    every collection" then names the ones it may use, inside the ranking SQL.
    """
    if collections is None:
        return ""
    column = f"{table}.collection_id" if table else "collection_id"
    return f" AND {column} IN :collections"


def _expanding(sql: str) -> TextClause:
    params: list[BindParameter[Any]] = [bindparam("readable", expanding=True)]
    if ":collections" in sql:
        params.append(bindparam("collections", expanding=True))
    return text(sql).bindparams(*params)


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

    def fulltext(
        self,
        session: Session,
        words: Sequence[str],
        readable: Collection[int],
        collections: Sequence[int] | None,
        k: int,
    ) -> Ranked:
        """Exact BM25 over every readable chunk matching a word, in one statement."""
        # FTS5 gives each occurrence of the words (fts5vocab, driven by the term); the
        # chunk's row then brings label, collection and length. CROSS JOIN keeps that
        # order: left to itself SQLite walks the collection's chunks and probes FTS5 per
        # chunk, hundreds of times slower.
        values = ", ".join(f"(:w{i})" for i in range(len(words)))
        statement = _expanding(
            f"WITH q(term) AS (VALUES {values}), "
            + _stats(collections)
            + ", t AS (SELECT v.doc, v.term, count(*) AS tf FROM q "
            "CROSS JOIN chunks_fts_instances v ON v.term = q.term GROUP BY v.doc, v.term), "
            "r AS MATERIALIZED (SELECT t.doc, t.term, t.tf, c.tokens FROM t "
            "CROSS JOIN chunks c ON c.id = t.doc WHERE c.label_id IN :readable"
            + _scope(collections)
            + "), "
            "w AS (SELECT r.term, egide_ln(1 + (s.n - count(*) + 0.5) / (count(*) + 0.5)) AS idf "
            "FROM r, s GROUP BY r.term, s.n) "
            "SELECT r.doc, sum("
            + _BM25.format(idf="w.idf", tf="r.tf", length="r.tokens")
            + ") AS score FROM r JOIN w ON w.term = r.term, s "
            "GROUP BY r.doc ORDER BY score DESC, r.doc LIMIT :k"
        )
        # SQLite's own ln() exists only when compiled with its math functions.
        raw = session.connection().connection.driver_connection
        raw.create_function("egide_ln", 1, _ln, deterministic=True)  # type: ignore[union-attr]
        rows = session.execute(statement, _bm25_params(words, readable, collections, k))
        return [(int(row[0]), float(row[1])) for row in rows]

    def dense(
        self,
        session: Session,
        vector: np.ndarray,
        readable: Collection[int],
        collections: Sequence[int] | None,
        k: int,
    ) -> Ranked:
        if not readable:
            return []
        statement = _expanding(
            "SELECT v.chunk_id, vec_distance_cosine(v.embedding, :query) AS distance "
            "FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id "
            "WHERE v.label_id IN :readable"
            + _scope(collections)
            + " ORDER BY distance, v.chunk_id LIMIT :k"
        )
        params = {
            "query": vector.astype(np.float32).tobytes(),
            "readable": list(readable),
            "k": k,
            "collections": _ids(collections),
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
    """The word index `chunk_terms` (from the `tsv` column) + pgvector (HNSW)."""

    def confine(self, session: Session, readable: Collection[int]) -> None:
        """Become `egide_reader` for the rest of the transaction, reading only `readable` labels.

        Called after ranking, before the passages are read (`search.hydrate`):
        row-level security (migration 0005) then hides every other chunk and
        document even from a query that forgot its label filter. Ranking runs
        before, as the application role, which alone may read the word index
        `chunk_terms` (each ranking query keeps its own label filter). Both
        settings are transaction-local: they end with the commit or rollback.
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

    def fulltext(
        self,
        session: Session,
        words: Sequence[str],
        readable: Collection[int],
        collections: Sequence[int] | None,
        k: int,
    ) -> Ranked:
        """Exact BM25 in one statement, read from the word index alone (migration 0007)."""
        # One range of `chunk_terms`' primary key per word, the readable labels and the
        # collection inside it: term frequency and chunk length come with each entry,
        # so no chunk row is visited (an index-only scan once the table is vacuumed).
        statement = _expanding(
            "WITH "
            + _stats(collections)
            + ", p AS MATERIALIZED (SELECT t.term, t.chunk_id, t.tf, t.tokens "
            "FROM chunk_terms t WHERE t.term = ANY (CAST(:words AS text[])) "
            "AND t.label_id IN :readable" + _scope(collections, "t") + "), "
            "w AS (SELECT p.term, ln(1 + (s.n - count(*) + 0.5) / (count(*) + 0.5)) AS idf "
            "FROM p, s GROUP BY p.term, s.n) "
            "SELECT p.chunk_id, sum("
            + _BM25.format(idf="w.idf", tf="p.tf", length="p.tokens")
            + ") AS score FROM p JOIN w ON w.term = p.term, s "
            "GROUP BY p.chunk_id ORDER BY score DESC, p.chunk_id LIMIT :k"
        )
        params = _bm25_params(words, readable, collections, k)
        params["words"] = list(words)
        rows = session.execute(statement, params)
        return [(int(row[0]), float(row[1])) for row in rows]

    def dense(
        self,
        session: Session,
        vector: np.ndarray,
        readable: Collection[int],
        collections: Sequence[int] | None,
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
            + _scope(collections)
            + " ORDER BY distance, c.id LIMIT :k"
        )
        params = {
            "query": _literal(vector),
            "readable": list(readable),
            "k": k,
            "collections": _ids(collections),
        }
        return [(row[0], 1.0 - float(row[1])) for row in session.execute(statement, params)]


def _ln(value: float) -> float:
    return math.log(value)


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
