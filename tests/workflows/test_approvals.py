"""Accountable approvals (issue 12, findings 4 and 5): kinds, label floor, authors, limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text, update

from egide.app import Platform
from egide.core.labels import PolicyRegistry
from egide.core.principals import Principal, Role
from egide.errors import (
    ConfigurationError,
    Conflict,
    Forbidden,
    InvalidInput,
    PayloadTooLarge,
)
from egide.settings import Settings
from egide.store import utcnow
from egide.workflows.approvals import ApprovalRules, ProposalKind, parse_kind
from egide.workflows.content import MAX_DEPTH
from egide.workflows.proposals import Proposal, ProposalService
from egide.workflows.records import ProposalRecord


@pytest.fixture
def platform(data_dir: Path, database_url: str) -> Iterator[Platform]:
    current = Platform(
        Settings(data_dir=data_dir, database_url=database_url, proposal_max_content_bytes=4096)
    )
    current.initialise()
    yield current
    current.close()


@pytest.fixture
def people(platform: Platform) -> dict[str, Principal]:
    r = platform.policies
    specs = {
        "analyst": ("TS", [Role.ANALYST]),
        "ap1": ("TS", [Role.APPROVER]),
        "ap2": ("TS", [Role.APPROVER]),
        "ap3": ("TS", [Role.APPROVER]),
        "reader": ("DR", [Role.ANALYST]),
    }
    for name, (clearance, roles) in specs.items():
        platform.identity.add_user("t", name, clearance=r.parse_clearance(clearance), roles=roles)
    return {name: platform.identity.principal(name) for name in specs}


def create(
    platform: Platform,
    who: Principal,
    *,
    kind: str = "report",
    label: str = "DR",
    content: Any = None,
    evidence: Any = (),
) -> Proposal:
    return platform.proposals.create(
        who,
        kind=kind,
        title="Plan",
        content={"text": "Convoi à 06h00."} if content is None else content,
        evidence=evidence,
        label=platform.policies.parse(label),
    )


def nested(depth: int) -> dict[str, Any]:
    """An object `depth` levels deep."""
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


# --- kinds: a closed set, any spelling of a kind means that kind ------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "Course-of-Action",
        "course_of_action",
        "COURSE OF ACTION",
        " course-of-action ",
        "cOuRsE-Of_action",
    ],
)
def test_every_spelling_of_a_two_person_kind_needs_two(platform, people, spelling) -> None:
    proposal = create(platform, people["analyst"], kind=spelling)
    assert proposal.kind == "course-of-action" and proposal.required_approvals == 2
    once = platform.proposals.approve(people["ap1"], proposal.id)
    assert once.state == "proposed"
    assert platform.proposals.approve(people["ap2"], proposal.id).state == "approved"


@pytest.mark.parametrize("kind", ["coa", "rapport", "course-of-action2", "report;drop", "-", "ré"])
def test_unknown_kinds_are_refused_with_the_list(platform, people, kind) -> None:
    with pytest.raises(InvalidInput, match="accepted kinds: report, intelligence-report"):
        create(platform, people["analyst"], kind=kind)
    assert platform.proposals.readable(people["analyst"]) == []


def test_the_table() -> None:
    policies = PolicyRegistry.builtin()
    rules = ApprovalRules(policies)
    low = policies.parse("DR")
    wanted = {
        "report": 1,
        "intelligence report": 1,
        "maintenance plan": 1,
        "logistics plan": 2,
        "dissemination": 2,
        "course of action": 2,
    }
    assert {k: rules.required(parse_kind(k), low) for k in wanted} == wanted
    # A kind left from an older version (stored "coa") is held to the strictest.
    assert rules.required(None, low) == 2


@pytest.mark.parametrize(
    ("marking", "count"),
    [
        ("NON PROTÉGÉ", 1),
        ("DIFFUSION RESTREINTE", 1),
        ("NATO RESTRICTED", 1),
        ("NATO CONFIDENTIAL", 1),
        ("SECRET", 2),
        ("SECRET SPÉCIAL FRANCE", 2),
        ("SECRET REL TO DEU, FRA, GBR, USA", 2),
        ("NATO SECRET", 2),
        ("NATO SECRET REL TO DEU", 2),
        ("TRÈS SECRET", 2),
        ("COSMIC TOP SECRET", 2),
    ],
)
def test_secret_and_above_always_need_two(marking: str, count: int) -> None:
    policies = PolicyRegistry.builtin()
    rules = ApprovalRules(policies)
    assert rules.required(ProposalKind.REPORT, policies.parse(marking)) == count


def test_secret_report_needs_two_distinct_approvers(platform, people) -> None:
    proposal = create(platform, people["analyst"], label="SECRET")
    assert proposal.required_approvals == 2
    platform.proposals.approve(people["ap1"], proposal.id)
    with pytest.raises(Conflict, match="already approved"):
        platform.proposals.approve(people["ap1"], proposal.id)
    assert platform.proposals.get(people["ap1"], proposal.id).state == "proposed"
    assert platform.proposals.approve(people["ap2"], proposal.id).state == "approved"


# --- settings may raise, never lower ---------------------------------------------------


def test_settings_raise_the_table(data_dir: Path) -> None:
    platform = Platform(
        Settings(
            data_dir=data_dir,
            proposal_approvals={"Report": 3},
            two_person_kinds=["maintenance_plan"],
        )
    )
    platform.initialise()
    rules = platform.proposals.rules
    assert rules.table[ProposalKind.REPORT] == 3
    assert rules.table[ProposalKind.MAINTENANCE_PLAN] == 2
    assert rules.table[ProposalKind.COURSE_OF_ACTION] == 2


@pytest.mark.parametrize(
    "raised",
    [{"course-of-action": 1}, {"report": 0}, {"report": 99}, {"coa": 3}, {"report": "2"}],
    ids=["lower", "zero", "too-many", "unknown-kind", "not-a-number"],
)
def test_settings_cannot_lower_or_name_unknown_kinds(raised: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="EGIDE_PROPOSAL_APPROVALS"):
        ApprovalRules(PolicyRegistry.builtin(), raised=raised)


def test_legacy_two_person_kinds_must_name_known_kinds() -> None:
    with pytest.raises(ConfigurationError, match="accepted kinds"):
        ApprovalRules(PolicyRegistry.builtin(), two_person_kinds=["coa"])


def test_a_proposal_stored_with_an_old_kind_is_held_to_the_strictest(platform, people) -> None:
    proposal = create(platform, people["analyst"])
    with platform.database.transaction() as session:
        session.execute(update(ProposalRecord).values(kind="coa", required_approvals=1))
    once = platform.proposals.approve(people["ap1"], proposal.id)
    assert once.state == "proposed" and once.required_approvals == 2


# --- authorship: whoever writes a version cannot approve it ------------------------------


def test_an_approver_who_amends_cannot_approve_their_text(platform, people) -> None:
    service = platform.proposals
    proposal = create(platform, people["analyst"])
    service.amend(people["ap1"], proposal.id, {"text": "Convoi à 05h00."}, "horaire avancé")
    with pytest.raises(Forbidden, match="wrote or amended"):
        service.approve(people["ap1"], proposal.id)
    # Still an author after someone else amends the text again.
    amended = service.amend(people["ap2"], proposal.id, {"text": "Convoi à 04h00."}, "encore")
    assert amended.authors == ("analyst", "ap1", "ap2")
    for author in ("ap1", "ap2"):
        with pytest.raises(Forbidden, match="wrote or amended"):
            service.approve(people[author], proposal.id)
    assert service.approve(people["ap3"], proposal.id).state == "approved"
    with platform.database.transaction() as session:
        entries = [
            e
            for e in platform.journal.entries(session, readable_labels=None)
            if e.action == "proposal.approve"
        ]
    # Each refused approval is journaled as a refusal; only ap3's approval was served.
    assert [e.actor for e in entries if not e.details.get("refused")] == ["user:ap3"]
    assert [e.actor for e in entries if e.details.get("refused")] == [
        "user:ap1",
        "user:ap1",
        "user:ap2",
    ]


def test_an_amendment_back_to_approved_words_resets_the_approvals(platform, people) -> None:
    service = platform.proposals
    proposal = create(platform, people["analyst"], kind="course-of-action")
    service.approve(people["ap1"], proposal.id)
    service.amend(people["ap2"], proposal.id, {"text": "Autre texte."}, "essai")
    back = service.amend(people["ap3"], proposal.id, {"text": "Convoi à 06h00."}, "retour")
    assert back.content_hash == proposal.content_hash
    assert back.approvals == () and back.state == "proposed"


def test_expiry_needs_a_time_zone(platform, people) -> None:
    proposal = create(platform, people["analyst"])
    naive = datetime.now() + timedelta(days=1)  # the mistake under test
    with pytest.raises(InvalidInput, match=r"no time zone; add one, e\.g\. .*Z"):
        platform.proposals.approve(people["ap1"], proposal.id, expires_at=naive)
    approved = platform.proposals.approve(
        people["ap1"], proposal.id, expires_at=utcnow() + timedelta(days=1)
    )
    assert approved.state == "approved"


# --- content limits and damaged records ---------------------------------------------------


@pytest.mark.parametrize(
    "field",
    ["content", "evidence"],
)
def test_content_and_evidence_depth_is_limited(platform, people, field: str) -> None:
    ok = {"content": nested(MAX_DEPTH)} if field == "content" else {"evidence": [nested(31)]}
    create(platform, people["analyst"], **ok)
    deep = {"content": nested(MAX_DEPTH + 1)} if field == "content" else {"evidence": [nested(32)]}
    with pytest.raises(InvalidInput, match=f"more than {MAX_DEPTH} levels"):
        create(platform, people["analyst"], **deep)
    with pytest.raises(InvalidInput, match="levels"):
        create(platform, people["analyst"], content={"a": nested(5000)})


def test_content_size_is_limited(platform, people) -> None:
    with pytest.raises(PayloadTooLarge, match="4096 accepted"):
        create(platform, people["analyst"], content={"text": "é" * 3000})
    with pytest.raises(PayloadTooLarge):
        create(platform, people["analyst"], evidence=[{"quote": "x" * 5000}])
    proposal = create(platform, people["analyst"])
    with pytest.raises(InvalidInput, match="levels"):
        platform.proposals.amend(people["ap1"], proposal.id, nested(400), "trop profond")
    with pytest.raises(PayloadTooLarge):
        platform.proposals.amend(people["ap1"], proposal.id, {"t": "x" * 5000}, "trop long")


@pytest.mark.parametrize("depth", [400, 5000])
def test_one_damaged_record_does_not_break_the_list(platform, people, depth: int) -> None:
    good = create(platform, people["analyst"])
    bad = create(platform, people["analyst"], content={"text": "bientôt abîmé"})
    raw = '{"a":' * depth + "1" + "}" * depth
    cast = "CAST(:v AS json)" if platform.database.engine.dialect.name == "postgresql" else ":v"
    with platform.database.transaction() as session:
        session.execute(
            text(f"UPDATE proposals SET content = {cast} WHERE id = :id"), {"v": raw, "id": bad.id}
        )
    for who in ("analyst", "ap1", "reader"):
        listed = {p.id: p for p in platform.proposals.readable(people[who])}
        assert listed[good.id].problem is None and listed[good.id].content["text"]
        assert "cannot be shown" in (listed[bad.id].problem or "")
        assert listed[bad.id].content == {}
    shown = platform.proposals.get(people["reader"], bad.id)
    assert shown.problem is not None and shown.title == "Plan"
    json.dumps(shown.content)
    for decide in (
        lambda: platform.proposals.approve(people["ap1"], bad.id),
        lambda: platform.proposals.amend(people["ap1"], bad.id, {"t": "neuf"}, "réparer"),
        lambda: platform.proposals.reject(people["ap1"], bad.id, "abîmé"),
    ):
        with pytest.raises(Conflict, match="damaged"):
            decide()
    dissent = platform.proposals.dissent(people["reader"], bad.id, "illisible")
    assert dissent.history[-1].action == "dissent"


def test_a_damaged_record_is_never_released(platform, people) -> None:
    proposal = create(platform, people["analyst"])
    platform.proposals.approve(people["ap1"], proposal.id)
    with platform.database.transaction() as session:
        session.execute(update(ProposalRecord).values(evidence={"not": "a list"}))
    with pytest.raises(Conflict, match="damaged"):
        platform.proposals.release(people["analyst"], proposal.id, "export")


def test_service_built_by_hand_keeps_the_defaults(platform, people) -> None:
    service = ProposalService(platform.database, platform.journal, platform.policies)
    assert service.rules.table[ProposalKind.COURSE_OF_ACTION] == 2
    proposal = service.create(
        people["analyst"], kind="logistics_plan", title="Ravitaillement", content={"t": 1}
    )
    assert proposal.kind == "logistics-plan" and proposal.required_approvals == 2
