"""Hybrid retrieval: full-text and dense rankings fused by reciprocal rank.

Both rankings run with the caller's readable label ids inside their SQL and
return ids and scores only; the fusion only ever sees chunks the caller may
read. The content of the fused ids is then fetched by `hydrate`, which first
confines the transaction (row-level security on PostgreSQL) and filters by
label again: a ranked id that comes back hidden is a filter bug, and the
search fails closed rather than return a partial result.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from egide.errors import IntegrityError, InvalidInput
from egide.knowledge.ranking import Index, fulltext
from egide.knowledge.records import ChunkRecord, DocumentRecord
from egide.store import LabelRecord

Mode = Literal["hybrid", "fulltext", "dense"]


class QueryEmbedder(Protocol):
    """Anything that turns a query into a normalised vector."""

    def query(self, text: str) -> np.ndarray: ...


RRF_K = 60


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its provenance, label and scores per method."""

    chunk_id: int
    document_id: int | None
    """None for a passage of a document the reader may not read (its id is withheld)."""
    document_title: str
    filename: str
    text: str
    page: int | None
    section: str
    start: int
    end: int
    label: str
    score: float
    scores: dict[str, float] = field(default_factory=dict)


Reranker = Callable[[str, list[Hit]], list[Hit]]


def fuse(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: each list adds 1/(k + rank) to the items it ranks."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


def search(
    session: Session,
    index: Index,
    embedder: QueryEmbedder,
    query: str,
    *,
    readable: Collection[int],
    collections: Sequence[int] | None = None,
    k: int = 10,
    mode: Mode = "hybrid",
    reranker: Reranker | None = None,
) -> list[Hit]:
    """The `k` best chunks for `query` among those with a readable label.

    `collections` names the collections searched (None: every collection).
    """
    if not query.strip():
        raise InvalidInput("the search query is empty")
    if not 1 <= k <= 100:
        raise InvalidInput("k must be between 1 and 100")
    if collections is not None and not collections:
        return hydrate(session, index, [], {}, readable=readable)
    depth = max(4 * k, 50)
    per_method: dict[str, dict[int, float]] = {}
    rankings: list[list[int]] = []
    if mode in ("hybrid", "fulltext"):
        found = fulltext(index, session, query, readable, collections, depth)
        per_method["fulltext"] = dict(found)
        rankings.append([chunk for chunk, _ in found])
    if mode in ("hybrid", "dense"):
        found = index.dense(session, embedder.query(query), readable, collections, depth)
        per_method["dense"] = dict(found)
        rankings.append([chunk for chunk, _ in found])
    fused = fuse(rankings)[:k]
    hits = hydrate(session, index, fused, per_method, readable=readable)
    return reranker(query, hits) if reranker else hits


def hydrate(
    session: Session,
    index: Index,
    fused: Sequence[tuple[int, float]],
    per_method: dict[str, dict[int, float]],
    *,
    readable: Collection[int],
) -> list[Hit]:
    """The chunks of ranked ids with their documents, read as the reader; all or nothing.

    A chunk of a document whose own label the reader may not read (a readable
    portion of a higher document) comes with no document id, an empty title,
    file name and section, no page and zero offsets.
    The transaction is confined first (on PostgreSQL: the reader role under
    row-level security, for the rest of the transaction) and the query filters
    by readable label too. Ranking has already filtered by label, so every id
    must come back; one that does not is a bug in a ranking filter, and no
    result at all is returned.
    """
    index.confine(session, readable)
    if not fused:
        return []
    ids = [chunk for chunk, _ in fused]
    rows = session.execute(
        select(ChunkRecord, DocumentRecord.title, DocumentRecord.filename, LabelRecord.canonical)
        .join(LabelRecord, LabelRecord.id == ChunkRecord.label_id)
        # A readable paragraph of a document marked higher (portion marking): the
        # document's title and file name stay hidden, as row-level security hides them.
        .outerjoin(
            DocumentRecord,
            (DocumentRecord.id == ChunkRecord.document_id)
            & DocumentRecord.label_id.in_(list(readable)),
        )
        .where(ChunkRecord.id.in_(ids), ChunkRecord.label_id.in_(list(readable)))
    ).all()
    by_id = {row[0].id: row for row in rows}
    if len(by_id) != len(set(ids)):
        raise IntegrityError(
            "retrieval ranked a passage that the reader's label filter hides; nothing was "
            "returned — this is a bug in a ranking query, report it with the journal's time"
        )
    hits = []
    for chunk_id, score in fused:
        chunk, title, filename, label = by_id[chunk_id]
        # A passage of a document the reader may not read says nothing of that
        # document: no id, title, file name, headings, page or offsets.
        shown = filename is not None
        hits.append(
            Hit(
                chunk_id=chunk.id,
                document_id=chunk.document_id if shown else None,
                document_title=title or "",
                filename=filename or "",
                text=chunk.text,
                page=chunk.page if shown else None,
                section=chunk.section if shown else "",
                start=chunk.start if shown else 0,
                end=chunk.end if shown else 0,
                label=label,
                score=score,
                scores={m: s[chunk_id] for m, s in per_method.items() if chunk_id in s},
            )
        )
    return hits
