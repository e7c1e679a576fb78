"""Every access decision in Égide, in one module.

Each function answers one question with a `Decision` (allowed + a reason a
person can act on). Callers that must stop on refusal use `require`, which
raises `Forbidden` carrying the reason. Nothing else in the code base compares
labels with clearances or checks roles: it asks here.

Read decisions never say *what* the caller may not see, only that it may not,
so a refusal cannot leak the object's label.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from egide.core.labels import Decision, Label, join
from egide.core.principals import Principal, Role
from egide.errors import Forbidden

ALLOW = Decision(allowed=True, reason="allowed")


class Action(StrEnum):
    """What a principal asks to do; each one is a row of the role matrix `ROLES`."""

    MODEL_USE = "model.use"
    KNOWLEDGE_SEARCH = "knowledge.search"
    KNOWLEDGE_ASK = "knowledge.ask"
    KNOWLEDGE_INGEST = "knowledge.ingest"
    DOCUMENT_READ = "document.read"
    DOCUMENT_RELABEL = "document.relabel"
    DOCUMENT_DECLASSIFY = "document.declassify"
    DOCUMENT_DELETE = "document.delete"
    COLLECTION_LIST = "collection.list"
    SYNTHESIS_RUN = "synthesis.run"
    PROPOSAL_CREATE = "proposal.create"
    PROPOSAL_READ = "proposal.read"
    PROPOSAL_DECIDE = "proposal.decide"
    PROPOSAL_DISSENT = "proposal.dissent"
    PROPOSAL_RELEASE = "proposal.release"
    AUDIT_READ = "audit.read"
    ADMINISTER = "administer"
    MODELS_MANAGE = "models.manage"
    ALERT_READ = "alert.read"
    WATCHLIST_MANAGE = "watchlist.manage"
    PLAN_SOLVE = "plan.solve"
    PLAN_READ = "plan.read"


_ADMIN, _ANALYST, _APPROVER, _AUDITOR, _ML, _CLASSIFIER = (
    Role.ADMIN,
    Role.ANALYST,
    Role.APPROVER,
    Role.AUDITOR,
    Role.ML_ENGINEER,
    Role.CLASSIFIER,
)

# The role × action matrix (docs/access.md): an action is allowed to a principal holding
# at least one of its roles *with the credential presented* (a scoped key narrows them).
# `operator` appears in no row: it runs the platform (local commands, metrics) and
# carries no right over labelled data.
ROLES: Mapping[Action, frozenset[Role]] = {
    Action.MODEL_USE: frozenset({_ANALYST, _ML}),
    Action.KNOWLEDGE_SEARCH: frozenset({_ANALYST}),
    Action.KNOWLEDGE_ASK: frozenset({_ANALYST}),
    Action.KNOWLEDGE_INGEST: frozenset({_ANALYST, _ADMIN}),
    # Approvers read documents to check a proposal's evidence before deciding.
    Action.DOCUMENT_READ: frozenset({_ANALYST, _ADMIN, _APPROVER, _CLASSIFIER}),
    Action.DOCUMENT_RELABEL: frozenset({_ANALYST, _ADMIN, _CLASSIFIER}),
    Action.DOCUMENT_DECLASSIFY: frozenset({_CLASSIFIER}),
    Action.DOCUMENT_DELETE: frozenset({_ADMIN, _CLASSIFIER}),
    Action.COLLECTION_LIST: frozenset({_ANALYST, _ADMIN}),
    Action.SYNTHESIS_RUN: frozenset({_ANALYST}),
    Action.PROPOSAL_CREATE: frozenset({_ANALYST}),
    Action.PROPOSAL_READ: frozenset({_ANALYST, _APPROVER, _AUDITOR}),
    Action.PROPOSAL_DECIDE: frozenset({_APPROVER}),
    Action.PROPOSAL_DISSENT: frozenset({_ANALYST, _APPROVER}),
    Action.PROPOSAL_RELEASE: frozenset({_ANALYST, _APPROVER}),
    Action.AUDIT_READ: frozenset({_AUDITOR}),
    Action.ADMINISTER: frozenset({_ADMIN}),
    Action.MODELS_MANAGE: frozenset({_ADMIN, _ML}),
    # Alerts carry the label of the message they point at: read by analysts, each
    # alert only when their clearance covers it (filtered in the SQL).
    Action.ALERT_READ: frozenset({_ANALYST}),
    Action.WATCHLIST_MANAGE: frozenset({_ANALYST}),
    # Analysts plan routes; approvers read the plan (map, routes) they are asked to decide on.
    Action.PLAN_SOLVE: frozenset({_ANALYST}),
    Action.PLAN_READ: frozenset({_ANALYST, _APPROVER}),
}

_DOING = {
    Action.MODEL_USE: "using a model",
    Action.KNOWLEDGE_SEARCH: "searching the knowledge base",
    Action.KNOWLEDGE_ASK: "asking the knowledge base",
    Action.KNOWLEDGE_INGEST: "ingesting documents",
    Action.DOCUMENT_READ: "reading the document catalogue",
    Action.DOCUMENT_RELABEL: "relabelling a document",
    Action.DOCUMENT_DECLASSIFY: "lowering a document's label (declassifying)",
    Action.DOCUMENT_DELETE: "deleting documents",
    Action.COLLECTION_LIST: "listing collections",
    Action.SYNTHESIS_RUN: "running an intelligence synthesis",
    Action.PROPOSAL_CREATE: "creating a proposal",
    Action.PROPOSAL_READ: "reading proposals",
    Action.PROPOSAL_DECIDE: "deciding on a proposal",
    Action.PROPOSAL_DISSENT: "recording a dissent",
    Action.PROPOSAL_RELEASE: "releasing a proposal",
    Action.AUDIT_READ: "reading the audit journal",
    Action.ADMINISTER: "administering the platform",
    Action.MODELS_MANAGE: "managing models",
    Action.ALERT_READ: "reading stream alerts and watchlists",
    Action.WATCHLIST_MANAGE: "managing watchlists",
    Action.PLAN_SOLVE: "planning routes",
    Action.PLAN_READ: "reading routing plans",
}


def require(decision: Decision) -> None:
    """Raise `Forbidden` with the decision's reason unless it allows."""
    if not decision.allowed:
        raise Forbidden(decision.reason)


