"""Proposals: the queue, one proposal's page, the decisions on it and the export of a report.

Every call goes to the proposal service — the same one `/v1/proposals` uses —
which checks the role, the clearance, the two-person rule and the author
rule, and journals what it served, decided or refused. The page only hides
the forms a role may not use and explains the rule; the service refuses
anyway. The export goes through `egide.workflows.export.export_proposal`,
the platform's one way out, which has the release journaled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

from fastapi import Form, Query, Response

from egide.console.web import SECURITY_HEADERS, Checked, SignedIn, View, page_router
from egide.core.access import Action
from egide.core.labels import Label
from egide.errors import EgideError, InvalidInput, InvalidLabel
from egide.workflows.approvals import known_kind
from egide.workflows.document import Block, document_of
from egide.workflows.export import FORMATS, export_proposal
from egide.workflows.proposals import Proposal

router = page_router()

STATES = ("proposed", "approved", "rejected", "draft")
"""The states the queue filters by, in the order the filter offers them."""
MAX_FORM_CHARS = 200_000
"""Largest amended content a form may carry (the service applies its own, smaller limit)."""

State = Literal["", "proposed", "approved", "rejected", "draft"]


@dataclass(frozen=True)
class Version:
    """One version of a proposal's content as the page shows it: its blocks, or why not."""

    blocks: tuple[Block, ...]
    changed: frozenset[int]
    """Indexes of the blocks that the other version does not have."""
    problem: str | None = None


@dataclass(frozen=True)
class Evidence:
    """One evidence item: what it is, where it opens, its marking (as recorded)."""

    title: str
    href: str | None
    marking: Label | None
    note: str


@router.get("/proposals")
async def proposal_list(view: SignedIn, state: Annotated[State, Query()] = "") -> Response:
    """The proposals the user may read (the service filters by role and label), newest first."""
    found = await view.call(view.platform.proposals.readable, view.principal, state=state or None)
    return view.render(
        "proposals/list.html",
        title=view.t("proposals.title"),
        found=found,
        state=state,
        states=STATES,
        required={p.id: _required(view, p) for p in found},
    )


@router.get("/proposals/{proposal_id}")
async def proposal_page(view: SignedIn, proposal_id: int, done: str = "") -> Response:
    """One proposal: content beside its original, evidence, the two-person rule, history."""
    proposal = await view.call(view.platform.proposals.get, view.principal, proposal_id)
    current, original = _versions(view, proposal)
    me = view.principal.username
    decidable = proposal.state == "proposed" and proposal.problem is None
    may_decide = decidable and view.may(Action.PROPOSAL_DECIDE)
    return view.render(
        "proposals/view.html",
        title=proposal.title,
        p=proposal,
        done=done,
        current=current,
        original=original,
        evidence=[_evidence(view, item) for item in proposal.evidence],
        # A role that may not read documents (an approver alone) gets no dead link.
        may_open=view.may(Action.DOCUMENT_READ),
        required=_required(view, proposal),
        rule=_rule(view, proposal),
        content_json=json.dumps(proposal.content, ensure_ascii=False, indent=2),
        is_author=me in proposal.authors,
        approved_by_me=me in proposal.approvals,
        may_decide=may_decide,
        may_dissent=view.may(Action.PROPOSAL_DISSENT),
        may_export=proposal.state == "approved" and view.may(Action.PROPOSAL_RELEASE),
        formats=list(FORMATS),
    )


