"""`/v1/proposals`: list, read, create by hand, approve, reject, amend, dissent, export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from egide.api.dependencies import LABEL_HEADER, PrincipalDep
from egide.api.proposals.protocol import (
    Amendment,
    CreateProposal,
    Decision,
    ProposalList,
    ProposalOut,
    Rationale,
    Suspension,
)
from egide.workflows.export import export_proposal
from egide.workflows.proposals import ProposalService

router = APIRouter()


def get_proposals(request: Request) -> ProposalService:
    """The proposal service of the app's platform."""
    service: ProposalService = request.app.state.platform.proposals
    return service


Proposals = Annotated[ProposalService, Depends(get_proposals)]


@router.get("/v1/proposals")
async def list_proposals(
    proposals: Proposals, principal: PrincipalDep, state: str | None = None
) -> ProposalList:
    """Proposals the caller may read (the label filter runs in the SQL), newest first."""
    found = await run_in_threadpool(proposals.readable, principal, state=state)
    return ProposalList(data=[ProposalOut.of(p) for p in found])


@router.post("/v1/proposals", status_code=201)
async def create_proposal(
    body: CreateProposal, proposals: Proposals, principal: PrincipalDep, request: Request
) -> ProposalOut:
    """A proposal written by hand; it works even while AI workflows are suspended."""
    policies = request.app.state.platform.policies
    label = policies.parse(body.label) if body.label else None
    created = await run_in_threadpool(
        lambda: proposals.create(
            principal,
            kind=body.kind,
            title=body.title,
            content=body.content,
            evidence=body.evidence,
            label=label,
        )
    )
    return ProposalOut.of(created)


@router.get("/v1/proposals/{proposal_id}")
async def get_proposal(
    proposal_id: int, proposals: Proposals, principal: PrincipalDep
) -> ProposalOut:
    """One proposal with its whole decision history."""
    return ProposalOut.of(await run_in_threadpool(proposals.get, principal, proposal_id))


@router.post("/v1/proposals/{proposal_id}/approve")
async def approve(
    proposal_id: int, body: Decision, proposals: Proposals, principal: PrincipalDep
) -> ProposalOut:
    """Approve the current content (the second approver decides under the two-person rule)."""
    done = await run_in_threadpool(
        lambda: proposals.approve(
            principal, proposal_id, rationale=body.rationale, expires_at=body.expires_at
        )
    )
    return ProposalOut.of(done)


@router.post("/v1/proposals/{proposal_id}/reject")
async def reject(
    proposal_id: int, body: Rationale, proposals: Proposals, principal: PrincipalDep
) -> ProposalOut:
    """Reject, with a written rationale."""
    return ProposalOut.of(
        await run_in_threadpool(proposals.reject, principal, proposal_id, body.rationale)
    )


@router.post("/v1/proposals/{proposal_id}/amend")
async def amend(
    proposal_id: int, body: Amendment, proposals: Proposals, principal: PrincipalDep
) -> ProposalOut:
    """Replace the content, keeping the original; earlier approvals lapse."""
    return ProposalOut.of(
        await run_in_threadpool(
            proposals.amend, principal, proposal_id, body.content, body.rationale
        )
    )


@router.post("/v1/proposals/{proposal_id}/dissent")
async def dissent(
    proposal_id: int, body: Rationale, proposals: Proposals, principal: PrincipalDep
) -> ProposalOut:
    """Record a disagreement in the proposal's history."""
    return ProposalOut.of(
        await run_in_threadpool(proposals.dissent, principal, proposal_id, body.rationale)
    )


@router.get("/v1/proposals/{proposal_id}/export")
@router.post("/v1/proposals/{proposal_id}/export")
async def export(
    proposal_id: int,
    proposals: Proposals,
    principal: PrincipalDep,
    request: Request,
    format: Annotated[str, Query(description="markdown, pdf or docx")] = "markdown",
) -> Response:
    """Export an approved proposal for dissemination, with its banner and portion marks.

    GET serves download links; POST is kept for clients written against it.
    Either way the release is journaled and refused unless the proposal is approved.
    """
    policies = request.app.state.platform.policies
    done = await run_in_threadpool(
        export_proposal, proposals, policies, principal, proposal_id, format
    )
    return Response(
        done.data,
        media_type=done.format.media_type,
        headers={
            LABEL_HEADER: policies.format(done.proposal.label, "en"),
            "Content-Disposition": f'attachment; filename="{done.filename}"',
        },
    )


@router.post("/v1/admin/ai-suspension")
async def suspend(
    body: Suspension, proposals: Proposals, principal: PrincipalDep
) -> dict[str, bool]:
    """Suspend or resume every AI workflow (administrators only; journaled)."""
    await run_in_threadpool(proposals.set_ai_suspended, principal, body.suspended, body.rationale)
    return {"suspended": body.suspended}
