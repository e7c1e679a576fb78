"""The proposal state machine on SQLite and PostgreSQL: the human decides, everything is kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from egide.app import Platform
from egide.core.principals import Principal, Role
from egide.errors import Conflict, Forbidden, InvalidInput, NotFound
from egide.settings import Settings
from egide.store import utcnow
from egide.workflows.proposals import ProposalService
from egide.workflows.records import ProposalRecord

# Tests of the label floor, kinds, authorship and content limits: test_approvals.py.


@pytest.fixture
def platform(data_dir: Path, database_url: str) -> Iterator[Platform]:
    current = Platform(Settings(data_dir=data_dir, database_url=database_url))
    current.initialise()
    yield current
    current.close()


@pytest.fixture
def people(platform: Platform) -> dict[str, Principal]:
    r = platform.policies
    specs = {
        "analyst": ("SECRET", [Role.ANALYST]),
        "ap1": ("SECRET", [Role.APPROVER]),
        "ap2": ("SECRET", [Role.APPROVER]),
        "ap3": ("SECRET", [Role.APPROVER]),
        "low": ("DR", [Role.APPROVER]),
        "admin": ("TS", [Role.ADMIN]),
    }
    for name, (clearance, roles) in specs.items():
        platform.identity.add_user("t", name, clearance=r.parse_clearance(clearance), roles=roles)
    return {name: platform.identity.principal(name) for name in specs}


@pytest.fixture
def service(platform: Platform) -> ProposalService:
    return ProposalService(platform.database, platform.journal, platform.policies)


def draft(
    service: ProposalService,
    platform: Platform,
    who: Principal,
    kind: str = "report",
    top: str = "DR",
):
    r = platform.policies
    return service.create(
        who,
        kind=kind,
        title="Synthèse secteur nord",
        content={"text": "Le convoi est arrivé."},
        evidence=[{"note": "compte rendu du convoi"}],
        input_labels=[r.parse("NP"), r.parse(top)],
        model="smollm2-135m-demo",
        model_digest="ab" * 32,
        workflow="intelligence-synthesis",
    )


def test_label_is_join_of_inputs_and_single_approval(service, platform, people) -> None:
    proposal = draft(service, platform, people["analyst"], top="SECRET")
    assert proposal.state == "proposed" and proposal.marking == "SECRET"
    with pytest.raises(Forbidden, match="requester"):
        service.approve(_as_approver(people["analyst"]), proposal.id)
    with pytest.raises(NotFound):
        service.approve(people["low"], proposal.id)  # cannot even see it
    proposal = draft(service, platform, people["analyst"])
    assert proposal.marking == "DIFFUSION RESTREINTE" and proposal.required_approvals == 1
    with pytest.raises(Forbidden, match="not approved"):
        service.release(people["analyst"], proposal.id, "export")
    approved = service.approve(people["ap1"], proposal.id, rationale="conforme")
    assert approved.state == "approved" and approved.approvals == ("ap1",)
    released = service.release(people["analyst"], proposal.id, "export pdf")
    assert [e.action for e in released.history] == ["create", "approve", "release"]


def _as_approver(p: Principal) -> Principal:
    return Principal(p.id, p.username, p.kind, p.clearance, p.roles | {Role.APPROVER})


def test_two_person_rule(service, platform, people) -> None:
    proposal = draft(service, platform, people["analyst"], kind="course-of-action")
    once = service.approve(people["ap1"], proposal.id)
    assert once.state == "proposed" and once.required_approvals == 2
    with pytest.raises(Conflict, match="already approved"):
        service.approve(people["ap1"], proposal.id)
    assert service.approve(people["ap2"], proposal.id).state == "approved"


def test_amendment_keeps_original_and_voids_approvals(service, platform, people) -> None:
    proposal = draft(service, platform, people["analyst"], kind="course-of-action")
    service.approve(people["ap1"], proposal.id)
    with pytest.raises(InvalidInput, match="rationale"):
        service.amend(people["ap2"], proposal.id, {"text": "Autre"}, " ")
    amended = service.amend(
        people["ap2"], proposal.id, {"text": "Le convoi est en retard."}, "faits corrigés"
    )
    assert amended.original_content == {"text": "Le convoi est arrivé."}
    assert amended.approvals == () and amended.state == "proposed"
    assert amended.authors == ("analyst", "ap2")
    service.approve(people["ap1"], proposal.id)
    with pytest.raises(Forbidden, match="amended"):
        service.approve(people["ap2"], proposal.id)
    assert service.approve(people["ap3"], proposal.id).state == "approved"


def test_rejection_needs_rationale_and_is_final(service, platform, people) -> None:
    proposal = draft(service, platform, people["analyst"])
    with pytest.raises(InvalidInput, match="rationale"):
        service.reject(people["ap1"], proposal.id, "")
    rejected = service.reject(people["ap1"], proposal.id, "sources insuffisantes")
    assert rejected.state == "rejected"
    with pytest.raises(Conflict):
        service.approve(people["ap2"], proposal.id)
    with pytest.raises(Forbidden):
        service.release(people["analyst"], proposal.id, "export")
    dissent = service.dissent(people["ap2"], proposal.id, "je l'aurais approuvé")
    assert dissent.history[-1].action == "dissent"


def test_expiry(service, platform, people) -> None:
    proposal = draft(service, platform, people["analyst"])
    with pytest.raises(InvalidInput, match="future"):
        service.approve(people["ap1"], proposal.id, expires_at=utcnow() - timedelta(minutes=1))
    service.approve(people["ap1"], proposal.id, expires_at=utcnow() + timedelta(hours=1))
    service.release(people["analyst"], proposal.id, "export")
    with platform.database.transaction() as session:
        session.execute(
            update(ProposalRecord).values(approval_expires_at=utcnow() - timedelta(seconds=1))
        )
    with pytest.raises(Forbidden, match="expired"):
        service.release(people["analyst"], proposal.id, "export")


def test_ai_suspension_leaves_manual_path(service, platform, people) -> None:
    with pytest.raises(Forbidden):
        service.set_ai_suspended(people["analyst"], True, "exercice")
    service.set_ai_suspended(people["admin"], True, "incident en cours")
    with pytest.raises(Forbidden, match="suspended"):
        draft(service, platform, people["analyst"])
    manual = service.create(
        people["analyst"],
        kind="report",
        title="Rédigé à la main",
        content={"text": "Synthèse manuelle."},
    )
    assert manual.workflow == "manual" and manual.marking == "NON PROTÉGÉ"
    service.set_ai_suspended(people["admin"], False, "incident clos")
    draft(service, platform, people["analyst"])


def test_listing_filters_labels_in_sql_and_everything_is_journaled(service, platform, people):
    draft(service, platform, people["analyst"], top="SECRET")
    service.create(
        people["analyst"],
        kind="report",
        title="bas",
        content={"t": 1},
        input_labels=[platform.policies.parse("DR")],
    )
    assert [p.title for p in service.readable(people["low"])] == ["bas"]
    assert len(service.readable(people["ap1"])) == 2
    with platform.database.transaction() as session:
        actions = [e.action for e in platform.journal.entries(session, readable_labels=None)]
        assert platform.journal.verify(session).ok
    assert actions.count("proposal.create") == 2
