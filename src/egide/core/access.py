"""Every access decision in Égide, in one module.

Each function answers one question with a `Decision` (allowed + a reason a
person can act on). Callers that must stop on refusal use `require`, which
raises `Forbidden` carrying the reason. Nothing else in the code base compares
labels with clearances or checks roles: it asks here.

Read decisions never say *what* the caller may not see, only that it may not,
so a refusal cannot leak the object's label.
"""

from __future__ import annotations

from collections.abc import Iterable

from egide.core.labels import Decision, Label
from egide.core.principals import Principal, Role
from egide.errors import Forbidden

ALLOW = Decision(allowed=True, reason="allowed")


def require(decision: Decision) -> None:
    """Raise `Forbidden` with the decision's reason unless it allows."""
    if not decision.allowed:
        raise Forbidden(decision.reason)


def _has_role(principal: Principal, role: Role, doing: str) -> Decision:
    if principal.has_role(role):
        return ALLOW
    if role in principal.roles:
        return Decision(
            allowed=False,
            reason=f"the credential used is not scoped for the {role.value} role needed to "
            f"{doing}; use a key that includes it",
        )
    return Decision(
        allowed=False,
        reason=f"{doing} needs the {role.value} role; ask an administrator to grant it",
    )


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

    A deployment may only process work its accreditation label dominates, and
    a disabled model (kill switch) refuses everyone.
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
    if not accreditation.dominates(working_label):
        return Decision(
            allowed=False,
            reason=f"model {name!r} is not accredited for work at this label; "
            "choose a model accredited at or above it",
        )
    return ALLOW


def can_administer(principal: Principal) -> Decision:
    """May the principal manage organisations, users, keys and models."""
    return _has_role(principal, Role.ADMIN, "administering the platform")


def can_read_audit_entry(principal: Principal, entry_label: Label) -> Decision:
    """Only auditors read the journal, and only entries their clearance dominates."""
    role = _has_role(principal, Role.AUDITOR, "reading the audit journal")
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
    role = _has_role(principal, Role.APPROVER, "deciding on a proposal")
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
    if principal.has_role(Role.ADMIN) or principal.has_role(Role.ML_ENGINEER):
        return ALLOW
    return Decision(
        allowed=False,
        reason="managing models needs the admin or ml-engineer role; ask an administrator",
    )


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
    return _has_role(principal, Role.CLASSIFIER, "lowering a document's label (declassifying)")


def can_delete_document(principal: Principal, label: Label) -> Decision:
    """May the principal delete a document with this label (admin or classifier, cleared)."""
    if not (principal.has_role(Role.ADMIN) or principal.has_role(Role.CLASSIFIER)):
        return Decision(
            allowed=False,
            reason="deleting documents needs the admin or classifier role; ask an administrator",
        )
    if not principal.clearance.permits(label).allowed:
        return Decision(
            allowed=False, reason="deleting a document needs a clearance that dominates its label"
        )
    return ALLOW
