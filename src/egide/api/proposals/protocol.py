"""Wire models of the proposal routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from egide.workflows.proposals import Proposal


class CreateProposal(BaseModel):
    """A proposal written by hand (the manual path, open while AI is suspended)."""

    kind: str = Field(min_length=1, max_length=100)
    title: str = Field(min_length=1, max_length=500)
    content: dict[str, Any]
    label: str | None = Field(
        default=None, description="marking of the content, if above its inputs"
    )
    evidence: list[dict[str, Any]] = Field(default_factory=list)


class Decision(BaseModel):
    """Approval: an optional rationale and expiry."""

    rationale: str = ""
    expires_at: datetime | None = None


class Rationale(BaseModel):
    """Rejection or dissent: the rationale is required."""

    rationale: str = Field(min_length=1)


class Amendment(BaseModel):
    """A human edit of the content, kept beside the original."""

    content: dict[str, Any]
    rationale: str = Field(min_length=1)


class Suspension(BaseModel):
    """Suspend or resume every AI workflow."""

    suspended: bool
    rationale: str = Field(min_length=1)


class EventOut(BaseModel):
    action: str
    actor: str
    rationale: str
    content_hash: str
    at: datetime
    expires_at: datetime | None


class ProposalOut(BaseModel):
    """A proposal as its reader sees it."""

    object: Literal["proposal"] = "proposal"
    id: int
    kind: str
    title: str
    state: str
    label: str
    content: dict[str, Any]
    content_hash: str
    original_content: dict[str, Any] | None
    evidence: list[dict[str, Any]]
    model: str | None
    model_digest: str | None
    workflow: str
    author: str
    required_approvals: int
    approvals: list[str]
    approval_expires_at: datetime | None
    history: list[EventOut]

    @classmethod
    def of(cls, proposal: Proposal) -> ProposalOut:
        return cls(
            id=proposal.id,
            kind=proposal.kind,
            title=proposal.title,
            state=proposal.state,
            label=proposal.marking,
            content=proposal.content,
            content_hash=proposal.content_hash,
            original_content=proposal.original_content,
            evidence=proposal.evidence,
            model=proposal.model,
            model_digest=proposal.model_digest,
            workflow=proposal.workflow,
            author=proposal.author,
            required_approvals=proposal.required_approvals,
            approvals=list(proposal.approvals),
            approval_expires_at=proposal.approval_expires_at,
            history=[EventOut(**vars(e)) for e in proposal.history],
        )


class ProposalList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ProposalOut]