def can(principal: Principal, action: Action) -> Decision:
    """May the principal perform `action` with its roles (the matrix `ROLES`)."""
    needed = ROLES[action]
    if not needed.isdisjoint(principal.effective_roles):
        return ALLOW
    names = " or ".join(sorted(r.value for r in needed))
    doing = _DOING[action]
    if not needed.isdisjoint(principal.roles):
        return Decision(
            allowed=False,
            reason=f"the credential used is not scoped for the {names} role needed for "
            f"{doing}; use a key that includes it",
        )
    return Decision(
        allowed=False, reason=f"{doing} needs the {names} role; ask an administrator to grant it"
    )


def may_use_collection(principal: Principal, organisations: Iterable[str]) -> bool:
    """May the principal use a collection restricted to `organisations` (empty: everyone)."""
    allowed = list(organisations)
    return not allowed or principal.organisation in allowed


def can_read(principal: Principal, label: Label) -> Decision:
    """May the principal read an object with this label (no read up, compartments, REL TO)."""
    return principal.clearance.permits(label)


def readable_label_ids(principal: Principal, labels: Iterable[tuple[int, Label]]) -> set[int]:
    """Ids of the interned labels the principal may read.

    Queries filter with `label_id IN (...)` on this set, so the check happens
    inside the SQL that ranks or counts, never after it.
    """
    return {label_id for label_id, label in labels if principal.clearance.permits(label).allowed}


def can_work_at(principal: Principal, working_label: Label) -> Decision:
    """May the principal open a conversation or task at this working label."""
    decision = principal.clearance.permits(working_label)
    if decision.allowed:
        return ALLOW
    return Decision(
        allowed=False,
        reason=f"your clearance does not cover the working label requested ({decision.reason}); "
        "choose a label your clearance dominates",
    )


