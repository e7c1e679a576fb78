"""Wire models of the proposal routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from egide.workflows.approvals import accepted_kinds
from egide.workflows.content import MAX_DEPTH, depth_exceeds
from egide.workflows.proposals import MAX_TITLE_CHARS, Proposal


def _shallow(value: Any) -> Any:
    # Checked here too, so a deep body is refused before anything else reads it;
    # the service checks again (and the size) for every other face.
    if depth_exceeds(value):
        raise ValueError(f"nests objects or lists more than {MAX_DEPTH} levels deep; flatten it")
    return value


class CreateProposal(BaseModel):
    """A proposal written by hand (the manual path, open while AI is suspended)."""

    kind: str = Field(min_length=1, max_length=100, description=f"one of: {accepted_kinds()}")
    title: str = Field(min_length=1, max_length=MAX_TITLE_CHARS)
    content: dict[str, Any]
    label: str | None = Field(
        default=None, description="marking of the content, if above its inputs"
    )
    evidence: list[dict[str, Any]] = Field(
        default_factory=list,
        description='passages ({"chunk": ID}) and documents ({"document": ID}) the proposal '
        "rests on; each must be readable by the author, and raises the label to its own",
    )

    _depth = field_validator("content", "evidence", mode="before")(_shallow)


class Decision(BaseModel):
    """Approval: an optional rationale and expiry (an ISO 8601 time with its zone)."""

    rationale: str = ""
    expires_at: datetime | None = None

    @field_validator("expires_at", mode="after")
    @classmethod
    def _zoned(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError(
                "the expiry has no time zone; add one, e.g. 2030-01-31T18:00:00Z "
                "or 2030-01-31T19:00:00+01:00"
            )
        return value


class Rationale(BaseModel):
    """Rejection or dissent: the rationale is required."""

    rationale: str = Field(min_length=1)


class Amendment(BaseModel):
    """A human edit of the content, kept beside the original."""

    content: dict[str, Any]
    rationale: str = Field(min_length=1)

    _depth = field_validator("content", mode="before")(_shallow)


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
    authors: list[str] = Field(description="who wrote or amended this version (may not approve)")
    problem: str | None = Field(description="why a damaged record's content is not shown")
    organisations: list[str] = Field(
        default_factory=list,
        description="organisations whose members may see it (those that may use every "
        "collection of its sources); empty: no collection restricts it",
    )

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
            authors=list(proposal.authors),
            problem=proposal.problem,
            organisations=list(proposal.organisations),
        )


class ProposalList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ProposalOut]
