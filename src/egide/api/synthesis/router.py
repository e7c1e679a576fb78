"""`POST /v1/intelligence/synthesis`: tasking and sources in, a report proposal out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from egide.api.dependencies import LABEL_HEADER, GatewayDep, PrincipalDep, label_header
from egide.api.synthesis.protocol import SynthesisBody, SynthesisOut
from egide.serving.chat import workflow_engine
from egide.workflows.synthesis import SynthesisRequest

router = APIRouter()


@router.post("/v1/intelligence/synthesis", status_code=201)
async def synthesize(
    body: SynthesisBody,
    request: Request,
    response: Response,
    gateway: GatewayDep,
    principal: PrincipalDep,
) -> SynthesisOut:
    """Gather the sources the caller may read, grade, analyse, validate, and propose."""
    working = gateway.requested_label(principal, label_header(request))
    engine = None
    if body.model:
        # The gateway's policy: kill switch, accreditation for the working label, routing.
        engine = await workflow_engine(gateway, principal, working, body.model, "synthesis.report")
    done = await gateway.platform.synthesis.synthesize(
        principal,
        SynthesisRequest(
            tasking=body.tasking,
            working_label=working,
            collection=body.collection,
            document_ids=tuple(body.document_ids),
            gradings=body.gradings,
            k=body.k,
            mode=body.mode,
        ),
        engine=engine,
    )
    response.headers[LABEL_HEADER] = gateway.policies.format(done.label, "en")
    return SynthesisOut(
        proposal_id=done.proposal.id,
        state=done.proposal.state,
        label=done.proposal.marking,
        mode=done.mode,
        fallback_reason=done.fallback_reason,
        unused_gradings=list(done.unused_gradings),
        model=done.proposal.model,
        model_digest=done.proposal.model_digest,
        report=done.report,
        text=done.text,
    )
