"""Wire models of the document routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from egide.knowledge.documents import DocumentSummary, DocumentView, Relabelled
from egide.knowledge.service import Ingested


class DocumentOut(BaseModel):
    """A document the caller may read, as a listing shows it."""

    id: int
    object: Literal["document"] = "document"
    collection: str
    title: str
    filename: str
    version: int
    label: str
    sha256: str
    created_at: datetime
    passages: int = Field(description="passages of the document the caller may read")

    @classmethod
    def of(cls, summary: DocumentSummary) -> DocumentOut:
        """The wire form of a listed document."""
        return cls(**vars(summary))


class DocumentList(BaseModel):
    """One page of documents in (random) id order; pass `last_id` as `after` for the next."""

    object: Literal["list"] = "list"
    data: list[DocumentOut]
    has_more: bool
    last_id: int | None


class VersionOut(BaseModel):
    """One ingested version (only versions the caller may read are listed)."""

    version: int
    title: str
    filename: str
    sha256: str
    label: str = Field(description="the label the version was ingested at")
    actor: str
    created_at: datetime


class PortionOut(BaseModel):
    """A passage the caller may read, with its own portion label."""

    chunk_id: int
    ordinal: int
    page: int | None
    section: str
    start: int
    end: int
    label: str
    text: str


class DocumentDetail(DocumentOut):
    """A document with its versions and its passages the caller may read."""

    versions: list[VersionOut]
    portions: list[PortionOut]

    @classmethod
    def of_view(cls, view: DocumentView) -> DocumentDetail:
        """The wire form of a shown document."""
        return cls(
            **vars(view.summary),
            versions=[VersionOut(**vars(v)) for v in view.versions],
            portions=[PortionOut(**vars(p)) for p in view.portions],
        )


class RelabelRequest(BaseModel):
    """A new label; lowering it needs the classifier role and a rationale."""

    label: str = Field(min_length=1, max_length=500)
    rationale: str = Field(default="", max_length=4000)


class RelabelOut(BaseModel):
    """What a relabelling did."""

    id: int
    object: Literal["document.relabel"] = "document.relabel"
    previous: str
    label: str
    status: Literal["raised", "lowered", "unchanged"]
    portions: int = Field(description="passages whose label changed")

    @classmethod
    def of(cls, done: Relabelled) -> RelabelOut:
        """The wire form of a relabelling."""
        return cls(
            id=done.document_id,
            previous=done.previous,
            label=done.label,
            status=done.status,
            portions=done.portions,
        )


class IngestedOut(BaseModel):
    """What happened to one uploaded file (or one attachment of an e-mail)."""

    document_id: int
    filename: str
    title: str
    version: int
    label: str = Field(description="the label the document carries now")
    passages: int
    status: Literal["new", "new-version", "unchanged", "relabelled"]

    @classmethod
    def of(cls, done: Ingested) -> IngestedOut:
        """The wire form of an ingestion result."""
        return cls(
            document_id=done.document_id,
            filename=done.filename,
            title=done.title,
            version=done.version,
            label=done.label,
            passages=done.chunks,
            status=done.status,
        )


class UploadResponse(BaseModel):
    """The uploaded file first, then each e-mail attachment."""

    object: Literal["list"] = "list"
    data: list[IngestedOut]


class Deleted(BaseModel):
    """A deleted document."""

    id: int
    object: Literal["document"] = "document"
    deleted: Literal[True] = True
