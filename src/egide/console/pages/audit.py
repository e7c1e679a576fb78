"""Audit: the journal browser, on-demand chain verification and the export of entries.

Every call goes to `AuditService` — the service behind `GET /v1/audit/entries`
and `egide audit verify` — which refuses a principal without the auditor
role (journaled), returns only the entries whose label the auditor's clearance
dominates (inside the SQL query) and journals every read, verification and
export. The page only translates the form's filters.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import Form, Query, Response

from egide.audit.service import AuditQuery
from egide.console.web import SECURITY_HEADERS, Checked, SignedIn, page_router
from egide.errors import InvalidInput

router = page_router()

PAGE_SIZE = 50
"""Entries per page of the browser."""
Outcome = Literal["", "allowed", "refused"]


def _moment(text: str, name: str) -> datetime | None:
    """A form time (`datetime-local`, no zone) read as UTC, the journal's zone."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name}: {text!r} is not a date and time (YYYY-MM-DDTHH:MM)") from None
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)


def _query(
    actor: str, action: str, object: str, outcome: str, since: str, until: str, **paging: int | None
) -> AuditQuery:
    return AuditQuery(
        actor=actor.strip() or None,
        action=action.strip() or None,
        object=object.strip() or None,
        outcome="refused" if outcome == "refused" else "allowed" if outcome == "allowed" else None,
        since=_moment(since, "since"),
        until=_moment(until, "until"),
        after_seq=paging.get("after") or 0,
        before_seq=paging.get("before"),
        limit=PAGE_SIZE,
        newest_first=True,
    )


@router.get("/audit")
async def journal(
    view: SignedIn,
    actor: Annotated[str, Query(max_length=200)] = "",
    action: Annotated[str, Query(max_length=200)] = "",
    object: Annotated[str, Query(max_length=300)] = "",
    outcome: Annotated[Outcome, Query()] = "",
    since: Annotated[str, Query(max_length=40)] = "",
    until: Annotated[str, Query(max_length=40)] = "",
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Entries the auditor may read, newest first, filtered; the read is journaled."""
    query = _query(actor, action, object, outcome, since, until, before=before)
    page = await view.call(view.platform.audit.entries, view.principal, query)
    filters = {
        "actor": actor,
        "action": action,
        "object": object,
        "outcome": outcome,
        "since": since,
        "until": until,
    }
    older = None
    if page.has_more and page.entries:
        older = {**{k: v for k, v in filters.items() if v}, "before": page.entries[-1].seq}
    return view.render(
        "audit/journal.html",
        title=view.t("audit.title"),
        page=page,
        filters=filters,
        older=older,
        paged=before is not None,
    )


@router.get("/audit/verify")
async def verify(view: SignedIn) -> Response:
    """Verify the whole chain now (as `egide audit verify`); the verification is journaled."""
    report = await view.call(view.platform.audit.verify, view.principal)
    return view.render("audit/verify.html", title=view.t("audit.verify.title"), report=report)


@router.post("/audit/export")
async def export(
    view: Checked,
    actor: Annotated[str, Form(max_length=200)] = "",
    action: Annotated[str, Form(max_length=200)] = "",
    object: Annotated[str, Form(max_length=300)] = "",
    outcome: Annotated[Outcome, Form()] = "",
    since: Annotated[str, Form(max_length=40)] = "",
    until: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Download the filtered entries the auditor may read, as JSON lines (journaled export).

    A POST with the CSRF token: an export takes journal entries out of Égide
    and is journaled (`audit.export`) like a release, so a page elsewhere must
    not be able to make a browser do it.
    """
    query = _query(actor, action, object, outcome, since, until)
    data, _count, label = await view.call(view.platform.audit.export, view.principal, query)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        data,
        media_type="application/x-ndjson",
        headers={
            **SECURITY_HEADERS,
            "X-Egide-Label": view.platform.policies.format(label, "en"),
            "Content-Disposition": f'attachment; filename="egide-audit-{stamp}.jsonl"',
        },
    )
