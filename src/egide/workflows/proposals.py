"""Proposals: the machine proposes, a human decides.

States: ``draft`` → ``proposed`` → ``approved`` | ``rejected``. An approver
may amend a proposal (the edit is kept beside the original and every earlier
approval lapses, since it approved other words); rejection and amendment need a
written rationale; dissent can be recorded at any time. A kind may require two
distinct approvers. An approval may carry an expiry. Nothing is released —
exported, disseminated, executed — unless the proposal is approved and its
approval has not expired. Every step is journaled with who, when, why and the
hash of the content concerned, in the same transaction as the step.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from egide.audit import Journal
from egide.audit.trail import Trail
from egide.core import access
from egide.core.access import Action
from egide.core.labels import Label, PolicyRegistry, join
from egide.core.principals import Principal
from egide.errors import Conflict, Forbidden, InvalidInput, NotFound
from egide.settings import home_label
from egide.store import (
    Database,
    FlagRecord,
    LabelRecord,
    PrincipalRecord,
    all_labels,
    intern_label,
    utcnow,
)
from egide.workflows.records import ProposalEventRecord, ProposalRecord

AI_SUSPENDED_FLAG = "ai.suspended"
MANUAL = "manual"


def content_digest(content: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a proposal's content: what an approval binds to."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


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


class ProposalService:
    """Creates proposals and records the human decisions on them."""

    def __init__(
        self,
        database: Database,
        journal: Journal,
        policies: PolicyRegistry,
        *,
        two_person_kinds: Iterable[str] = (),
        home: Label | None = None,
        trail: Trail | None = None,
        admit: Callable[[Principal], None] | None = None,
    ) -> None:
        self._db = database
        self._journal = journal
        self._policies = policies
        self._two_person = frozenset(two_person_kinds)
        self._home = home or home_label(policies)
        self._trail = trail or Trail(database, journal, policies.canonical(self._home))
        # The rate limiter's admission (a costly creation takes one request token).
        self._admit = admit

    # the platform-wide switch ----------------------------------------------------------

    def ai_suspended(self) -> bool:
        """Whether AI workflows are suspended platform-wide."""
        with self._db.transaction() as session:
            flag = session.get(FlagRecord, AI_SUSPENDED_FLAG)
            return bool(flag and flag.value)

    def set_ai_suspended(self, principal: Principal, suspended: bool, rationale: str) -> None:
        """Suspend or resume every AI workflow (manual paths keep working)."""
        with self._trail.guard(principal, "ai.suspend" if suspended else "ai.resume"):
            access.require(access.can_administer(principal))
        rationale = _rationale(rationale, "suspending or resuming AI workflows")
        with self._db.transaction() as session:
            flag = session.get(FlagRecord, AI_SUSPENDED_FLAG)
            if flag is None:
                session.add(FlagRecord(key=AI_SUSPENDED_FLAG, value=suspended))
            else:
                flag.value = suspended
                flag.updated_at = utcnow()
            self._journal.append(
                session,
                actor=principal.actor,
                action="ai.suspend" if suspended else "ai.resume",
                label=self._policies.canonical(self._lowest()),
                details={"rationale": rationale},
            )

    def ensure_ai_allowed(self) -> None:
        """Raise `Forbidden` while AI workflows are suspended."""
        if self.ai_suspended():
            raise Forbidden(
                "AI workflows are suspended by an administrator; "
                "write the proposal by hand (workflow 'manual') or wait for them to resume"
            )

    # creation ------------------------------------------------------------------------

    def create(
        self,
        principal: Principal,
        *,
        kind: str,
        title: str,
        content: Mapping[str, Any],
        evidence: Sequence[Mapping[str, Any]] = (),
        input_labels: Sequence[Label] = (),
        label: Label | None = None,
        model: str | None = None,
        model_digest: str | None = None,
        workflow: str = MANUAL,
        submit: bool = True,
        record_also: Callable[[Session, Proposal], None] | None = None,
    ) -> Proposal:
        """Record a proposal; its label is the join of its inputs and any label given.

        AI workflows pass `model`; the manual path (`workflow="manual"`) works
        even while AI is suspended. `record_also` lets the workflow journal what
        only it knows (gradings, fallbacks) in the same transaction as the
        proposal: both are written, or neither.
        """
        parts = [*input_labels, *([label] if label else [])]
        final = join(*parts) if parts else self._lowest()
        with self._trail.guard(principal, "proposal.create", details={"kind": kind}):
            access.require(access.can(principal, Action.PROPOSAL_CREATE))
            access.require(access.can_work_at(principal, final))
            if workflow != MANUAL:
                self.ensure_ai_allowed()
        if self._admit is not None and workflow == MANUAL:
            self._admit(principal)  # an AI workflow took its token when it started
        if not kind.strip() or not title.strip():
            raise InvalidInput("a proposal needs a kind and a title")
        body = _plain(content)
        digest = content_digest(body)
        with self._db.transaction() as session:
            record = ProposalRecord(
                kind=kind,
                title=title.strip(),
                state="proposed" if submit else "draft",
                content=body,
                content_hash=digest,
                original_content=None,
                evidence=[_plain(e) for e in evidence],
                model=model,
                model_digest=model_digest,
                workflow=workflow,
                author_id=principal.id,
                label_id=intern_label(session, self._policies.canonical(final)),
                required_approvals=2 if kind in self._two_person else 1,
            )
            session.add(record)
            session.flush()
            self._event(
                session,
                record,
                principal,
                "create",
                "",
                details={
                    "kind": kind,
                    "workflow": workflow,
                    "model": model,
                    "model_digest": model_digest,
                    "evidence": record.evidence,
                    "state": record.state,
                },
            )
            proposal = self._view(session, record)
            if record_also is not None:
                record_also(session, proposal)
            return proposal

    def submit(self, principal: Principal, proposal_id: int) -> Proposal:
        """Move the author's draft to `proposed`."""
        with (
            self._refusals(principal, "proposal.submit", proposal_id),
            self._db.transaction() as session,
        ):
            record = self._readable(session, principal, proposal_id)
            if record.author_id != principal.id:
                raise Forbidden("only the author can submit a draft")
            self._expect(record, "draft")
            record.state = "proposed"
            self._event(session, record, principal, "submit", "")
            return self._view(session, record)

    # decisions -----------------------------------------------------------------------

    def approve(
        self,
        principal: Principal,
        proposal_id: int,
        *,
        rationale: str = "",
        expires_at: datetime | None = None,
    ) -> Proposal:
        """Approve the current content; with the two-person rule, the second approver decides."""
        with (
            self._refusals(principal, "proposal.approve", proposal_id),
            self._db.transaction() as session,
        ):
            record = self._decidable(session, principal, proposal_id)
            if expires_at is not None and expires_at <= utcnow():
                raise InvalidInput("an approval's expiry must be in the future")
            approvers = self._approvers(session, record)
            if principal.id in approvers:
                raise Conflict(
                    "you have already approved this content; a second approver is needed"
                )
            self._event(session, record, principal, "approve", rationale, expires_at=expires_at)
            if len(approvers) + 1 >= record.required_approvals:
                record.state = "approved"
                expiries = [
                    e.expires_at
                    for e in self._events(session, record)
                    if e.action == "approve"
                    and e.content_hash == record.content_hash
                    and e.expires_at is not None
                ]
                record.approval_expires_at = min(expiries) if expiries else None
            return self._view(session, record)

    def reject(self, principal: Principal, proposal_id: int, rationale: str) -> Proposal:
        """Reject the proposal, with a written rationale."""
        text = _rationale(rationale, "a rejection")
        with (
            self._refusals(principal, "proposal.reject", proposal_id),
            self._db.transaction() as session,
        ):
            record = self._decidable(session, principal, proposal_id)
            record.state = "rejected"
            self._event(session, record, principal, "reject", text)
            return self._view(session, record)

    def amend(
        self, principal: Principal, proposal_id: int, content: Mapping[str, Any], rationale: str
    ) -> Proposal:
        """Replace the content, keeping the original; earlier approvals lapse."""
        text = _rationale(rationale, "an amendment")
        with (
            self._refusals(principal, "proposal.amend", proposal_id),
            self._db.transaction() as session,
        ):
            record = self._decidable(session, principal, proposal_id)
            body = _plain(content)
            if content_digest(body) == record.content_hash:
                raise InvalidInput("the amendment does not change the content")
            if record.original_content is None:
                record.original_content = record.content
            record.content = body
            record.content_hash = content_digest(body)
            self._event(session, record, principal, "amend", text)
            return self._view(session, record)

    def dissent(self, principal: Principal, proposal_id: int, rationale: str) -> Proposal:
        """Record a reader's disagreement; it changes no state but stays in the record."""
        text = _rationale(rationale, "a dissent")
        with (
            self._refusals(principal, "proposal.dissent", proposal_id),
            self._db.transaction() as session,
        ):
            access.require(access.can(principal, Action.PROPOSAL_DISSENT))
            record = self._readable(session, principal, proposal_id)
            self._event(session, record, principal, "dissent", text)
            return self._view(session, record)

    def release(self, principal: Principal, proposal_id: int, purpose: str) -> Proposal:
        """Authorise an export, dissemination or action of an approved, unexpired proposal."""
        with (
            self._refusals(principal, "proposal.release", proposal_id),
            self._db.transaction() as session,
        ):
            access.require(access.can(principal, Action.PROPOSAL_RELEASE))
            record = self._readable(session, principal, proposal_id)
            if record.state != "approved":
                raise Forbidden(
                    f"proposal {proposal_id} is {record.state}, not approved: nothing leaves or "
                    "acts without a human approval"
                )
            if record.approval_expires_at is not None and record.approval_expires_at <= utcnow():
                raise Forbidden(
                    f"the approval of proposal {proposal_id} expired at "
                    f"{record.approval_expires_at:%Y-%m-%d %H:%M} UTC; ask for a new decision"
                )
            self._event(session, record, principal, "release", purpose)
            return self._view(session, record)

    # reading ---------------------------------------------------------------------------

    def get(self, principal: Principal, proposal_id: int) -> Proposal:
        """One proposal, if the principal may read it (else `NotFound`, revealing nothing).

        The read is journaled (`proposal.read`), as is a refusal.
        """
        with (
            self._refusals(principal, "proposal.read", proposal_id),
            self._db.transaction() as session,
        ):
            access.require(access.can(principal, Action.PROPOSAL_READ))
            view = self._view(session, self._readable(session, principal, proposal_id))
        self._trail.read(
            principal,
            "proposal.read",
            objects=[f"proposal:{proposal_id}"],
            label=self._policies.canonical(view.label),
            details={"content_hash": view.content_hash, "state": view.state},
        )
        return view

    def readable(self, principal: Principal, *, state: str | None = None) -> list[Proposal]:
        """Proposals the principal may read, newest first; the label filter is in the SQL.

        The listing is journaled (`proposal.list`) with the ids it showed, as is a refusal.
        """
        with self._trail.guard(principal, "proposal.list", details={"state": state}):
            access.require(access.can(principal, Action.PROPOSAL_READ))
        found = self._list(principal, state)
        self._trail.read(
            principal,
            "proposal.list",
            objects=[f"proposal:{p.id}" for p in found],
            label=self._policies.canonical(join(self._lowest(), *(p.label for p in found))),
            details={"state": state},
        )
        return found

    def _list(self, principal: Principal, state: str | None) -> list[Proposal]:
        with self._db.transaction() as session:
            readable = self._readable_ids(session, principal)
            query = (
                select(ProposalRecord)
                .where(ProposalRecord.label_id.in_(readable))
                .order_by(ProposalRecord.id.desc())
            )
            if state is not None:
                query = query.where(ProposalRecord.state == state)
            return [self._view(session, r) for r in session.scalars(query)]

    # helpers ---------------------------------------------------------------------------

    def _lowest(self) -> Label:
        return self._home

    def _refusals(
        self, principal: Principal, action: str, proposal_id: int
    ) -> AbstractContextManager[None]:
        """Journal a refusal of `action` on the proposal (its transaction rolls back)."""
        return self._trail.guard(principal, action, objects=[f"proposal:{proposal_id}"])

    def _readable_ids(self, session: Session, principal: Principal) -> set[int]:
        labels = [(i, self._policies.parse(c)) for i, c in all_labels(session)]
        return access.readable_label_ids(principal, labels)

    def _readable(self, session: Session, principal: Principal, proposal_id: int) -> ProposalRecord:
        record = session.scalar(
            select(ProposalRecord)
            .where(ProposalRecord.id == proposal_id)
            .where(ProposalRecord.label_id.in_(self._readable_ids(session, principal)))
        )
        if record is None:
            raise NotFound(f"no proposal {proposal_id} that you may read")
        return record

    def _decidable(
        self, session: Session, principal: Principal, proposal_id: int
    ) -> ProposalRecord:
        record = self._readable(session, principal, proposal_id)
        self._expect(record, "proposed")
        access.require(
            access.can_approve(principal, self._label(session, record), author_id=record.author_id)
        )
        return record

    @staticmethod
    def _expect(record: ProposalRecord, state: str) -> None:
        if record.state != state:
            raise Conflict(f"proposal {record.id} is {record.state}; this needs it {state}")

    def _label(self, session: Session, record: ProposalRecord) -> Label:
        canonical = session.get(LabelRecord, record.label_id)
        assert canonical is not None
        return self._policies.parse(canonical.canonical)

    def _approvers(self, session: Session, record: ProposalRecord) -> set[int]:
        return {
            e.actor_id
            for e in self._events(session, record)
            if e.action == "approve" and e.content_hash == record.content_hash
        }

    @staticmethod
    def _events(session: Session, record: ProposalRecord) -> list[ProposalEventRecord]:
        return list(
            session.scalars(
                select(ProposalEventRecord)
                .where(ProposalEventRecord.proposal_id == record.id)
                .order_by(ProposalEventRecord.id)
            )
        )

    def _event(
        self,
        session: Session,
        record: ProposalRecord,
        principal: Principal,
        action: str,
        rationale: str,
        *,
        expires_at: datetime | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        record.updated_at = utcnow()
        session.add(
            ProposalEventRecord(
                proposal_id=record.id,
                actor_id=principal.id,
                action=action,
                rationale=rationale,
                content_hash=record.content_hash,
                expires_at=expires_at,
            )
        )
        self._journal.append(
            session,
            actor=principal.actor,
            action=f"proposal.{action}",
            objects=[f"proposal:{record.id}"],
            label=self._policies.canonical(self._label(session, record)),
            details={
                "rationale": rationale,
                "content_hash": record.content_hash,
                "state": record.state,
                "expires_at": expires_at.isoformat() if expires_at else None,
                **(details or {}),
            },
        )

    def _view(self, session: Session, record: ProposalRecord) -> Proposal:
        events = self._events(session, record)
        ids = {record.author_id, *(e.actor_id for e in events)}
        rows = session.execute(
            select(PrincipalRecord.id, PrincipalRecord.username).where(PrincipalRecord.id.in_(ids))
        )
        names = {row.id: row.username for row in rows}
        label = self._label(session, record)
        return Proposal(
            id=record.id,
            kind=record.kind,
            title=record.title,
            state=record.state,
            label=label,
            marking=self._policies.format(label),
            content=record.content,
            content_hash=record.content_hash,
            original_content=record.original_content,
            evidence=record.evidence,
            model=record.model,
            model_digest=record.model_digest,
            workflow=record.workflow,
            author=names.get(record.author_id, "?"),
            required_approvals=record.required_approvals,
            approvals=tuple(
                names.get(e.actor_id, "?")
                for e in events
                if e.action == "approve" and e.content_hash == record.content_hash
            ),
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
                for e in events
            ),
        )


def _rationale(text: str, what: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidInput(f"{what} needs a written rationale")
    return text


def _plain(value: Mapping[str, Any]) -> dict[str, Any]:
    try:
        plain: dict[str, Any] = json.loads(json.dumps(dict(value), allow_nan=False))
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"proposal content must be plain JSON: {error}") from None
    return plain


__all__ = ["AI_SUSPENDED_FLAG", "MANUAL", "Event", "Proposal", "ProposalService"]
