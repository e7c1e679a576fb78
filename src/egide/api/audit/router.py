"""`GET /v1/audit/entries`: translates the query string for `AuditService.entries`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from egide.api.audit.protocol import AuditEntryList
from egide.api.dependencies import PrincipalDep
from egide.audit.service import MAX_PAGE, AuditQuery, AuditService

router = APIRouter()


@router.get("/v1/audit/entries")
async def list_entries(
    request: Request,
    principal: PrincipalDep,
    actor: str | None = None,
    action: Annotated[str | None, Query(description="Action prefix, e.g. `proposal.`")] = None,
    object: Annotated[str | None, Query(description="An object, e.g. `proposal:12`")] = None,
    since: Annotated[datetime | None, Query(description="With a time zone")] = None,
    until: Annotated[datetime | None, Query(description="With a time zone")] = None,
    after_seq: int = 0,
    before_seq: int | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    order: Literal["asc", "desc"] = "asc",
    outcome: Annotated[
        Literal["allowed", "refused"] | None,
        Query(description="`refused`: only refusals (401, 403, 404); `allowed`: the rest"),
    ] = None,
) -> AuditEntryList:
    """Journal entries the caller (an auditor) may read; the read is itself journaled."""
    service: AuditService = request.app.state.platform.audit
    query = AuditQuery(
        actor=actor,
        action=action,
        object=object,
        since=since,
        until=until,
        after_seq=after_seq,
        before_seq=before_seq,
        limit=limit,
        newest_first=order == "desc",
        outcome=outcome,
    )
    return AuditEntryList.of(await run_in_threadpool(service.entries, principal, query))
