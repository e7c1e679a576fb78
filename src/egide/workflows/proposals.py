"""Proposals: the machine proposes, a human decides.

States: ``draft`` → ``proposed`` → ``approved`` | ``rejected``. An approver
may amend a proposal (the edit is kept beside the original and every earlier
approval lapses, since it approved other words); rejection and amendment need a
written rationale; dissent can be recorded at any time.

How many distinct approvers a proposal needs is decided on the server, from
its kind (a closed set) and its label (`egide.workflows.approvals`). Whoever
wrote or amended the proposal is one of its authors and cannot approve it; an
approval counts only for the version it approved. An approval may carry an
expiry. Nothing is released — exported, disseminated, executed — unless the
proposal is approved and its approval has not expired. Every step is
journaled with who, when, why and the hash of the content concerned, in the
same transaction as the step.

A proposal rests on passages and documents: those its evidence names and,
for a workflow's proposal, those it was built from. The server resolves them
(`egide.workflows.evidence`): each must be readable by the author, the
proposal's label is never below any of them, and the proposal is kept to the
organisations that may use every collection they come from — anyone else is
answered as if it did not exist, on every read and decision.

Content is plain JSON within limits of depth and size (`egide.workflows.content`);
its ``blocks`` carry markings the writer must be cleared for, and the label is
never below any of them (`egide.workflows.blocks`), at creation and amendment;
how a stored record is shown is `egide.workflows.views`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, false, or_, select
from sqlalchemy.orm import Session, load_only

from egide.audit import Journal
from egide.audit.trail import Trail
from egide.core import access
from egide.core.access import Action
from egide.core.labels import Label, PolicyRegistry, join
from egide.core.principals import Principal
from egide.errors import Conflict, Forbidden, InvalidInput, NotFound
from egide.settings import home_label
from egide.store import MAX_ID, Database, FlagRecord, all_labels, intern_label, utcnow
from egide.workflows.approvals import (
    ApprovalRules,
    author_ids,
    check_expiry,
    current_approvals,
    known_kind,
    parse_kind,
)
from egide.workflows.blocks import parse_blocks
from egide.workflows.content import DEFAULT_MAX_BYTES, content_digest, plain
from egide.workflows.evidence import resolve
from egide.workflows.records import (
    ProposalEventRecord,
    ProposalOrganisationRecord,
    ProposalRecord,
)
from egide.workflows.views import Event, Proposal, Views, events_of

AI_SUSPENDED_FLAG = "ai.suspended"
MANUAL = "manual"
MAX_TITLE_CHARS = 500
# Columns of a proposal other than its JSON ones: enough to list a damaged record.
_SCALARS = (
    ProposalRecord.id,
    ProposalRecord.kind,
    ProposalRecord.title,
    ProposalRecord.state,
    ProposalRecord.content_hash,
    ProposalRecord.model,
    ProposalRecord.model_digest,
    ProposalRecord.workflow,
    ProposalRecord.author_id,
    ProposalRecord.label_id,
    ProposalRecord.required_approvals,
    ProposalRecord.approval_expires_at,
    ProposalRecord.created_at,
    ProposalRecord.updated_at,
    ProposalRecord.scoped,
)


class ProposalService:
    """Creates proposals and records the human decisions on them."""

    def __init__(
        self,
        database: Database,
        journal: Journal,
        policies: PolicyRegistry,
        *,
        rules: ApprovalRules | None = None,
        two_person_kinds: Iterable[str] = (),
        max_content_bytes: int = DEFAULT_MAX_BYTES,
        home: Label | None = None,
        trail: Trail | None = None,
        admit: Callable[[Principal], None] | None = None,
    ) -> None:
        """Args:
        rules: The installation's approvals table (default: the built-in one,
            raised to two for `two_person_kinds`).
        max_content_bytes: Largest content (and evidence), in bytes of JSON.
        """
        self._db = database
        self._journal = journal
        self._policies = policies
        self._rules = rules or ApprovalRules(policies, two_person_kinds=two_person_kinds)
        self._max_bytes = max_content_bytes
        self._home = home or home_label(policies)
        self._trail = trail or Trail(database, journal, policies.canonical(self._home))
        self._views = Views(policies, max_bytes=max_content_bytes, home=self._home)
        # The rate limiter's admission (a costly creation takes one request token).
        self._admit = admit

    @property
    def rules(self) -> ApprovalRules:
        """The approvals table this service applies."""
        return self._rules

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
        sources: Sequence[int] = (),
        input_labels: Sequence[Label] = (),
        label: Label | None = None,
        model: str | None = None,
        model_digest: str | None = None,
        workflow: str = MANUAL,
        submit: bool = True,
        organisations: Collection[str] | None = None,
        record_also: Callable[[Session, Proposal], None] | None = None,
    ) -> Proposal:
        """Record a proposal; its label is the join of its inputs, any label given and
        its evidence's and sources' labels; it is kept to the organisations that may
        use all of them.

        `evidence` items that name a passage (``chunk``) or a document
        (``document``) are resolved on the server (`egide.workflows.evidence`);
        `sources` are the passages a workflow built the content from; `organisations`
        keeps the proposal to those organisations besides what its evidence requires
        (a service's own object, such as a plan, kept to its author's organisation). AI workflows
        pass `model`; the manual path (`workflow="manual"`) works
        even while AI is suspended. `record_also` lets the workflow journal what
        only it knows (gradings, fallbacks) in the same transaction as the
        proposal: both are written, or neither.
        """
        typed = [*input_labels, *([label] if label else [])]
        with self._trail.guard(principal, "proposal.create", details={"kind": kind}):
            access.require(access.can(principal, Action.PROPOSAL_CREATE))
            if typed:
                access.require(access.can_work_at(principal, join(*typed)))
            if workflow != MANUAL:
                self.ensure_ai_allowed()
        chosen = parse_kind(kind)
        if not title.strip() or len(title.strip()) > MAX_TITLE_CHARS:
            raise InvalidInput(f"a proposal needs a title of 1 to {MAX_TITLE_CHARS} characters")
        body, marked = self._content(content)
        proofs = plain(list(evidence), "proposal's evidence", max_bytes=self._max_bytes)
        if self._admit is not None and workflow == MANUAL:
            self._admit(principal)  # an AI workflow took its token when it started
        digest = content_digest(body)
        with (
            self._trail.guard(principal, "proposal.create", details={"kind": kind}),
            self._db.transaction() as session,
        ):
            # The evidence and sources are checked against the author's rights in the
            # transaction that writes the proposal: what was readable is what is recorded.
            resolved = resolve(
                session,
                principal,
                self._policies,
                self._readable_ids(session, principal),
                proofs,
                sources,
            )
            _cleared_for(principal, marked)
            scope: Collection[str] | None = resolved.organisations
            if organisations is not None:
                scope = set(organisations) if scope is None else set(scope) & set(organisations)
            parts = [*typed, *marked.values(), *resolved.labels]
            final = join(*parts) if parts else self._lowest()
            access.require(access.can_work_at(principal, final))
            record = ProposalRecord(
                kind=chosen.value,
                title=title.strip(),
                state="proposed" if submit else "draft",
                content=body,
                content_hash=digest,
                original_content=None,
                evidence=plain(resolved.evidence, "proposal's evidence", max_bytes=self._max_bytes),
                model=model,
                model_digest=model_digest,
                workflow=workflow,
                author_id=principal.id,
                label_id=intern_label(session, self._policies.canonical(final)),
                required_approvals=self._rules.required(chosen, final),
                scoped=scope is not None,
            )
            session.add(record)
            session.flush()
            for organisation in sorted(scope or ()):
                session.add(
                    ProposalOrganisationRecord(proposal_id=record.id, organisation=organisation)
                )
            self._event(
                session,
                record,
                principal,
                "create",
                "",
                details={
                    "kind": chosen.value,
                    "required_approvals": record.required_approvals,
                    "workflow": workflow,
                    "model": model,
                    "model_digest": model_digest,
                    "evidence": record.evidence,
                    "sources": sorted(set(sources)),
                    "organisations": sorted(scope) if scope is not None else None,
                    "state": record.state,
                },
            )
            proposal = self._views.view(session, record)
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
            return self._views.view(session, record)

    # decisions -----------------------------------------------------------------------

    def approve(
        self,
        principal: Principal,
        proposal_id: int,
        *,
        rationale: str = "",
        expires_at: datetime | None = None,
    ) -> Proposal:
        """Approve the current version; when more approvals are needed, the last one decides.

        Raises:
            Forbidden: the principal wrote or amended this version, or may not decide.
            Conflict: the principal already approved this version.
            InvalidInput: an expiry without a time zone, or in the past.
        """
        check_expiry(expires_at)
        if expires_at is not None:
            expires_at = expires_at.astimezone(UTC)
        with (
            self._refusals(principal, "proposal.approve", proposal_id),
            self._db.transaction() as session,
        ):
            record = self._decidable(session, principal, proposal_id)
            events = events_of(session, record)
            if principal.id in author_ids(record, events):
                raise Forbidden(
                    "you wrote or amended this version of the proposal, so you cannot approve "
                    "it; another approver must"
                )
            approvals = current_approvals(record, events)
            if principal.id in {e.actor_id for e in approvals}:
                raise Conflict("you have already approved this version; another approver is needed")
            # The table may have been raised since the proposal was written, and a
            # kind of an older version is held to the strictest: never fewer.
            record.required_approvals = max(
                record.required_approvals,
                self._rules.required(known_kind(record.kind), self._views.label(session, record)),
            )
            self._event(session, record, principal, "approve", rationale, expires_at=expires_at)
            if len({e.actor_id for e in approvals}) + 1 >= record.required_approvals:
                record.state = "approved"
                expiries = [e.expires_at for e in approvals if e.expires_at is not None]
                if expires_at is not None:
                    expiries.append(expires_at)
                record.approval_expires_at = min(expiries) if expiries else None
            return self._views.view(session, record)

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
            return self._views.view(session, record)

    def amend(
        self, principal: Principal, proposal_id: int, content: Mapping[str, Any], rationale: str
    ) -> Proposal:
        """Replace the content, keeping the original; earlier approvals lapse."""
        text = _rationale(rationale, "an amendment")
        body, marked = self._content(content)
        with (
            self._refusals(principal, "proposal.amend", proposal_id),
            self._db.transaction() as session,
        ):
            record = self._decidable(session, principal, proposal_id)
            if content_digest(body) == record.content_hash:
                raise InvalidInput("the amendment does not change the content")
            _cleared_for(principal, marked)
            # The amender's blocks may raise the label (never lower it): the banner and
            # every read check then cover the new words, and the table may need more approvers.
            before = self._views.label(session, record)
            after = join(before, *marked.values())
            access.require(access.can_work_at(principal, after))
            if record.original_content is None:
                record.original_content = record.content
            record.content = body
            record.content_hash = content_digest(body)
            details: dict[str, Any] = {}
            if after != before:
                record.label_id = intern_label(session, self._policies.canonical(after))
                record.required_approvals = max(
                    record.required_approvals,
                    self._rules.required(known_kind(record.kind), after),
                )
                details = {
                    "previous_label": self._policies.canonical(before),
                    "required_approvals": record.required_approvals,
                }
            self._event(session, record, principal, "amend", text, details=details)
            return self._views.view(session, record)

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
            return self._views.view(session, record)

    def release(self, principal: Principal, proposal_id: int, purpose: str) -> Proposal:
        """Authorise an export, dissemination or action of an approved, unexpired proposal."""
        with (
            self._refusals(principal, "proposal.release", proposal_id),
            self._db.transaction() as session,
        ):
            access.require(access.can(principal, Action.PROPOSAL_RELEASE))
            if self._admit is not None:
                self._admit(principal)  # an export renders a PDF or DOCX: a costly request
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
            view = self._views.view(session, record)
            if view.problem is not None:
                raise Conflict(
                    f"proposal {proposal_id} is damaged ({view.problem}) and cannot be released; "
                    "ask an administrator to restore it from a backup"
                )
            self._event(session, record, principal, "release", purpose)
            return self._views.view(session, record)

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
            view = self._views.view(session, self._readable(session, principal, proposal_id))
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
            # The JSON columns are read one record at a time (in `Views.view`), so one
            # damaged record is reported as such instead of failing the whole list.
            query = (
                select(ProposalRecord)
                .options(load_only(*_SCALARS))
                .where(ProposalRecord.label_id.in_(readable))
                .where(_in_scope(principal))
                .order_by(ProposalRecord.id.desc())
            )
            if state is not None:
                query = query.where(ProposalRecord.state == state)
            return [self._views.listed(session, r) for r in session.scalars(query)]

    # helpers ---------------------------------------------------------------------------

    def _lowest(self) -> Label:
        return self._home

    def _refusals(
        self, principal: Principal, action: str, proposal_id: int
    ) -> AbstractContextManager[None]:
        """Journal a refusal of `action` on the proposal (its transaction rolls back)."""
        return self._trail.guard(principal, action, objects=[f"proposal:{proposal_id}"])

    def _readable_ids(self, session: Session, principal: Principal) -> set[int]:
        labels = self._policies.parse_stored(all_labels(session))
        return access.readable_label_ids(principal, labels)

    def _readable(self, session: Session, principal: Principal, proposal_id: int) -> ProposalRecord:
        if not 1 <= proposal_id <= MAX_ID:
            # Beyond what the databases store: answered like any missing proposal.
            raise NotFound(f"no proposal {proposal_id} that you may read")
        record = session.scalar(
            select(ProposalRecord)
            .options(load_only(*_SCALARS))
            .where(ProposalRecord.id == proposal_id)
            .where(ProposalRecord.label_id.in_(self._readable_ids(session, principal)))
            .where(_in_scope(principal))
        )
        if record is None:
            raise NotFound(f"no proposal {proposal_id} that you may read")
        return record

    def _decidable(
        self, session: Session, principal: Principal, proposal_id: int
    ) -> ProposalRecord:
        record = self._readable(session, principal, proposal_id)
        # Who may decide is answered before the state: a reader without the right is
        # refused (403) the same whatever state the proposal is in.
        access.require(
            access.can_approve(
                principal, self._views.label(session, record), author_id=record.author_id
            )
        )
        self._expect(record, "proposed")
        problem = self._views.stored(session, record)[3]
        if problem is not None:
            raise Conflict(
                f"proposal {proposal_id} is damaged ({problem}); it cannot be decided on: "
                "ask an administrator to restore it from a backup, or write it again"
            )
        return record

    @staticmethod
    def _expect(record: ProposalRecord, state: str) -> None:
        if record.state != state:
            raise Conflict(f"proposal {record.id} is {record.state}; this needs it {state}")

    def _content(self, content: Mapping[str, Any]) -> tuple[dict[str, Any], dict[int, Label]]:
        """The content as plain JSON, and the label of each block that carries a marking."""
        if not isinstance(content, Mapping):
            raise InvalidInput("a proposal's content must be a JSON object")
        body: dict[str, Any] = plain(dict(content), "proposal's content", max_bytes=self._max_bytes)
        blocks = parse_blocks(body, self._policies) or []
        marked = {n: b.label for n, b in enumerate(blocks, start=1) if b.label is not None}
        return body, marked

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
            label=self._policies.canonical(self._views.label(session, record)),
            details={
                "rationale": rationale,
                "content_hash": record.content_hash,
                "state": record.state,
                "expires_at": expires_at.isoformat() if expires_at else None,
                **(details or {}),
            },
        )


def _in_scope(principal: Principal) -> ColumnElement[bool]:
    """The SQL condition for a proposal the principal's organisation may see."""
    unscoped = ProposalRecord.scoped == false()
    if principal.organisation is None:
        return unscoped
    member = exists().where(
        ProposalOrganisationRecord.proposal_id == ProposalRecord.id,
        ProposalOrganisationRecord.organisation == principal.organisation,
    )
    return or_(unscoped, member)


def _cleared_for(principal: Principal, marked: Mapping[int, Label]) -> None:
    """Refuse a block marked above what the writer is cleared for, naming it."""
    for number, label in marked.items():
        decision = principal.clearance.permits(label)
        if not decision.allowed:
            raise Forbidden(
                f"block {number} is marked above your clearance ({decision.reason}); "
                "only someone cleared for it may write it"
            )


def _rationale(text: str, what: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidInput(f"{what} needs a written rationale")
    return text


__all__ = [
    "AI_SUSPENDED_FLAG",
    "MANUAL",
    "MAX_TITLE_CHARS",
    "Event",
    "Proposal",
    "ProposalService",
    "check_expiry",
    "content_digest",
]
