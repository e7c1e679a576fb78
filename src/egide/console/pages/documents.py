"""Documents: the list of what the user may read, upload, one document's view, relabel, delete.

Every call goes to the knowledge service — the same one `/v1/documents`
uses — which checks the role, the clearance and the organisation, and
journals what it served or refused. The page only hides the forms a role
may not use; the service refuses them anyway.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Form, Query, Response, UploadFile

from egide.api.documents.router import read_upload
from egide.console.web import Checked, SignedIn, View, page_router
from egide.core.access import Action
from egide.core.labels import Label
from egide.errors import InvalidInput

router = page_router()


@router.get("/documents")
async def document_list(
    view: SignedIn,
    q: Annotated[str, Query(max_length=200)] = "",
    after: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """The documents the user may read, oldest first, 50 at a time; `q` filters by title."""
    page = await view.call(
        view.platform.knowledge.documents,
        view.principal,
        limit=50,
        after=after,
        text=q.strip() or None,
    )
    return view.render(
        "documents/list.html", title=view.t("documents.title"), page=page, q=q, after=after
    )


@router.get("/documents/upload")
async def upload_page(view: SignedIn) -> Response:
    """The upload form: a collection the user may use and a label within their clearance."""
    collections = await view.call(view.platform.knowledge.collections, view.principal)
    return view.render(
        "documents/upload.html",
        title=view.t("upload.title"),
        collections=collections,
        labels=_labels_within(view),
    )


@router.post("/documents/upload")
async def upload(
    view: Checked,
    file: Annotated[UploadFile, File()],
    collection: Annotated[str, Form(min_length=1, max_length=200)],
    label: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Ingest the uploaded file through the knowledge service, then show the document."""
    data = await read_upload(file, view.platform.settings.max_document_bytes)
    given = view.platform.policies.parse(label) if label else None
    results = await view.call(
        view.platform.knowledge.ingest,
        view.principal,
        collection,
        file.filename or "",
        data,
        label=given,
    )
    return view.redirect(f"/documents/{results[0].document_id}?done=uploaded")


@router.get("/documents/{document_id}")
async def document_page(view: SignedIn, document_id: int, done: str = "") -> Response:
    """One document: its marking, versions and the passages the user may read, each marked."""
    shown = await view.call(view.platform.knowledge.document, view.principal, document_id)
    return view.render(
        "documents/view.html",
        title=shown.summary.title or shown.summary.filename,
        doc=shown,
        done=done,
        labels=_labels_within(view),
        may_relabel=view.may(Action.DOCUMENT_RELABEL),
        may_delete=view.may(Action.DOCUMENT_DELETE),
    )


@router.post("/documents/{document_id}/relabel")
async def relabel(
    view: Checked,
    document_id: int,
    label: Annotated[str, Form(min_length=1, max_length=500)],
    rationale: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Relabel through the knowledge service (it decides raise or declassify, and journals)."""
    target = view.platform.policies.parse(label)
    await view.call(
        view.platform.knowledge.relabel, view.principal, document_id, target, rationale=rationale
    )
    return view.redirect(f"/documents/{document_id}?done=relabelled")


@router.post("/documents/{document_id}/delete")
async def delete(view: Checked, document_id: int, confirm: Annotated[str, Form()] = "") -> Response:
    """Delete through the knowledge service (admin or classifier cleared for it; journaled)."""
    if confirm != "yes":
        raise InvalidInput("tick the confirmation box to delete the document")
    await view.call(view.platform.knowledge.delete_document, view.principal, document_id)
    return view.redirect("/documents?done=deleted")


def _labels_within(view: View) -> list[tuple[str, Label]]:
    """(canonical, label) of each level the user's clearance covers, every policy, low to high.

    What the chooser offers; the service refuses a label above the clearance anyway.
    """
    policies = view.platform.policies
    clearance = view.principal.clearance
    offered = []
    for policy in policies.policies():
        for level in range(len(policy.levels)):
            label = Label(policy=policy, level=level)
            if clearance.permits(label).allowed:
                offered.append((policies.canonical(label), label))
    return offered
