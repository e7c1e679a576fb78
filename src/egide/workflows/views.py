"""A stored proposal as its reader sees it: its history, content, label and organisations.

Content is plain JSON within limits of depth and size (`egide.workflows.content`),
and a stored record that breaks them is listed as damaged, never rendered, so
one bad record cannot break the list for everyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from egide.core.labels import Label, PolicyRegistry
from egide.errors import EgideError
from egide.store import LabelRecord, PrincipalRecord
from egide.workflows.approvals import author_ids, current_approvals
from egide.workflows.blocks import block_problem
from egide.workflows.content import stored_problem
from egide.workflows.records import (
    ProposalEventRecord,
    ProposalOrganisationRecord,
    ProposalRecord,
)


@dataclass(frozen=True)
class Event:
    """One step of a proposal's history."""

    action: str
    actor: str
    rationale: str
    content_hash: str
    at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class Proposal:
    """A proposal as its reader sees it."""

    id: int
    kind: str
    title: str
    state: str
    label: Label
    marking: str
    content: dict[str, Any]
    content_hash: str
    original_content: dict[str, Any] | None
    evidence: list[dict[str, Any]]
    model: str | None
    model_digest: str | None
    workflow: str
    author: str
    required_approvals: int
    approvals: tuple[str, ...]
    approval_expires_at: datetime | None
    history: tuple[Event, ...]
    authors: tuple[str, ...] = ()
    """Who wrote or amended the current version: none of them may approve it."""
    problem: str | None = None
    """Why the stored content cannot be shown (a damaged record), or None."""
    organisations: tuple[str, ...] = ()
    """The organisations whose members may see it (those that may use all its sources);
    empty: no collection of its sources restricts it."""


class Views:
    """Builds the reader's view of stored proposals."""

    def __init__(self, policies: PolicyRegistry, *, max_bytes: int, home: Label) -> None:
        """Args:
        max_bytes: Today's limit on content; stored content may be up to four times larger.
        home: The label a damaged record is listed at.
        """
        self._policies = policies
        self._max_bytes = max_bytes
        self._home = home

    def label(self, session: Session, record: ProposalRecord) -> Label:
        """The label a stored proposal carries."""
        canonical = session.get(LabelRecord, record.label_id)
        assert canonical is not None
        return self._policies.parse(canonical.canonical)

    def listed(self, session: Session, record: ProposalRecord) -> Proposal:
        """The view of one listed record; a record that cannot be viewed is listed as damaged."""
        try:
            return self.view(session, record)
        except (EgideError, ValueError, TypeError, RecursionError) as error:
            message = error.message if isinstance(error, EgideError) else type(error).__name__
            return Proposal(
                id=record.id,
                kind=record.kind,
                title=record.title,
                state=record.state,
                label=self._home,
                marking="?",
                content={},
                content_hash=record.content_hash,
                original_content=None,
                evidence=[],
                model=record.model,
                model_digest=record.model_digest,
                workflow=record.workflow,
                author="?",
                required_approvals=record.required_approvals,
                approvals=(),
                approval_expires_at=record.approval_expires_at,
                history=(),
                problem=f"this record cannot be shown ({message}); ask an administrator",
                organisations=self.organisations(session, record),
            )

    def stored(
        self, session: Session, record: ProposalRecord
    ) -> tuple[dict[str, Any], dict[str, Any] | None, list[dict[str, Any]], str | None]:
        """Content, original content and evidence of a stored record, or why they are damaged."""
        try:
            row = session.execute(
                select(
                    ProposalRecord.content,
                    ProposalRecord.original_content,
                    ProposalRecord.evidence,
                ).where(ProposalRecord.id == record.id)
            ).one()
        except (RecursionError, ValueError, TypeError):
            return {}, None, [], "its stored content cannot be shown: its JSON cannot be decoded"
        # Stored values may be larger than today's limit (it can be lowered), not deeper.
        limit = self._max_bytes * 4
        problem = (
            stored_problem(row.content, expect=dict, max_bytes=limit)
            or stored_problem(row.evidence, expect=list, max_bytes=limit)
            or (
                stored_problem(row.original_content, expect=dict, max_bytes=limit)
                if row.original_content is not None
                else None
            )
        )
        if problem is None:
            # Written before block markings were checked: a block may be unreadable, or
            # marked above the label its readers were checked against.
            label = self.label(session, record)
            problem = block_problem(row.content, label, self._policies) or block_problem(
                row.original_content, label, self._policies
            )
        if problem is not None:
            return {}, None, [], f"its stored content cannot be shown: {problem}"
        return row.content, row.original_content, row.evidence, None

    @staticmethod
    def organisations(session: Session, record: ProposalRecord) -> tuple[str, ...]:
        """Who may see a scoped proposal (empty for one no collection restricts)."""
        if not record.scoped:
            return ()
        return tuple(
            session.scalars(
                select(ProposalOrganisationRecord.organisation)
                .where(ProposalOrganisationRecord.proposal_id == record.id)
                .order_by(ProposalOrganisationRecord.organisation)
            )
        )

    def view(self, session: Session, record: ProposalRecord) -> Proposal:
        history = events_of(session, record)
        ids = {record.author_id, *(e.actor_id for e in history)}
        rows = session.execute(
            select(PrincipalRecord.id, PrincipalRecord.username).where(PrincipalRecord.id.in_(ids))
        )
        names = {row.id: row.username for row in rows}
        label = self.label(session, record)
        content, original, evidence, problem = self.stored(session, record)
        return Proposal(
            id=record.id,
            kind=record.kind,
            title=record.title,
            state=record.state,
            label=label,
            marking=self._policies.format(label),
            content=content,
            content_hash=record.content_hash,
            original_content=original,
            evidence=evidence,
            model=record.model,
            model_digest=record.model_digest,
            workflow=record.workflow,
            author=names.get(record.author_id, "?"),
            required_approvals=record.required_approvals,
            approvals=tuple(names.get(e.actor_id, "?") for e in current_approvals(record, history)),
            approval_expires_at=record.approval_expires_at,
            history=tuple(
                Event(
                    e.action,
                    names.get(e.actor_id, "?"),
                    e.rationale,
                    e.content_hash,
                    e.created_at,
                    e.expires_at,
                )
                for e in history
            ),
            authors=tuple(names.get(i, "?") for i in sorted(author_ids(record, history))),
            problem=problem,
            organisations=self.organisations(session, record),
        )


def events_of(session: Session, record: ProposalRecord) -> list[ProposalEventRecord]:
    """The history of a proposal, oldest first."""
    return list(
        session.scalars(
            select(ProposalEventRecord)
            .where(ProposalEventRecord.proposal_id == record.id)
            .order_by(ProposalEventRecord.id)
        )
    )


__all__ = ["Event", "Proposal", "Views", "events_of"]