def can_use_model(
    principal: Principal, working_label: Label, accreditation: Label, *, enabled: bool, name: str
) -> Decision:
    """May the principal send work at `working_label` to a model deployment.

    A deployment may only process work at or below its accreditation's level
    and within its compartments, and a disabled model (kill switch) refuses
    everyone. Releasability is not part of it: REL TO says which people may
    read an answer (checked for the caller and every reader), not which
    accredited system may process it — a NATO SECRET deployment processes
    NATO SECRET REL TO FRA work.
    """
    if not enabled:
        return Decision(
            allowed=False,
            reason=f"model {name!r} is disabled by an administrator (kill switch); "
            "use another model or ask for it to be re-enabled",
        )
    working = can_work_at(principal, working_label)
    if not working.allowed:
        return working
    if not accredited_for(accreditation, working_label):
        return Decision(
            allowed=False,
            reason=f"model {name!r} is not accredited for work at this label; "
            "choose a model accredited at or above it",
        )
    return ALLOW


def accredited_for(accreditation: Label, work: Label) -> bool:
    """Whether a system accredited at `accreditation` may process `work` (level, compartments)."""
    high = join(accreditation, work)
    mine = accreditation.expressed_in(high.policy)
    return mine.level == high.level and mine.compartments == high.compartments


def can_administer(principal: Principal) -> Decision:
    """May the principal manage organisations, users, keys and models."""
    return can(principal, Action.ADMINISTER)


def can_read_audit_entry(principal: Principal, entry_label: Label) -> Decision:
    """Only auditors read the journal, and only entries their clearance dominates."""
    role = can(principal, Action.AUDIT_READ)
    if not role.allowed:
        return role
    return principal.clearance.permits(entry_label)


def can_approve(
    principal: Principal, proposal_label: Label, *, author_id: int | None = None
) -> Decision:
    """May the principal approve, amend or reject a proposal with this label.

    The approver needs the approver role and a clearance that dominates the
    proposal's label; an author may not approve their own request.
    """
    role = can(principal, Action.PROPOSAL_DECIDE)
    if not role.allowed:
        return role
    read = principal.clearance.permits(proposal_label)
    if not read.allowed:
        return Decision(
            allowed=False,
            reason="your clearance does not dominate the proposal's label; "
            "it must be decided by an approver cleared for it",
        )
    if author_id is not None and author_id == principal.id:
        return Decision(
            allowed=False,
            reason="the requester of a proposal cannot approve it; ask another approver",
        )
    return ALLOW


def can_manage_models(principal: Principal) -> Decision:
    """May the principal import, disable or enable models."""
    return can(principal, Action.MODELS_MANAGE)


def can_receive_output(principal: Principal, output_label: Label) -> Decision:
    """May the principal receive an answer labelled `output_label` (working label ⊔ model's).

    A model whose weights are labelled above the caller's clearance would
    produce answers the caller may not read, so such a model is refused.
    """
    decision = principal.clearance.permits(output_label)
    if decision.allowed:
        return ALLOW
    return Decision(
        allowed=False,
        reason="the model's answers would carry a label your clearance does not cover; "
        "choose a model labelled at or below your clearance",
    )


def can_replace_document(principal: Principal, existing: Label) -> Decision:
    """May the principal ingest a new version of a document labelled `existing`.

    Only someone whose clearance dominates the document's label may replace it
    (the new version is then labelled at least as high: see the knowledge service).
    """
    decision = principal.clearance.permits(existing)
    if decision.allowed:
        return ALLOW
    return Decision(
        allowed=False,
        reason="replacing a document needs a clearance that dominates its label",
    )


def can_relabel(principal: Principal, current: Label, new: Label) -> Decision:
    """May the principal change a document's label from `current` to `new`.

    Raising (the new label dominates the current one) is open to any reader of
    the document cleared for the new label. Anything else lowers or widens the
    label — a declassification — and needs the classifier role as well.
    """
    read = principal.clearance.permits(current)
    if not read.allowed:
        return Decision(
            allowed=False, reason="relabelling a document needs a clearance that dominates it"
        )
    target = can_work_at(principal, new)
    if not target.allowed:
        return target
    if new.dominates(current):
        return ALLOW
    return can(principal, Action.DOCUMENT_DECLASSIFY)


def can_delete_document(principal: Principal, label: Label) -> Decision:
    """May the principal delete a document with this label (admin or classifier, cleared)."""
    role = can(principal, Action.DOCUMENT_DELETE)
    if not role.allowed:
        return role
    if not principal.clearance.permits(label).allowed:
        return Decision(
            allowed=False, reason="deleting a document needs a clearance that dominates its label"
        )
    return ALLOW
