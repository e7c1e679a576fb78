"""The knowledge base: collections, ingestion under label rules, search and grounded answers.

Label rules at ingestion (fail secure):

- the document's label is the join of every marking detected in it, of the
  label given at upload and of the collection's default label;
- a label given at upload can raise but never lower what was detected
  (lowering is a declassification, a separate journaled act);
- a file with no marking, no label given and no collection default is refused;
- markings are read fail secure (`egide.knowledge.markings`): every line is a
  portion boundary, a portion-marked line keeps its own level (raised to the
  upload label) but every compartment and release restriction of the
  document's banners, so a DIFFUSION RESTREINTE paragraph of a SECRET report
  stays findable by readers cleared DR; unmarked text takes the document's
  label; a marking that cannot be read refuses the file;
- an e-mail attachment takes at least its message's label;
- the document's label is at least every passage's label;
- the uploader must be cleared for the resulting label.

Identity (fail secure, and silent about what the uploader may not read):

- a document has a stable id; a file never versions an existing document by
  its name: a new version happens only when the upload names it (`replace`),
  by someone whose clearance dominates the document's label, and the new
  version's label is the join of the file's label and the document's;
- a file whose name is that of a document the uploader may read, with other
  content, is refused (Conflict) with that document's id; with the same
  content it changes nothing — or, given a higher label, raises the
  document's label (a journaled relabel) and says so;
- documents the uploader may not read are never looked at: a same-name file
  then becomes a new document, exactly as if no such document existed.

Each file is one transaction: extraction, chunks, vectors, full-text entries
and the journal entry are written together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from egide.audit import Journal
from egide.audit.trail import Trail
from egide.core import access
from egide.core.access import Action
from egide.core.digest import sha256_bytes, sha256_text
from egide.core.labels import Label, PolicyRegistry, join
from egide.core.principals import Principal
from egide.errors import ConfigurationError, Conflict, InvalidInput, NotFound
from egide.knowledge.answer import Answer, Passage, extractive_answer
from egide.knowledge.chunking import Chunk, chunk_document
from egide.knowledge.documents import (
    Catalogue,
    DocumentPage,
    DocumentView,
    Relabelled,
    member,
)
from egide.knowledge.embedder import DIMENSIONS, CachedEmbedder, Embedder
from egide.knowledge.extract import ExpansionLimits, ExtractedDocument, extract
from egide.knowledge.markings import DetectedMarkings, detect_markings
from egide.knowledge.ranking import Index, index_for, token_count
from egide.knowledge.records import (
    ChunkRecord,
    CollectionRecord,
    DocumentRecord,
    DocumentVersionRecord,
)
from egide.knowledge.search import Hit, Mode, search
from egide.serving.ratelimit import Admit
from egide.settings import home_label
from egide.store import Database, LabelRecord, fresh_ids, intern_label

IngestStatus = Literal["new", "new-version", "unchanged", "relabelled"]

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
    status: IngestStatus


@dataclass(frozen=True)
class _Upload:
    """One file (or attachment) being ingested, and what labels it from outside."""

    collection: CollectionRecord
    document: ExtractedDocument
    digest: str
    given: Label | None
    default: Label | None
    progress: Callable[[int], None] | None
    inherited: Label | None = None
    """An outer label the file takes at least: its message's for an attachment, the
    replaced document's for a new version."""


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
        limits: ExpansionLimits | None = None,
        home: Label | None = None,
        trail: Trail | None = None,
        admit: Admit | None = None,
    ) -> None:
        self._db = database
        self._journal = journal
        self._policies = policies
        self._home = home or home_label(policies)
        self._trail = trail or Trail(database, journal, policies.canonical(self._home))
        # The rate limiter's admission: each search, question and document read or change
        # takes one request token; an upload also its size in megabytes (at least 64 KB).
        self._admit = admit
        self._embedder_factory = embedder_factory
        self._embedder: CachedEmbedder | None = None
        self._index = index_for(database.dialect)
        # What one file may be and expand into; `max_bytes` alone is the older spelling.
        self._limits = limits or ExpansionLimits(max_bytes=max_bytes)
        self._catalogue = Catalogue(journal, policies)

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
            found = [(c.id, c.name, c.description) for c in rows if member(principal, c)]
        self._trail.read(
            principal,
            "collection.list",
            objects=[f"collection:{cid}" for cid, _, _ in found],
            label=self._policies.canonical(self._home),
            details={},
        )
        return found

    def askable_collections(self, principal: Principal) -> list[str]:
        """Names of the collections the principal may ask (`egide-rag:<name>` models).

        Not journaled here: the model listing that calls it journals what it shows.
        Empty without the role that asks the knowledge base.
        """
        if not access.can(principal, Action.KNOWLEDGE_ASK).allowed:
            return []
        with self._db.transaction() as session:
            rows = session.execute(
                select(CollectionRecord.name, CollectionRecord.organisations).order_by(
                    CollectionRecord.name
                )
            ).all()
        return [name for name, orgs in rows if access.may_use_collection(principal, orgs or [])]

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
        replace: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[Ingested]:
        """Ingest one file (and, for e-mail, each attachment as its own document).

        Args:
            principal: Who ingests; the result must be within their clearance.
            collection: Name of a collection the principal may use.
            filename: The file's name (any folder part is dropped); its suffix
                chooses the reader, whatever the sender claims the content type is.
            data: The file's bytes.
            label: A label given at upload: raises what the file's markings say.
            replace: Id of a document this file is a new version of; without it a
                file never versions an existing document.
            progress: Called with the number of passages embedded so far.
        """
        with self._trail.guard(
            principal,
            "document.ingest",
            objects=[f"collection:{collection}"],
            details={"filename": filename},
        ):
            access.require(access.can(principal, Action.KNOWLEDGE_INGEST))
            self._take(principal, ingest_bytes=len(data))
            document = extract(data, _base_name(filename), limits=self._limits)
            digest = sha256_bytes(data)
            with self._db.transaction() as session:
                record = self._collection(session, principal, collection)
                default = self._label_of(session, record.default_label_id)
                target, floor = None, None
                if replace is not None:
                    target = self._replacement_target(session, principal, record, replace)
                    # A new version's unmarked text is at least as protected as the document.
                    floor = self._catalogue.label_of(session, target.label_id)
                results = [
                    self._ingest_one(
                        session,
                        principal,
                        _Upload(
                            record, document, digest, label, default, progress, inherited=floor
                        ),
                        target=target,
                        by_name=True,
                    )
                ]
                parent = _Upload(record, document, digest, label, default, progress)
                self._attachments(session, principal, parent, results[0], results)
                return results

    def _attachments(
        self,
        session: Session,
        principal: Principal,
        parent: _Upload,
        ingested: Ingested,
        results: list[Ingested],
    ) -> None:
        """Ingest each attachment of `parent`, and theirs (an attached message's), in turn.

        An attachment is at least as protected as its message, marked or not, and
        so as every message that encloses it.
        """
        message = self._policies.parse(ingested.label)
        for index, attachment in enumerate(parent.document.attachments):
            child = sha256_text(f"{parent.digest}:{index}")
            # Attachments are matched by content, not by name: "image001.png"
            # names a different file in every message.
            upload = _Upload(
                parent.collection,
                attachment,
                child,
                parent.given,
                parent.default,
                parent.progress,
                inherited=message,
            )
            done = self._ingest_one(session, principal, upload, target=None, by_name=False)
            results.append(done)
            self._attachments(session, principal, upload, done, results)

    def _replacement_target(
        self, session: Session, principal: Principal, collection: CollectionRecord, document: int
    ) -> DocumentRecord:
        """The document `replace` names, if the principal may read and replace it."""
        target = self._catalogue.visible(session, principal, document, lock=True)
        if target.collection_id != collection.id:
            # The caller may read the document and use its collection: naming it is safe.
            own = session.get(CollectionRecord, target.collection_id)
            name = own.name if own else "?"
            raise InvalidInput(
                f"document {document} is in collection {name!r}, not {collection.name!r}; "
                f"name its own collection (--collection {name}) to replace it"
            )
        existing = self._catalogue.label_of(session, target.label_id)
        access.require(access.can_replace_document(principal, existing))
        return target

    def _ingest_one(
        self,
        session: Session,
        principal: Principal,
        upload: _Upload,
        *,
        target: DocumentRecord | None,
        by_name: bool,
    ) -> Ingested:
        document = upload.document
        markings = detect_markings(document, self._policies, inherited=upload.inherited)
        found = [x for x in (markings.document_label, upload.given, upload.default) if x]
        if not found:
            raise InvalidInput(
                f"{document.filename} carries no classification marking and no label was given; "
                "give one (--label) or mark the document — unmarked files are refused"
            )
        if target is not None:
            # A new version is never labelled below the document it replaces.
            found.append(self._catalogue.label_of(session, target.label_id))
        base = join(*found)
        floors = [x for x in (upload.given, upload.default) if x]
        floor = join(*floors) if floors else None
        portions = self._portions(document, markings, base, floor)
        # The document's label is at least every portion's: its title and headings
        # are shown with it, and may come from any portion.
        doc_label = join(base, *(lb for _, lb in portions))
        access.require(access.can_work_at(principal, doc_label))
        readable = self._catalogue.readable(session, principal)
        existing = target or self._existing(session, upload, readable, by_name=by_name)
        if existing is not None and existing.content_hash == upload.digest:
            return self._unchanged(session, principal, existing, doc_label, readable)
        if existing is not None and target is None:
            raise Conflict(
                f"collection {upload.collection.name!r} already holds {existing.filename!r} "
                f"as document {existing.id} (version {existing.version}) with other content; "
                f"to make this file its new version, ingest it with --replace {existing.id} "
                "(API: field replace); to keep both, rename the file"
            )
        detected = markings.document_label is not None
        return self._store(session, principal, upload, (doc_label, detected), portions, target)

    def _portions(
        self,
        document: ExtractedDocument,
        markings: DetectedMarkings,
        base: Label,
        floor: Label | None,
    ) -> list[tuple[Chunk, Label]]:
        """Each distinct passage with its label: its own mark or `base`, raised to `floor`."""
        portions, seen = [], set()
        for chunk in chunk_document(document, markings):
            if chunk.content_hash in seen:
                continue  # the same text twice in one document is stored once
            seen.add(chunk.content_hash)
            own = chunk.label or base
            portions.append((chunk, join(own, floor) if floor else own))
        return portions

    def _existing(
        self, session: Session, upload: _Upload, readable: set[int], *, by_name: bool
    ) -> DocumentRecord | None:
        """A readable document of the collection this upload would duplicate, if any.

        Only documents the uploader may read are considered: whether a hidden
        document of the same name or content exists changes nothing in the reply.
        """
        same = (
            DocumentRecord.filename == upload.document.filename
            if by_name
            else DocumentRecord.content_hash == upload.digest
        )
        return session.scalars(
            select(DocumentRecord)
            .where(
                DocumentRecord.collection_id == upload.collection.id,
                DocumentRecord.label_id.in_(readable),
                same,
            )
            # The oldest: ids are random (egide.store.ids), so not in order of arrival.
            .order_by(DocumentRecord.created_at, DocumentRecord.id)
            .limit(1)
            .with_for_update()
        ).first()

    def _unchanged(
        self,
        session: Session,
        principal: Principal,
        existing: DocumentRecord,
        label: Label,
        readable: set[int],
    ) -> Ingested:
        """The same content again: nothing changes, unless its label is now higher (a raise)."""
        current = self._catalogue.label_of(session, existing.label_id)
        wanted = join(current, label)
        status: IngestStatus = "unchanged"
        if self._policies.canonical(wanted) != self._policies.canonical(current):
            self._catalogue.relabel(
                session,
                principal,
                existing,
                wanted,
                "the same content was ingested again with a higher label",
            )
            status = "relabelled"
            readable = self._catalogue.readable(session, principal)
        return Ingested(
            existing.filename,
            existing.id,
            existing.title,
            existing.version,
            self._policies.format(wanted),
            self._catalogue.passages(session, existing.id, readable),
            status,
        )

    def _store(
        self,
        session: Session,
        principal: Principal,
        upload: _Upload,
        labelled: tuple[Label, bool],
        portions: list[tuple[Chunk, Label]],
        target: DocumentRecord | None,
    ) -> Ingested:
        """Write a new document, or a new version of `target`, with its passages and vectors.

        `labelled` is the document's label and whether the file itself was marked.
        """
        document, collection = upload.document, upload.collection
        doc_label, detected = labelled
        canonical = self._policies.canonical(doc_label)
        label_id = intern_label(session, canonical)
        if target is None:
            record = DocumentRecord(
                id=fresh_ids(session, DocumentRecord.id, 1)[0],
                collection_id=collection.id,
                title=document.title,
                filename=document.filename,
                version=1,
                content_hash=upload.digest,
                label_id=label_id,
                status="current",
            )
            session.add(record)
            session.flush()
            previous = None
        else:
            record, previous = target, (target.version, target.content_hash)
            session.execute(delete(ChunkRecord).where(ChunkRecord.document_id == target.id))
            record.version += 1
            record.title = document.title
            record.filename = document.filename
            record.content_hash = upload.digest
            record.label_id = label_id
        session.add(
            DocumentVersionRecord(
                document_id=record.id,
                version=record.version,
                title=document.title,
                filename=document.filename,
                content_hash=upload.digest,
                label_id=label_id,
                actor=principal.actor,
            )
        )
        ids = fresh_ids(session, ChunkRecord.id, len(portions))
        records = [
            ChunkRecord(
                id=chunk_id,
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
            for chunk_id, (c, lb) in zip(ids, portions, strict=True)
        ]
        session.add_all(records)
        session.flush()
        vectors = self.embedder.passages(session, [r.text for r in records], upload.progress)
        self._index.add_vectors(
            session, [(r.id, r.label_id, r.collection_id) for r in records], vectors
        )
        details: dict[str, object] = {
            "filename": document.filename,
            "sha256": upload.digest,
            "version": record.version,
            "chunks": len(records),
            "detected": detected,
        }
        if previous is not None:
            details["replaced_version"], details["replaced_sha256"] = previous
        self._journal.append(
            session,
            actor=principal.actor,
            action="document.ingest" if previous is None else "document.replace",
            objects=[f"document:{record.id}", f"collection:{collection.id}"],
            label=canonical,
            details=details,
        )
        return Ingested(
            document.filename,
            record.id,
            record.title,
            record.version,
            self._policies.format(doc_label),
            len(records),
            "new" if previous is None else "new-version",
        )

    # documents -----------------------------------------------------------------------

    def documents(
        self,
        principal: Principal,
        *,
        collection: str | None = None,
        limit: int = 50,
        after: int | None = None,
        text: str | None = None,
    ) -> DocumentPage:
        """The documents the principal may read (label and collection), in id order.

        `text` keeps those whose title or file name contains it.

        The listing is journaled (`document.list`) with the ids it showed, as is a refusal.
        """
        objects = [f"collection:{collection}"] if collection else []
        with (
            self._trail.guard(principal, "document.list", objects=objects),
            self._db.transaction() as session,
        ):
            access.require(access.can(principal, Action.DOCUMENT_READ))
            self._take(principal)
            scope = self._collection(session, principal, collection).id if collection else None
            page = self._catalogue.page(
                session, principal, collection=scope, limit=limit, after=after, text=text
            )
        labels = [self._policies.parse(d.label) for d in page.documents]
        self._trail.read(
            principal,
            "document.list",
            objects=objects + [f"document:{d.id}" for d in page.documents],
            label=self._policies.canonical(join(self._home, *labels)),
            details={"after": after, "limit": limit, **({"text": text[:200]} if text else {})},
        )
        return page

    def document(self, principal: Principal, document_id: int) -> DocumentView:
        """One document: metadata, label, versions and the passages the principal may read."""
        with (
            self._trail.guard(principal, "document.read", objects=[f"document:{document_id}"]),
            self._db.transaction() as session,
        ):
            access.require(access.can(principal, Action.DOCUMENT_READ))
            self._take(principal)
            return self._catalogue.show(session, principal, document_id)

    def relabel(
        self, principal: Principal, document_id: int, label: Label, *, rationale: str = ""
    ) -> Relabelled:
        """Change a document's label: raise freely, lower only as a classifier with a rationale."""
        with (
            self._trail.guard(principal, "document.relabel", objects=[f"document:{document_id}"]),
            self._db.transaction() as session,
        ):
            access.require(access.can(principal, Action.DOCUMENT_RELABEL))
            self._take(principal)
            record = self._catalogue.visible(session, principal, document_id, lock=True)
            done = self._catalogue.relabel(session, principal, record, label, rationale)
            if done.status == "unchanged":
                # Nothing moved, but the request was served: it is journaled like any other.
                canonical = self._policies.canonical(label)
                self._journal.append(
                    session,
                    actor=principal.actor,
                    action="document.relabel",
                    objects=[f"document:{document_id}"],
                    label=canonical,
                    details={"from": canonical, "to": canonical, "direction": "unchanged"},
                )
            return done

    def delete_document(self, principal: Principal, document_id: int) -> None:
        """Remove a document, its versions, chunks, vectors and full-text entries everywhere."""
        with (
            self._trail.guard(principal, "document.delete", objects=[f"document:{document_id}"]),
            self._db.transaction() as session,
        ):
            self._take(principal)
            record = self._catalogue.visible(session, principal, document_id, lock=True)
            label = self._catalogue.label_of(session, record.label_id)
            access.require(access.can_delete_document(principal, label))
            session.execute(delete(ChunkRecord).where(ChunkRecord.document_id == document_id))
            session.execute(
                delete(DocumentVersionRecord).where(
                    DocumentVersionRecord.document_id == document_id
                )
            )
            session.delete(record)
            self._journal.append(
                session,
                actor=principal.actor,
                action="document.delete",
                objects=[f"document:{document_id}"],
                label=self._policies.canonical(label),
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
        hits, _ = self.search_labelled(
            principal, query, collection=collection, k=k, mode=mode, admitted=admitted
        )
        return hits

    def search_labelled(
        self,
        principal: Principal,
        query: str,
        *,
        working_label: Label | None = None,
        collection: str | None = None,
        k: int = 10,
        mode: Mode = "hybrid",
        admitted: bool = False,
    ) -> tuple[list[Hit], Label]:
        """`search` at a working label: the hits and the label of the results.

        The caller's clearance must cover `working_label` (refused and journaled
        otherwise, as for `ask`). The results' label is the join of the working
        label (the home label when none is given) and of every hit's label.
        """
        details: dict[str, object] = {
            "query_sha256": sha256_text(query),
            "collection": collection,
            "k": k,
            "mode": mode,
        }
        if working_label is not None:
            details["working_label"] = self._policies.canonical(working_label)
        with self._trail.guard(principal, "knowledge.search", details=details):
            access.require(access.can(principal, Action.KNOWLEDGE_SEARCH))
            if working_label is not None:
                access.require(access.can_work_at(principal, working_label))
            _check_query(query, "query")
            if self._admit is not None and not admitted:
                self._admit(principal)
            hits = self._search(principal, query, collection, k, mode)
        base = working_label if working_label is not None else self._home
        label = join(base, *(self._policies.parse(h.label) for h in hits))
        self._trail.read(
            principal,
            "knowledge.search",
            objects=_objects(collection, [h.chunk_id for h in hits]),
            label=self._policies.canonical(label),
            details=details,
        )
        return hits, label

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
            "question_sha256": sha256_text(question),
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
                "answer_sha256": sha256_text(answer.text),
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
            document_id=hit.document_id,
        )

    # helpers -------------------------------------------------------------------------

    def _take(self, principal: Principal, *, ingest_bytes: int = 0) -> None:
        """Take the request's rate-limit cost, or raise `RateLimited` (answered, not journaled)."""
        if self._admit is not None:
            self._admit(principal, ingest_bytes=ingest_bytes)

    def _readable(self, session: Session, principal: Principal) -> set[int]:
        return self._catalogue.readable(session, principal)

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
        if record is None or not member(principal, record):
            raise NotFound(
                f"no collection named {name!r} that you may use; see `egide collections list`"
            )
        return record

    def _label_of(self, session: Session, label_id: int | None) -> Label | None:
        if label_id is None:
            return None
        record = session.get(LabelRecord, label_id)
        return self._policies.parse(record.canonical) if record else None


def _base_name(filename: str) -> str:
    """The file's own name: a client's folder part ("../", "C:\\…") is dropped."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or name in (".", "..") or len(name) > 255:
        raise InvalidInput(
            f"{filename!r} is not a usable file name; give the file a name such as rapport.pdf"
        )
    return name


def _check_query(text: str, what: str) -> None:
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(
            f"the {what} is {len(text)} characters long; keep it under {MAX_QUERY_CHARS} "
            "(a search needs the question, not the documents)"
        )


def _objects(collection: str | None, chunks: Sequence[int]) -> list[str]:
    """What a read names in the journal: the collection asked for and each chunk read."""
    return ([f"collection:{collection}"] if collection else []) + [f"chunk:{c}" for c in chunks]


__all__ = ["MAX_QUERY_CHARS", "IngestStatus", "Ingested", "KnowledgeService"]
