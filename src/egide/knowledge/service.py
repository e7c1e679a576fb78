"""The knowledge base: collections, ingestion under label rules, search and grounded answers.

Label rules at ingestion (fail secure):

- the document's label is the join of every marking detected in it, of the
  label given at upload and of the collection's default label;
- a label given at upload can raise but never lower what was detected
  (lowering is a declassification, a separate journaled act);
- a file with no marking, no label given and no collection default is refused;
- a portion-marked paragraph keeps its own label (raised to the upload label),
  so a DIFFUSION RESTREINTE paragraph of a SECRET report stays findable by
  readers cleared DR;
- the uploader must be cleared for the resulting label.

Each file is one transaction: extraction, chunks, vectors, full-text entries
and the journal entry are written together or not at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from egide.audit import Journal
from egide.audit.trail import Trail
from egide.core import access
from egide.core.access import Action
from egide.core.labels import Label, PolicyRegistry, join
from egide.core.principals import Principal
from egide.errors import ConfigurationError, Conflict, InvalidInput, NotFound
from egide.knowledge.answer import Answer, Passage, extractive_answer
from egide.knowledge.chunking import chunk_document
from egide.knowledge.embedder import DIMENSIONS, CachedEmbedder, Embedder
from egide.knowledge.extract import ExtractedDocument, extract
from egide.knowledge.markings import detect_markings
from egide.knowledge.ranking import Index, index_for, token_count
from egide.knowledge.records import ChunkRecord, CollectionRecord, DocumentRecord
from egide.knowledge.search import Hit, Mode, search
from egide.settings import home_label
from egide.store import Database, LabelRecord, all_labels, intern_label

# A longer query costs seconds of CPU (embedding, one ranking term per word) and
# finds nothing a shorter one would not: refuse it before any work.
MAX_QUERY_CHARS = 2000


@dataclass(frozen=True)
class Ingested:
    """What happened to one file."""

    filename: str
    document_id: int
    title: str
    version: int
    label: str
    chunks: int
    status: str  # "new", "new-version" or "unchanged"


class KnowledgeService:
    """Collections, documents and retrieval, every read filtered by label inside the SQL."""

    def __init__(
        self,
        database: Database,
        journal: Journal,
        policies: PolicyRegistry,
        embedder_factory: Callable[[], Embedder],
        *,
        max_bytes: int = 50_000_000,
        home: Label | None = None,
        trail: Trail | None = None,
        admit: Callable[[Principal], None] | None = None,
    ) -> None:
        self._db = database
        self._journal = journal
        self._policies = policies
        self._home = home or home_label(policies)
        self._trail = trail or Trail(database, journal, policies.canonical(self._home))
        # The rate limiter's admission: each search or question takes one request token.
        self._admit = admit
        self._embedder_factory = embedder_factory
        self._embedder: CachedEmbedder | None = None
        self._index = index_for(database.dialect)
        self._max_bytes = max_bytes

    @property
    def embedder(self) -> CachedEmbedder:
        """The embedder, built on first use (loading it takes a moment)."""
        if self._embedder is None:
            embedder = self._embedder_factory()
            if embedder.dimension != DIMENSIONS:
                raise ConfigurationError(
                    f"the embedder {embedder.id} gives {embedder.dimension}-dimensional vectors "
                    f"but the knowledge index holds {DIMENSIONS}-dimensional ones: choose a "
                    f"{DIMENSIONS}-dimension model (EGIDE_EMBEDDER), or re-index the documents "
                    "into a new database built for that dimension"
                )
            self._embedder = CachedEmbedder(embedder)
        return self._embedder

    @property
    def home_label(self) -> Label:
        """The installation's home label (the label of events that concern no labelled object)."""
        return self._home

    @property
    def index(self) -> Index:
        """The database's ranking implementation (benchmarks measure it directly)."""
        return self._index

    def readable_label_ids(self, principal: Principal) -> set[int]:
        """Ids of the interned labels the principal may read."""
        with self._db.transaction() as session:
            return self._readable(session, principal)

    # collections ---------------------------------------------------------------------

    def create_collection(
        self,
        principal: Principal,
        name: str,
        *,
        default_label: Label | None = None,
        description: str = "",
        organisations: Sequence[str] = (),
    ) -> int:
        """Create a collection; `organisations` restricts who may use it (empty: everyone)."""
        with self._trail.guard(principal, "collection.create", details={"name": name}):
            access.require(access.can_administer(principal))
        if not name.strip():
            raise InvalidInput("a collection needs a name")
        with self._db.transaction() as session:
            if session.scalar(select(CollectionRecord.id).where(CollectionRecord.name == name)):
                raise Conflict(f"collection {name!r} already exists")
            label = default_label or self._home
            record = CollectionRecord(
                name=name,
                description=description,
                default_label_id=intern_label(session, self._policies.canonical(default_label))
                if default_label
                else None,
                organisations=list(organisations),
            )
            session.add(record)
            session.flush()
            self._journal.append(
                session,
                actor=principal.actor,
                action="collection.create",
                objects=[f"collection:{record.id}"],
                label=self._policies.canonical(label),
                details={"name": name, "organisations": list(organisations)},
            )
            return record.id

    def collections(self, principal: Principal) -> list[tuple[int, str, str]]:
        """(id, name, description) of the collections the principal may use."""
        with self._trail.guard(principal, "collection.list"):
            access.require(access.can(principal, Action.COLLECTION_LIST))
        with self._db.transaction() as session:
            rows = session.scalars(select(CollectionRecord).order_by(CollectionRecord.name))
            found = [(c.id, c.name, c.description) for c in rows if _member(principal, c)]
        self._trail.read(
            principal,
            "collection.list",
            objects=[f"collection:{cid}" for cid, _, _ in found],
            label=self._policies.canonical(self._home),
            details={},
        )
        return found

    def admit_ingest(self, principal: Principal, collection: str) -> None:
        """Refuse a whole batch early: the role and the collection are the same for every file."""
        with self._trail.guard(principal, "document.ingest", objects=[f"collection:{collection}"]):
            access.require(access.can(principal, Action.KNOWLEDGE_INGEST))
            with self._db.transaction() as session:
                self._collection(session, principal, collection)

    # ingestion -----------------------------------------------------------------------

    def ingest(
        self,
        principal: Principal,
        collection: str,
        filename: str,
        data: bytes,
        *,
        label: Label | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[Ingested]:
        """Ingest one file (and, for e-mail, each attachment as its own document)."""
        with self._trail.guard(
            principal,
            "document.ingest",
            objects=[f"collection:{collection}"],
            details={"filename": filename},
        ):
            access.require(access.can(principal, Action.KNOWLEDGE_INGEST))
            document = extract(data, filename, max_bytes=self._max_bytes)
            digest = hashlib.sha256(data).hexdigest()
            with self._db.transaction() as session:
                record = self._collection(session, principal, collection)
                default = self._label_of(session, record.default_label_id)
                results = [
                    self._ingest_one(
                        session, principal, record, document, digest, label, default, progress
                    )
                ]
                for index, attachment in enumerate(document.attachments):
                    child = hashlib.sha256(f"{digest}:{index}".encode()).hexdigest()
                    results.append(
                        self._ingest_one(
                            session, principal, record, attachment, child, label, default, progress
                        )
                    )
                return results

    def _ingest_one(
        self,
        session: Session,
        principal: Principal,
        collection: CollectionRecord,
        document: ExtractedDocument,
        digest: str,
        given: Label | None,
        default: Label | None,
        progress: Callable[[int], None] | None,
    ) -> Ingested:
        markings = detect_markings(document, self._policies)
        found = [x for x in (markings.document_label, given, default) if x is not None]
        if not found:
            raise InvalidInput(
                f"{document.filename} carries no classification marking and no label was given; "
                "give one (--label) or mark the document — unmarked files are refused"
            )
        doc_label = join(*found)
        floor = join(*(x for x in (given, default) if x is not None)) if given or default else None
        access.require(access.can_work_at(principal, doc_label))
        previous = session.scalars(
            select(DocumentRecord).where(
                DocumentRecord.collection_id == collection.id,
                DocumentRecord.filename == document.filename,
                DocumentRecord.status == "current",
            )
        ).first()
        if previous is not None and previous.content_hash == digest:
            count = session.scalar(
                select(func.count()).where(ChunkRecord.document_id == previous.id)
            )
            return Ingested(
                document.filename,
                previous.id,
                previous.title,
                previous.version,
                self._policies.format(doc_label),
                count or 0,
                "unchanged",
            )
        version = 1
        if previous is not None:
            version = previous.version + 1
            previous.status = "superseded"
            session.execute(delete(ChunkRecord).where(ChunkRecord.document_id == previous.id))
        canonical = self._policies.canonical(doc_label)
        record = DocumentRecord(
            collection_id=collection.id,
            title=document.title,
            filename=document.filename,
            version=version,
            content_hash=digest,
            label_id=intern_label(session, canonical),
            status="current",
        )
        session.add(record)
        session.flush()
        chunks, seen = [], set()
        for chunk in chunk_document(document, markings):
            if chunk.content_hash in seen:
                continue  # the same text twice in one document is stored once
            seen.add(chunk.content_hash)
            own = chunk.label or doc_label
            chunks.append((chunk, join(own, floor) if floor else own))
        records = [
            ChunkRecord(
                document_id=record.id,
                collection_id=collection.id,
                ordinal=c.ordinal,
                text=c.text,
                page=c.page,
                section=" > ".join(c.section),
                start=c.start,
                end=c.end,
                content_hash=c.content_hash,
                label_id=intern_label(session, self._policies.canonical(lb)),
                tokens=token_count(c.text),
            )
            for c, lb in chunks
        ]
        session.add_all(records)
        session.flush()
        vectors = self.embedder.passages(session, [r.text for r in records], progress)
        self._index.add_vectors(
            session, [(r.id, r.label_id, r.collection_id) for r in records], vectors
        )
        self._journal.append(
            session,
            actor=principal.actor,
            action="document.ingest",
            objects=[f"document:{record.id}", f"collection:{collection.id}"],
            label=canonical,
            details={
                "filename": document.filename,
                "sha256": digest,
                "version": version,
                "chunks": len(records),
                "detected": bool(markings.document_label),
            },
        )
        return Ingested(
            document.filename,
            record.id,
            record.title,
            version,
            self._policies.format(doc_label),
            len(records),
            "new-version" if version > 1 else "new",
        )

    def delete_document(self, principal: Principal, document_id: int) -> None:
        """Remove a document and its chunks, vectors and full-text entries everywhere."""
        with (
            self._trail.guard(principal, "document.delete", objects=[f"document:{document_id}"]),
            self._db.transaction() as session,
        ):
            access.require(access.can_administer(principal))
            record = self._deletable(session, principal, document_id)
            label = self._label_of(session, record.label_id)
            session.execute(delete(ChunkRecord).where(ChunkRecord.document_id == document_id))
            session.delete(record)
            self._journal.append(
                session,
                actor=principal.actor,
                action="document.delete",
                objects=[f"document:{document_id}"],
                label=self._policies.canonical(label or self._home),
                details={"filename": record.filename, "version": record.version},
            )

    # reading -------------------------------------------------------------------------

    def search(
        self,
        principal: Principal,
        query: str,
        *,
        collection: str | None = None,
        k: int = 10,
        mode: Mode = "hybrid",
        admitted: bool = False,
    ) -> list[Hit]:
        """Chunks for `query` among those the principal may read, journaled as it was served.

        Needs the analyst role; without a collection, only the collections the
        caller's organisation may use are searched. A refusal is journaled too.
        `admitted`: the caller (a workflow) already took this request's rate-limit token.
        """
        details = {"query_sha256": _sha(query), "collection": collection, "k": k, "mode": mode}
        with self._trail.guard(principal, "knowledge.search", details=details):
            access.require(access.can(principal, Action.KNOWLEDGE_SEARCH))
            _check_query(query, "query")
            if self._admit is not None and not admitted:
                self._admit(principal)
            hits = self._search(principal, query, collection, k, mode)
        label = join(self._home, *(self._policies.parse(h.label) for h in hits))
        self._trail.read(
            principal,
            "knowledge.search",
            objects=_objects(collection, [h.chunk_id for h in hits]),
            label=self._policies.canonical(label),
            details=details,
        )
        return hits

    def ask(
        self,
        principal: Principal,
        question: str,
        working_label: Label,
        *,
        collection: str | None = None,
        k: int = 5,
    ) -> Answer:
        """An extractive grounded answer (generative answers go through `passages`), journaled.

        Needs the analyst role and a clearance covering the working label, which
        the answer's label dominates.
        """
        details: dict[str, object] = {
            "question_sha256": _sha(question),
            "collection": collection,
            "working_label": self._policies.canonical(working_label),
        }
        with self._trail.guard(principal, "knowledge.ask", details=details):
            access.require(access.can(principal, Action.KNOWLEDGE_ASK))
            access.require(access.can_work_at(principal, working_label))
            _check_query(question, "question")
            if self._admit is not None:
                self._admit(principal)
            passages = self._passages(principal, question, collection, k)
        answer = extractive_answer(question, passages, working_label)
        self._trail.read(
            principal,
            "knowledge.ask",
            # Every passage placed in the context was read, cited or not.
            objects=_objects(collection, [p.chunk_id for p in answer.passages]),
            label=self._policies.canonical(answer.label),
            details={
                **details,
                "citations": [c.chunk_id for c in answer.citations],
                "answer_sha256": _sha(answer.text),
                "context": [p.chunk_id for p in answer.passages],
                "mode": answer.mode,
            },
        )
        return answer

    def passages(
        self, principal: Principal, question: str, *, collection: str | None = None, k: int = 5
    ) -> list[Passage]:
        """The numbered context for a question: only chunks the principal may read (journaled)."""
        hits = self.search(principal, question, collection=collection, k=k)
        return [self._passage(i, h) for i, h in enumerate(hits, start=1)]

    def collection_scope(self, principal: Principal, name: str | None) -> list[int] | None:
        """Ids of the collections a search by the principal covers (None: every one).

        Raises:
            NotFound: `name` is not a collection the principal's organisation may use.
        """
        with self._db.transaction() as session:
            return self._scope(session, principal, name)

    def _search(
        self, principal: Principal, query: str, collection: str | None, k: int, mode: Mode
    ) -> list[Hit]:
        with self._db.transaction() as session:
            scope = self._scope(session, principal, collection)
            readable = self._readable(session, principal)
            # Ranking filters by label and collection in its SQL; the text is then read
            # under row-level security on PostgreSQL (see egide.knowledge.search.hydrate).
            return search(
                session,
                self._index,
                self.embedder,
                query,
                readable=readable,
                collections=scope,
                k=k,
                mode=mode,
            )

    def _passages(
        self, principal: Principal, question: str, collection: str | None, k: int
    ) -> list[Passage]:
        hits = self._search(principal, question, collection, k, "hybrid")
        return [self._passage(i, h) for i, h in enumerate(hits, start=1)]

    def _passage(self, number: int, hit: Hit) -> Passage:
        label = self._policies.parse(hit.label)
        return Passage(
            number=number,
            chunk_id=hit.chunk_id,
            document_title=hit.document_title,
            page=hit.page,
            label=label,
            marking=self._policies.format(label),
            text=hit.text,
        )

    # helpers -------------------------------------------------------------------------

    def _readable(self, session: Session, principal: Principal) -> set[int]:
        labels = [(i, self._policies.parse(c)) for i, c in all_labels(session)]
        return access.readable_label_ids(principal, labels)

    def _documents_readable(self, session: Session, principal: Principal) -> set[int]:
        readable = self._readable(session, principal)
        return set(
            session.scalars(select(DocumentRecord.id).where(DocumentRecord.label_id.in_(readable)))
        )

    def _deletable(
        self, session: Session, principal: Principal, document_id: int
    ) -> DocumentRecord:
        record = session.get(DocumentRecord, document_id)
        if record is None or document_id not in self._documents_readable(session, principal):
            raise NotFound(f"no document {document_id} that you may read")
        return record

    def _scope(self, session: Session, principal: Principal, name: str | None) -> list[int] | None:
        if name is not None:
            return [self._collection(session, principal, name).id]
        rows = session.execute(select(CollectionRecord.id, CollectionRecord.organisations)).all()
        usable = [cid for cid, orgs in rows if access.may_use_collection(principal, orgs or [])]
        # Every collection usable: no condition at all in the ranking SQL.
        return None if len(usable) == len(rows) else usable

    def _collection(
        self, session: Session, principal: Principal, name: str | None
    ) -> CollectionRecord:
        if not name or not name.strip():
            raise InvalidInput(
                "the collection name is empty; name one (see `egide collections list`) "
                "or leave the collection out to search every collection you may use"
            )
        record = session.scalar(select(CollectionRecord).where(CollectionRecord.name == name))
        if record is None or not _member(principal, record):
            raise NotFound(
                f"no collection named {name!r} that you may use; see `egide collections list`"
            )
        return record

    def _label_of(self, session: Session, label_id: int | None) -> Label | None:
        if label_id is None:
            return None
        record = session.get(LabelRecord, label_id)
        return self._policies.parse(record.canonical) if record else None


def _member(principal: Principal, collection: CollectionRecord) -> bool:
    return access.may_use_collection(principal, collection.organisations or [])


def _check_query(text: str, what: str) -> None:
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(
            f"the {what} is {len(text)} characters long; keep it under {MAX_QUERY_CHARS} "
            "(a search needs the question, not the documents)"
        )


def _objects(collection: str | None, chunks: Sequence[int]) -> list[str]:
    """What a read names in the journal: the collection asked for and each chunk read."""
    return ([f"collection:{collection}"] if collection else []) + [f"chunk:{c}" for c in chunks]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


__all__ = ["MAX_QUERY_CHARS", "Ingested", "KnowledgeService"]
