"""What a proposal rests on, resolved on the server: its label floor and its organisations.

A proposal names its evidence (passages and documents) and, when a workflow
wrote it, the passages it was built from (its *sources*). Neither is taken on
the author's word:

- every passage (``chunk``, or ``passage``) and document an evidence item
  names must exist and be readable by the author — its label readable and its
  collection one the author's organisation may use — or the whole proposal is
  refused with one `NotFound` that says the same for a hidden object as for a
  missing one;
- an item's ``title``, ``marking`` and ``document`` are the server's, never
  the author's; the item's other keys (a note, a grading) are kept as written;
- the proposal's label is never below any of them (the service joins these
  labels with the one the author typed), nor below the label of a document
  whose title it records for a passage (a title is information at its
  document's label);
- its **organisations** are those whose members may use every collection the
  sources and evidence come from: the intersection of the collections'
  organisation lists, an unrestricted collection counting as every
  organisation. `None` means no collection restricts it.

An item that names neither a passage nor a document is the author's own words
(a quotation, a note): it is covered by the label the author gives, like the
content.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from egide.core import access
from egide.core.labels import Label, PolicyRegistry
from egide.core.principals import Principal
from egide.errors import InvalidInput, NotFound
from egide.knowledge.records import ChunkRecord, CollectionRecord, DocumentRecord
from egide.store import MAX_PUBLIC_ID, LabelRecord

# The keys that name an object, and the kind of object each names.
CHUNK_KEYS = ("chunk", "chunk_id", "passage")
DOCUMENT_KEYS = ("document", "document_id")


@dataclass(frozen=True)
class Resolved:
    """Evidence as the server records it, the labels it carries and who may read it all."""

    evidence: list[dict[str, Any]]
    labels: tuple[Label, ...]
    organisations: frozenset[str] | None
    """Organisations whose members may use every collection involved (None: no limit)."""


def hidden() -> NotFound:
    """The one refusal for evidence that is missing or that the author may not read."""
    return NotFound(
        "the evidence names no passage or document that you may read; "
        "check the ids with `egide search` or `egide documents list`"
    )


def resolve(
    session: Session,
    principal: Principal,
    policies: PolicyRegistry,
    readable: set[int],
    evidence: Sequence[Any],
    sources: Iterable[int] = (),
) -> Resolved:
    """Check every object the evidence and sources name, and record them as the server sees them.

    Args:
        readable: Ids of the labels the principal may read.
        evidence: The proposal's evidence items (plain JSON, already size-checked).
        sources: Ids of the passages a workflow built the content from.

    Raises:
        InvalidInput: an item is not an object, or names an id that is not a whole number.
        NotFound: an object is missing or not readable by the principal (`hidden`).
    """
    wanted = [_ids(number, item) for number, item in enumerate(evidence, start=1)]
    source_ids = [_in_range(i) for i in sources]
    chunk_ids = {c for c, _ in wanted if c is not None} | set(source_ids)
    document_ids = {d for _, d in wanted if d is not None}
    chunks = _chunks(session, chunk_ids)
    documents = _documents(session, document_ids | {c.document_id for c in chunks.values()})
    collections = _collections(
        session,
        {c.collection_id for c in chunks.values()} | {d.collection_id for d in documents.values()},
    )

    def usable(collection_id: int) -> bool:
        return access.may_use_collection(principal, collections.get(collection_id) or [])

    def visible(document: Any) -> bool:
        return (
            document is not None
            and document.label_id in readable
            and usable(document.collection_id)
        )

    used: set[int] = set()
    label_ids: set[int] = set()
    recorded: list[dict[str, Any]] = []
    for (chunk_id, document_id), item in zip(wanted, evidence, strict=True):
        if chunk_id is None and document_id is None:
            recorded.append(item)
            continue
        if chunk_id is not None:
            chunk = chunks.get(chunk_id)
            if chunk is None or chunk.label_id not in readable or not usable(chunk.collection_id):
                raise hidden()
            if document_id is not None and document_id != chunk.document_id:
                raise hidden()
            document = documents.get(chunk.document_id)
            label_id, collection_id = chunk.label_id, chunk.collection_id
            # A readable passage of a document marked above the reader: its title is withheld.
            title = document.title if document is not None and visible(document) else None
            if title is not None and document is not None:
                # A title is information at its document's label: the proposal shows it.
                label_ids.add(document.label_id)
            recorded.append(
                {
                    **_without_ids(item),
                    "chunk": chunk.id,
                    "document": chunk.document_id if title is not None else None,
                    "title": title or f"passage {chunk.id} (document title withheld)",
                    "marking": _marking(session, policies, label_id),
                }
            )
        else:
            document = documents.get(document_id) if document_id is not None else None
            if document is None or not visible(document):
                raise hidden()
            label_id, collection_id = document.label_id, document.collection_id
            recorded.append(
                {
                    **_without_ids(item),
                    "document": document.id,
                    "title": document.title,
                    "marking": _marking(session, policies, label_id),
                }
            )
        label_ids.add(label_id)
        used.add(collection_id)
    for chunk_id in source_ids:
        source = chunks.get(chunk_id)
        if source is None or source.label_id not in readable or not usable(source.collection_id):
            raise hidden()
        label_ids.add(source.label_id)
        used.add(source.collection_id)
    labels = tuple(_label(session, policies, i) for i in sorted(label_ids))
    return Resolved(recorded, labels, scope(collections[c] for c in used))


def scope(organisation_lists: Iterable[Sequence[str] | None]) -> frozenset[str] | None:
    """Who may use every collection of `organisation_lists` (None: everyone).

    An empty list is an unrestricted collection. The result may be empty:
    collections with no organisation in common, which nobody may read together.
    """
    allowed: frozenset[str] | None = None
    for organisations in organisation_lists:
        if not organisations:
            continue
        allowed = frozenset(organisations) if allowed is None else allowed & set(organisations)
    return allowed


def _ids(number: int, item: Any) -> tuple[int | None, int | None]:
    if not isinstance(item, dict):
        raise InvalidInput(
            f"evidence item {number} is not an object; write "
            '{"chunk": ID} for a passage or {"document": ID} for a document'
        )
    found: list[int | None] = []
    for keys in (CHUNK_KEYS, DOCUMENT_KEYS):
        named = [item[k] for k in keys if item.get(k) is not None]
        if len(named) > 1:
            raise InvalidInput(f"evidence item {number} names {' and '.join(keys)}: keep one")
        value = named[0] if named else None
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidInput(
                f"evidence item {number} names {value!r}: a passage or document id is a whole "
                "number (see `egide search`)"
            )
        found.append(None if value is None else _in_range(value))
    return found[0], found[1]


def _in_range(value: int) -> int:
    # An id beyond what the databases store names nothing (and would not bind).
    if not 1 <= value <= MAX_PUBLIC_ID:
        raise hidden()
    return value


def _without_ids(item: dict[str, Any]) -> dict[str, Any]:
    server = {*CHUNK_KEYS, *DOCUMENT_KEYS, "title", "marking"}
    return {k: v for k, v in item.items() if k not in server}


def _chunks(session: Session, ids: set[int]) -> dict[int, Any]:
    if not ids:
        return {}
    rows = session.execute(
        select(
            ChunkRecord.id, ChunkRecord.document_id, ChunkRecord.collection_id, ChunkRecord.label_id
        ).where(ChunkRecord.id.in_(sorted(ids)))
    )
    return {r.id: r for r in rows}


def _documents(session: Session, ids: set[int]) -> dict[int, Any]:
    if not ids:
        return {}
    rows = session.execute(
        select(
            DocumentRecord.id,
            DocumentRecord.title,
            DocumentRecord.collection_id,
            DocumentRecord.label_id,
        )
        .where(DocumentRecord.id.in_(sorted(ids)))
        .where(DocumentRecord.status == "current")
    )
    return {r.id: r for r in rows}


def _collections(session: Session, ids: set[int]) -> dict[int, list[str]]:
    if not ids:
        return {}
    rows = session.execute(
        select(CollectionRecord.id, CollectionRecord.organisations).where(
            CollectionRecord.id.in_(sorted(ids))
        )
    )
    return {r.id: list(r.organisations or []) for r in rows}


def _label(session: Session, policies: PolicyRegistry, label_id: int) -> Label:
    record = session.get(LabelRecord, label_id)
    assert record is not None  # a foreign key
    return policies.parse(record.canonical)


def _marking(session: Session, policies: PolicyRegistry, label_id: int) -> str:
    return policies.format(_label(session, policies, label_id))


__all__ = ["CHUNK_KEYS", "DOCUMENT_KEYS", "Resolved", "hidden", "resolve", "scope"]
