"""`/v1/documents`: list, show, upload (multipart), relabel and delete documents.

Every rule — who may read, replace, relabel or delete, and what is journaled —
is the knowledge service's; these routes only translate. A document the
caller may not read answers 404 exactly as a missing id does.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from egide.api.dependencies import PrincipalDep
from egide.api.documents.protocol import (
    Deleted,
    DocumentDetail,
    DocumentList,
    DocumentOut,
    IngestedOut,
    RelabelOut,
    RelabelRequest,
    UploadResponse,
)
from egide.app import Platform
from egide.errors import PayloadTooLarge

router = APIRouter()

# Read the upload in pieces, so that the size limit is checked as it is read.
_PIECE = 1 << 20


def get_platform(request: Request) -> Platform:
    """The platform of the app serving this request."""
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


@router.get("/v1/documents")
async def list_documents(
    platform: PlatformDep,
    principal: PrincipalDep,
    collection: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    after: Annotated[int | None, Query(description="the last id of the previous page")] = None,
) -> DocumentList:
    """Documents the caller may read (label and collection), in id order."""
    page = await run_in_threadpool(
        lambda: platform.knowledge.documents(
            principal, collection=collection, limit=limit, after=after
        )
    )
    data = [DocumentOut.of(d) for d in page.documents]
    return DocumentList(data=data, has_more=page.has_more, last_id=data[-1].id if data else None)


@router.post("/v1/documents")
async def upload_document(
    platform: PlatformDep,
    principal: PrincipalDep,
    file: Annotated[UploadFile, File(description="the document; its type is read from it")],
    collection: Annotated[str, Form(min_length=1, max_length=200)],
    label: Annotated[str | None, Form(max_length=500)] = None,
    replace: Annotated[int | None, Form(description="id of the document to version")] = None,
) -> UploadResponse:
    """Ingest an uploaded file; `replace` makes it a new version of that document.

    The declared content type is ignored: the file's name and bytes decide
    how it is read. A file larger than `EGIDE_MAX_DOCUMENT_BYTES` is refused
    (413) as soon as the limit is crossed.
    """
    data = await read_upload(file, platform.settings.max_document_bytes)
    given = platform.policies.parse(label) if label else None
    results = await run_in_threadpool(
        lambda: platform.knowledge.ingest(
            principal, collection, file.filename or "", data, label=given, replace=replace
        )
    )
    return UploadResponse(data=[IngestedOut.of(r) for r in results])


@router.get("/v1/documents/{document_id}")
async def get_document(
    document_id: int, platform: PlatformDep, principal: PrincipalDep
) -> DocumentDetail:
    """A document: label, versions and the passages the caller may read (journaled)."""
    view = await run_in_threadpool(platform.knowledge.document, principal, document_id)
    return DocumentDetail.of_view(view)


@router.post("/v1/documents/{document_id}/relabel")
async def relabel_document(
    document_id: int, body: RelabelRequest, platform: PlatformDep, principal: PrincipalDep
) -> RelabelOut:
    """Raise a document's label, or lower it (classifier role and rationale); journaled."""
    label = platform.policies.parse(body.label)
    done = await run_in_threadpool(
        lambda: platform.knowledge.relabel(principal, document_id, label, rationale=body.rationale)
    )
    return RelabelOut.of(done)


@router.delete("/v1/documents/{document_id}")
async def delete_document(
    document_id: int, platform: PlatformDep, principal: PrincipalDep
) -> Deleted:
    """Delete a document everywhere (admin or classifier cleared for it); journaled."""
    await run_in_threadpool(platform.knowledge.delete_document, principal, document_id)
    return Deleted(id=document_id)


async def read_upload(file: UploadFile, limit: int) -> bytes:
    """The upload's bytes, refused with 413 as soon as they exceed `limit`."""
    pieces, size = [], 0
    while piece := await file.read(_PIECE):
        size += len(piece)
        if size > limit:
            raise PayloadTooLarge(
                f"the file is larger than {limit} bytes; split it, or ask the operator to "
                "raise EGIDE_MAX_DOCUMENT_BYTES"
            )
        pieces.append(piece)
    return b"".join(pieces)