@router.post("/proposals/{proposal_id}/approve")
async def approve(
    view: Checked,
    proposal_id: int,
    rationale: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Approve the current version (the service refuses an author, a second approval, a role)."""
    await view.call(
        view.platform.proposals.approve, view.principal, proposal_id, rationale=rationale
    )
    return view.redirect(f"/proposals/{proposal_id}?done=approved")


@router.post("/proposals/{proposal_id}/reject")
async def reject(
    view: Checked,
    proposal_id: int,
    rationale: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Reject, with a written rationale (the service requires it)."""
    await view.call(view.platform.proposals.reject, view.principal, proposal_id, rationale)
    return view.redirect(f"/proposals/{proposal_id}?done=rejected")


@router.post("/proposals/{proposal_id}/amend")
async def amend(
    view: Checked,
    proposal_id: int,
    content: Annotated[str, Form(max_length=MAX_FORM_CHARS)],
    rationale: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Replace the content (JSON) with a rationale; the original is kept, approvals lapse."""
    try:
        body = json.loads(content)
    except (ValueError, RecursionError) as error:
        raise InvalidInput(
            f"the amended content is not valid JSON ({type(error).__name__}: {error}); "
            "correct it and submit again"
        ) from None
    if not isinstance(body, dict):
        raise InvalidInput("the amended content must be a JSON object, like the original")
    await view.call(view.platform.proposals.amend, view.principal, proposal_id, body, rationale)
    return view.redirect(f"/proposals/{proposal_id}?done=amended")


@router.post("/proposals/{proposal_id}/dissent")
async def dissent(
    view: Checked,
    proposal_id: int,
    rationale: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Record a dissent (no change of state; kept in the history)."""
    await view.call(view.platform.proposals.dissent, view.principal, proposal_id, rationale)
    return view.redirect(f"/proposals/{proposal_id}?done=dissented")


@router.post("/proposals/{proposal_id}/export")
async def export(
    view: Checked,
    proposal_id: int,
    format: Annotated[str, Form(max_length=20)] = "markdown",
) -> Response:
    """Download an approved proposal, marked (the release is journaled; refused otherwise).

    A POST with the CSRF token, not a link: a release is an action on the record,
    and a cross-site page must not be able to make a browser perform it. The
    answer is the file itself (no redirect: there is nothing to show after it).
    """
    done = await view.call(
        export_proposal,
        view.platform.proposals,
        view.platform.policies,
        view.principal,
        proposal_id,
        format,
    )
    return Response(
        done.data,
        media_type=done.format.media_type,
        headers={
            **SECURITY_HEADERS,
            "X-Egide-Label": view.platform.policies.format(done.proposal.label, "en"),
            "Content-Disposition": f'attachment; filename="{done.filename}"',
        },
    )


# what the pages show -------------------------------------------------------------------


def _required(view: View, proposal: Proposal) -> int:
    """Approvals the proposal needs: its record, raised to today's table (as the service does)."""
    if proposal.problem is not None:
        return proposal.required_approvals
    rules = view.platform.proposals.rules
    needed = rules.required(known_kind(proposal.kind), proposal.label)
    return max(proposal.required_approvals, needed)


def _rule(view: View, proposal: Proposal) -> dict[str, Any]:
    """Why the proposal needs its number of approvals: its kind's entry, the label floor."""
    rules = view.platform.proposals.rules
    kind = known_kind(proposal.kind)
    return {
        "kind": proposal.kind,
        "by_kind": rules.table[kind] if kind is not None else max(rules.table.values()),
        "sensitive": proposal.problem is None and rules.sensitive(proposal.label),
    }


def _versions(view: View, proposal: Proposal) -> tuple[Version, Version | None]:
    """The current content and, when amended, the original, each as marked blocks."""
    current = _blocks(view, proposal)
    if proposal.original_content is None:
        return Version(current[0], frozenset(), current[1]), None
    before = _blocks(view, replace(proposal, content=proposal.original_content))
    now_keys = [(b.kind, b.text) for b in current[0]]
    old_keys = [(b.kind, b.text) for b in before[0]]
    return (
        Version(
            current[0],
            frozenset(i for i, k in enumerate(now_keys) if k not in old_keys),
            current[1],
        ),
        Version(
            before[0],
            frozenset(i for i, k in enumerate(old_keys) if k not in now_keys),
            before[1],
        ),
    )


def _blocks(view: View, proposal: Proposal) -> tuple[tuple[Block, ...], str | None]:
    """The content as the export would render it, or why it cannot be (shown as JSON then)."""
    if proposal.problem is not None:
        return (), proposal.problem
    try:
        return document_of(proposal, view.platform.policies).blocks, None
    except (EgideError, InvalidLabel, ValueError) as error:
        message = error.message if isinstance(error, EgideError) else str(error)
        return (), message


def _evidence(view: View, item: Any) -> Evidence:
    """An evidence item, with a link to the passage or document it names, if it names one."""
    if not isinstance(item, dict):
        return Evidence(str(item), None, None, "")
    chunk = _id(item, "chunk", "chunk_id", "passage")
    document = _id(item, "document", "document_id")
    href = None
    if document is not None:
        href = f"/documents/{document}" + (f"#passage-{chunk}" if chunk is not None else "")
    marking = None
    if isinstance(item.get("marking"), str):
        try:
            marking = view.platform.policies.parse(item["marking"])
        except InvalidLabel:
            marking = None
    title = item.get("title") or item.get("quote") or item.get("text")
    if not isinstance(title, str) or not title:
        title = (
            view.t("proposal.evidence.passage", n=chunk)
            if chunk is not None
            else view.t("proposal.evidence.document", n=document)
            if document is not None
            else json.dumps(item, ensure_ascii=False)[:300]
        )
    notes = {
        k: v
        for k, v in item.items()
        if k not in ("chunk", "chunk_id", "passage", "document", "document_id", "title", "marking")
        and isinstance(v, str | int | float)
    }
    note = ", ".join(f"{k}: {v}" for k, v in notes.items())
    return Evidence(title, href, marking, note)


def _id(item: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = item.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None
