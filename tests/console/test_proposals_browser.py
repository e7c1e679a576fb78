"""The proposals pages in a real browser: a SECRET report approved by two people, end to end.

Headless Debian Chromium drives a real `egide serve` over the console's seeded
world plus approvers and proposals written through the services. The author
finds no approve button; readers of a lower level, another nationality or
another organisation find nothing of the report — not in the list, not at
its address, not in a download. Screenshots of each page are saved.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from egide.app import Platform
from egide.core.principals import Role
from egide.settings import Settings
from tests.api.server import Server
from tests.console.conftest import (
    ConsoleWorld,
    artefacts_dir,
    seed,
    server_env,
    shoot,
    sign_in,
)
from tests.console.provider import Provider, RunningProvider

pytestmark = pytest.mark.slow

# username -> (organisation, clearance, roles), beside the console world's own users.
DECIDERS = {
    "approbateur": ("CPCO", "SECRET", [Role.APPROVER]),
    "adjoint": ("CPCO", "SECRET", [Role.APPROVER]),
    "redacteur": ("CPCO", "SECRET", [Role.ANALYST, Role.APPROVER]),
    "externe": ("DRSD", "SECRET", [Role.ANALYST, Role.APPROVER]),
}
CPCO_NOTE = "SECRET\n\n(S) Point de situation CPCO : relève à Kessel.\n\nSECRET\n"
HIBOU = "Rapport HIBOU"
CPCO = "Point CPCO"
PLAN = "Plan de ravitaillement"


class ProposalsWorld(ConsoleWorld):
    """The console world with proposals: their ids by title."""

    proposals: dict[str, int]


def seed_proposals(world: ProposalsWorld) -> None:
    """Approvers, a CPCO-only collection, and three proposals written through the services."""
    platform = Platform(Settings(data_dir=world.data_dir, embeddings=False))
    identity, policies = platform.identity, platform.policies
    try:
        identity.add_organisation("test", "DRSD")
        for name, (org, clearance, roles) in DECIDERS.items():
            identity.add_user(
                "test",
                name,
                clearance=policies.parse_clearance(clearance),
                roles=roles,
                organisation=org,
            )
            _, world.keys[name] = identity.create_key("test", name)
        admin = identity.principal("admin")
        knowledge, proposals = platform.knowledge, platform.proposals
        hibou = world.documents["hibou-s.txt"]
        passage = next(
            p.chunk_id for p in knowledge.document(admin, hibou).portions if "HIBOU" in p.text
        )
        knowledge.create_collection(admin, "cpco-seul", organisations=["CPCO"])
        cpco = knowledge.ingest(admin, "cpco-seul", "point-cpco.txt", CPCO_NOTE.encode())
        world.documents["point-cpco.txt"] = cpco[0].document_id
        author = identity.principal("redacteur")
        world.proposals = {}
        world.proposals[HIBOU] = proposals.create(
            author,
            kind="intelligence-report",
            title=HIBOU,
            content={
                "blocks": [
                    {"kind": "heading", "text": "En bref"},
                    {"kind": "paragraph", "text": "Le convoi HIBOU part de nuit vers Varnie-Est."},
                    {
                        "kind": "bullet",
                        "text": "Le dépôt de Marsk ouvre à huit heures.",
                        "marking": "NON PROTÉGÉ",
                    },
                ]
            },
            evidence=[{"chunk": passage, "document": hibou, "grading": "B2"}],
            label=policies.parse("SECRET"),
        ).id
        scoped = proposals.create(
            author,
            kind="report",
            title=CPCO,
            content={"text": "Relève à Kessel confirmée."},
            evidence=[{"document": cpco[0].document_id}],
            label=policies.parse("SECRET"),
        )
        for approver in ("approbateur", "adjoint"):
            proposals.approve(identity.principal(approver), scoped.id, rationale="recoupé")
        world.proposals[CPCO] = scoped.id
        world.proposals[PLAN] = proposals.create(
            identity.principal("analyste"),
            kind="logistics-plan",
            title=PLAN,
            content={"text": "Deux camions citernes partent lundi.\n\nRetour mardi."},
            label=policies.parse("NON PROTÉGÉ"),
        ).id
    finally:
        platform.close()


@pytest.fixture(scope="module")
def proposals_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProposalsWorld]:
    """The seeded installation with proposals, served by its own `egide serve`."""
    workdir = tmp_path_factory.mktemp("console-proposals")
    provider = Provider()
    running = RunningProvider(provider)
    world = ProposalsWorld(server=None, data_dir=workdir / "data", provider=provider)  # type: ignore[arg-type]
    world.artefacts = artefacts_dir()
    try:
        seed(world.data_dir, world)
        seed_proposals(world)
        world.server = Server(server_env(world.data_dir, provider), workdir, offline=False)
    except BaseException:
        running.stop()
        raise
    yield world
    world.server.stop()
    running.stop()


@pytest.fixture
def ppage(browser: Any, proposals_world: ProposalsWorld) -> Iterator[Any]:
    """A fresh browser context (no cookies) in French, on the proposals world's console."""
    context = browser.new_context(
        base_url=proposals_world.url, locale="fr-FR", viewport={"width": 1366, "height": 900}
    )
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def titles(page: Any) -> list[str]:
    """The proposals the list shows."""
    page.goto("/proposals")
    return [t.split(" ", 1)[1] for t in page.locator("table.proposals td a").all_inner_texts()]


