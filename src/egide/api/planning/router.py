"""`/v1/planning/…`: routing plans solved as jobs, read, mapped and proposed.

Every rule — the role, the label, the organisation, the journal — is the planning
service's; these routes only translate. A solve runs as a job in the API process's
bounded pool of solver threads (`egide.planning.jobs`): `POST /v1/planning/routes`
answers 202 with the job, `GET /v1/planning/jobs/{id}` says how it goes and, when
done, which plan it made.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from egide.api.dependencies import LABEL_HEADER, PrincipalDep
from egide.app import Platform
from egide.errors import InvalidInput
from egide.planning.checks import check
from egide.planning.codec import problem_from_dict

router = APIRouter()

# A map is drawn by the server and holds no script; the policy forbids any anyway, so an
# SVG opened straight in a browser cannot run code or fetch anything.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


class RoutesBody(BaseModel):
    """A problem (the schema of `egide plan schema`), its label and how long to search."""

    problem: dict[str, Any]
    label: str | None = Field(default=None, max_length=500)
    time_limit: float = Field(default=10.0, gt=0, le=86_400)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class ProposalBody(BaseModel):
    """The title and rationale of a logistics-plan proposal."""

    title: str = Field(min_length=1, max_length=500)
    rationale: str = Field(default="", max_length=20_000)


def _platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


@router.post("/v1/planning/routes", status_code=202)
async def plan_routes(body: RoutesBody, request: Request, principal: PrincipalDep) -> JSONResponse:
    """Queue a solve (202 with the job); 422 with the issues when the problem is malformed."""
    platform = _platform(request)
    platform.limiter.admit(principal)
    problem = problem_from_dict(body.problem, "problem")
    # The contradictions found without searching are answered now (422 with the issues);
    # those only the search finds end the job as failed, with the same issues.
    await run_in_threadpool(check, problem)
    label = platform.policies.parse(body.label) if body.label else None
    job = await run_in_threadpool(
        lambda: platform.planning_jobs.start(
            principal, problem, label=label, time_limit=body.time_limit, seed=body.seed
        )
    )
    return JSONResponse(
        job.as_json(),
        status_code=202,
        headers={"Location": f"/v1/planning/jobs/{job.id}"},
    )


@router.get("/v1/planning/jobs/{job_id}")
async def planning_job(job_id: str, request: Request, principal: PrincipalDep) -> JSONResponse:
    """The caller's job: queued, running, done (with the plan id) or failed (with why)."""
    job = _platform(request).planning_jobs.get(principal, job_id)
    return JSONResponse(job.as_json())


@router.get("/v1/planning/plans/{plan_id}")
async def get_plan(
    plan_id: int, request: Request, response: Response, principal: PrincipalDep
) -> dict[str, Any]:
    """A stored plan: problem, solution, routes table, unserved with reasons (journaled)."""
    platform = _platform(request)
    plan = await run_in_threadpool(platform.planning.get, principal, plan_id)
    response.headers[LABEL_HEADER] = platform.policies.format(
        platform.policies.parse(plan.label), "en"
    )
    return {**plan.as_json(), "map": f"/v1/planning/plans/{plan.id}/map.svg"}


@router.get("/v1/planning/plans/{plan_id}/map.svg")
async def plan_map(plan_id: int, request: Request, principal: PrincipalDep) -> Response:
    """The plan's map as SVG, with its label and a policy that lets nothing run (journaled)."""
    platform = _platform(request)
    plan = await run_in_threadpool(lambda: platform.planning.get(principal, plan_id, what="map"))
    return Response(
        plan.svg,
        media_type="image/svg+xml",
        headers={
            LABEL_HEADER: platform.policies.format(platform.policies.parse(plan.label), "en"),
            "Content-Security-Policy": SVG_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


@router.post("/v1/planning/plans/{plan_id}/proposal", status_code=201)
async def propose_plan(
    plan_id: int, body: ProposalBody, request: Request, principal: PrincipalDep
) -> JSONResponse:
    """Make the plan a logistics-plan proposal at its label (two approvals to release)."""
    platform = _platform(request)
    if not body.title.strip():
        raise InvalidInput("a proposal needs a title")
    proposal = await run_in_threadpool(
        platform.planning.propose, principal, plan_id, body.title, body.rationale
    )
    return JSONResponse(
        {
            "proposal_id": proposal.id,
            "state": proposal.state,
            "label": proposal.marking,
            "kind": proposal.kind,
            "required_approvals": proposal.required_approvals,
        },
        status_code=201,
        headers={LABEL_HEADER: platform.policies.format(proposal.label, "en")},
    )
