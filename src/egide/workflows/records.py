"""Tables of proposals, their decision history (migration 0004_proposals) and the
organisations a proposal is kept to (migration 0009_proposal_organisations)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from egide.store import Base, utcnow
from egide.store.models import UTCDateTime


class ProposalRecord(Base):
    """A proposal awaiting, or having received, a human decision."""

    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), index=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    original_content: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    model_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    workflow: Mapped[str] = mapped_column(String(100))
    author_id: Mapped[int] = mapped_column(ForeignKey("principals.id"), index=True)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id"), index=True)
    required_approvals: Mapped[int] = mapped_column(Integer)
    approval_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # True: only members of the organisations in `proposal_organisations` may see it
    # (none listed: nobody). False: no collection of its sources restricts it.
    scoped: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ProposalOrganisationRecord(Base):
    """An organisation whose members may see a scoped proposal (they may use all its sources)."""

    __tablename__ = "proposal_organisations"

    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), primary_key=True)
    organisation: Mapped[str] = mapped_column(String(200), primary_key=True)


class ProposalEventRecord(Base):
    """One step of a proposal's history: who did what, when, why, on which content."""

    __tablename__ = "proposal_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("principals.id"))
    action: Mapped[str] = mapped_column(String(20))
    rationale: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
