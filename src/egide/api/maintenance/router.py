"""`POST /v1/maintenance/plan`: fleet histories and a workshop in, a plan proposal out.

Every rule — the role, the model's and the fleet's labels, the journal — is the
maintenance service's; this route only translates. The model is named, not
uploaded: a labelled model directory in the installation's maintenance model
folder (``$EGIDE_DATA_DIR/maintenance/models/NAME``), never a path of the
caller's choosing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from egide.api.dependencies import PrincipalDep
from egide.app import Platform

router = APIRouter()

MAX_FLEET_CHARS = 20_000_000


class PlanBody(BaseModel):
    """A fleet's sensor histories, their label, a workshop and the model to use."""

    model: str = Field(min_length=1, max_length=64, description="Model directory name.")
    fleet: str = Field(
        min_length=1,
        max_length=MAX_FLEET_CHARS,
        description="Sensor histories: C-MAPSS text, or CSV with a header (format).",
    )
    format: Literal["cmapss", "csv"] = "cmapss"
    labels: list[str] = Field(min_length=1, max_length=20, description="The fleet's label(s).")
    workshop: dict[str, Any]
    lang: Literal["fr", "en"] = "en"
    title: str | None = Field(default=None, max_length=200)


class PlanOut(BaseModel):
    """The proposal created and its content (schedule, risk table, explanation)."""

    object: Literal["maintenance.plan"] = "maintenance.plan"
    proposal_id: int
    state: str
    label: str
    required_approvals: int
    model_digest: str | None
    explanation: str
    schedule: dict[str, Any]
    risk: dict[str, Any]


def get_platform(request: Request) -> Platform:
    """The platform of the app serving this request."""
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


@router.post("/v1/maintenance/plan", status_code=201)
async def propose_plan(platform: PlatformDep, principal: PrincipalDep, body: PlanBody) -> PlanOut:
    """Rank the fleet, plan the workshop (HiGHS) and propose the plan (analyst role)."""
    labels = [platform.policies.parse(text) for text in body.labels]
    service = platform.maintenance

    def work() -> PlanOut:
        model = service.model_directory(body.model)
        suffix = ".txt" if body.format == "cmapss" else ".csv"
        with tempfile.TemporaryDirectory(prefix="egide-fleet-") as folder:
            fleet = Path(folder) / f"fleet{suffix}"
            fleet.write_text(body.fleet, encoding="utf-8")
            done = service.propose(
                principal,
                model=model,
                fleet=fleet,
                fleet_labels=labels,
                workshop=body.workshop,
                lang=body.lang,
                title=body.title,
                fleet_name="fleet (API request)",
            )
        p = done.proposal
        return PlanOut(
            proposal_id=p.id,
            state=p.state,
            label=p.marking,
            required_approvals=p.required_approvals,
            model_digest=p.model_digest,
            explanation=done.explanation,
            schedule=done.content["schedule"],
            risk=done.content["risk"],
        )

    return await run_in_threadpool(work)