def switch_user(page: Any, world: ProposalsWorld, user: str) -> None:
    page.context.clear_cookies()
    sign_in(page, world, user)


def test_a_secret_report_is_approved_by_two_people_then_exported(
    ppage: Any, proposals_world: ProposalsWorld
) -> None:
    world, page = proposals_world, ppage
    number = world.proposals[HIBOU]
    sign_in(page, world, "redacteur")
    assert HIBOU in titles(page)
    assert page.locator("[data-banner=top]").inner_text() == "SECRET"
    shoot(page, world, "proposals")
    page.goto(f"/proposals/{number}")
    rule = page.locator("[data-rule] [data-required]")
    assert rule.get_attribute("data-required") == "2" and rule.get_attribute("data-given") == "0"
    # The author may decide in general (an approver) but not on their own words.
    assert page.locator("[data-author-note]").count() == 1
    assert page.locator("form[data-form=approve]").count() == 0
    page.locator("ol.evidence a").first.click()  # evidence one click away
    assert "HIBOU" in page.locator(".passages").inner_text()
    assert page.locator(".passages li:target").count() == 1  # the cited passage itself
    page.go_back()
    shoot(page, world, "proposal-author")

    switch_user(page, world, "approbateur")
    page.goto(f"/proposals/{number}")
    # An approver reads the evidence before deciding: one click away for them too.
    assert page.locator("ol.evidence li").count() == 1
    assert page.locator("ol.evidence a").count() == 1
    page.fill("#approve-rationale", "sources recoupées")
    page.click("form[data-form=approve] button")
    page.wait_for_selector("[data-done=approved]")
    assert page.locator("[data-required]").get_attribute("data-given") == "1"
    assert page.locator("[data-state]").first.get_attribute("data-state") == "proposed"
    assert page.locator("[data-approved-note]").count() == 1

    switch_user(page, world, "adjoint")
    page.goto(f"/proposals/{number}")
    page.click("form[data-form=approve] button")
    page.wait_for_selector("[data-done=approved]")
    assert page.locator("[data-state]").first.get_attribute("data-state") == "approved"
    assert page.locator("[data-approvers] li").all_inner_texts() == ["approbateur", "adjoint"]
    shoot(page, world, "proposal-approved")

    switch_user(page, world, "analyste")
    page.goto(f"/proposals/{number}")
    with page.expect_download() as started:
        page.click("form[data-form=export] button")
    download = started.value
    assert download.suggested_filename == f"proposal-{number}.md"
    text = download.path().read_text(encoding="utf-8")
    assert text.startswith("SECRET") and text.rstrip().endswith("SECRET")
    assert "approve by approbateur" in text and "approve by adjoint" in text
    assert len(world.journal("proposal.release")) == 1


def test_an_amendment_is_shown_beside_the_original(
    ppage: Any, proposals_world: ProposalsWorld
) -> None:
    world, page = proposals_world, ppage
    number = world.proposals[PLAN]
    sign_in(page, world, "approbateur")
    page.goto(f"/proposals/{number}")
    assert page.locator("[data-required]").get_attribute("data-required") == "2"  # by kind
    content = page.locator("#amend-content").input_value()
    page.fill("#amend-content", content.replace("lundi", "mercredi"))
    page.fill("#amend-rationale", "les camions ne sont prêts que mercredi")
    page.click("form[data-form=amend] button")
    page.wait_for_selector("[data-done=amended]")
    original = page.locator("[data-version=original]").inner_text()
    current = page.locator("[data-version=current]").inner_text()
    assert "lundi" in original and "mercredi" in current
    assert page.locator("[data-version=current] .changed").count() == 1
    assert page.locator("[data-author-note]").count() == 1  # the amender is now an author
    shoot(page, world, "proposal-amended")


@pytest.mark.parametrize("reader", ["oidcuser", "allie"])  # DR; German NATO SECRET
def test_a_reader_below_the_label_or_of_another_nation_sees_nothing_of_it(
    ppage: Any, proposals_world: ProposalsWorld, reader: str
) -> None:
    world, page = proposals_world, ppage
    sign_in(page, world, reader)
    shown = titles(page)
    assert HIBOU not in shown and CPCO not in shown
    assert "HIBOU" not in page.content()
    for title in (HIBOU, CPCO):
        response = page.goto(f"/proposals/{world.proposals[title]}")
        assert response is not None and response.status == 404
        assert "HIBOU" not in page.content() and "Kessel" not in page.content()
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    before = len(world.journal("proposal.release"))
    download = page.request.post(
        f"/proposals/{world.proposals[CPCO]}/export", form={"csrf": csrf, "format": "markdown"}
    )
    assert download.status == 404
    assert download.headers["content-type"].startswith("text/html")
    assert "Kessel" not in download.text() and "attachment" not in str(download.headers)
    assert len(world.journal("proposal.release")) == before
    if reader == "allie":
        shoot(page, world, "proposal-refused")


def test_a_reader_of_another_organisation_sees_nothing_of_it(
    ppage: Any, proposals_world: ProposalsWorld
) -> None:
    world, page = proposals_world, ppage
    sign_in(page, world, "externe")  # SECRET like the proposal, but of the DRSD
    assert CPCO not in titles(page)
    response = page.goto(f"/proposals/{world.proposals[CPCO]}")
    assert response is not None and response.status == 404
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    download = page.request.post(
        f"/proposals/{world.proposals[CPCO]}/export", form={"csrf": csrf, "format": "markdown"}
    )
    assert download.status == 404 and "Kessel" not in download.text()
