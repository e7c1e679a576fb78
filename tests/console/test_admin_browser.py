"""The Audit and Administration pages in a real browser, against a real `egide serve`.

An auditor browses, filters, verifies and exports the journal and finds
nothing above their clearance in the page or the download; an analyst is
refused (403 page, journaled). An administrator creates a user and a key,
disables the user (whose next request is refused) and turns a model's kill
switch on (the API then refuses the model); an administrator cleared SECRET
may not grant TRÈS SECRET; a non-administrator is refused. Screenshots of
each page are saved.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from egide.app import Platform
from egide.core.principals import Role
from egide.settings import Settings
from tests.api.server import Server
from tests.console.conftest import ConsoleWorld, artefacts_dir, seed, server_env, shoot, sign_in
from tests.console.provider import Provider, RunningProvider

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def admin_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleWorld]:
    """The console world with an administrator's key and a SECRET administrator, served alone.

    Its own server: these tests disable accounts and models.
    """
    workdir = tmp_path_factory.mktemp("console-admin")
    provider = Provider()
    running = RunningProvider(provider)
    world = ConsoleWorld(server=None, data_dir=workdir / "data", provider=provider)  # type: ignore[arg-type]
    world.artefacts = artefacts_dir()
    try:
        seed(world.data_dir, world)
        platform = Platform(Settings(data_dir=world.data_dir, embeddings=False))
        try:
            identity = platform.identity
            _, world.keys["admin"] = identity.create_key("test", "admin")
            identity.add_user(
                "test",
                "admin-s",
                clearance=platform.policies.parse_clearance("SECRET"),
                roles=[Role.ADMIN],
                organisation="CPCO",
            )
            _, world.keys["admin-s"] = identity.create_key("test", "admin-s")
            # A TRÈS SECRET entry the SECRET auditor must never see, in page or download.
            with platform.database.transaction() as session:
                platform.journal.append(
                    session,
                    actor="user:chef",
                    action="test.aigle",
                    objects=["document:999"],
                    label="TRÈS SECRET",
                    details={"note": "AIGLE-TS-SENTINEL"},
                )
        finally:
            platform.close()
        world.server = Server(server_env(world.data_dir, provider), workdir, offline=False)
    except BaseException:
        running.stop()
        raise
    yield world
    world.server.stop()
    running.stop()


@pytest.fixture
def apage(browser: Any, admin_world: ConsoleWorld) -> Iterator[Any]:
    """A fresh browser context in French on the admin world's console."""
    context = browser.new_context(
        base_url=admin_world.url,
        locale="fr-FR",
        viewport={"width": 1366, "height": 800},
        accept_downloads=True,
    )
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def test_auditor_browses_filters_verifies_and_exports(
    apage: Any, admin_world: ConsoleWorld
) -> None:
    sign_in(apage, admin_world, "auditeur")
    assert apage.goto("/admin").status == 403  # a refusal to find below
    apage.goto("/audit")
    assert apage.locator("table.journal tbody tr").count() > 0
    html = apage.content()
    assert "AIGLE-TS-SENTINEL" not in html and "test.aigle" not in html
    shoot(apage, admin_world, "audit-journal")

    # Filter: refusals only, then one actor and an action prefix.
    apage.select_option("select[name=outcome]", "refused")
    apage.click("form.filters button[type=submit]")
    rows = apage.locator("table.journal tbody tr")
    assert rows.count() > 0
    assert rows.count() == apage.locator("table.journal tbody tr.refused").count()
    apage.goto("/audit")
    apage.fill("input[name=actor]", "user:auditeur")
    apage.fill("input[name=action]", "session.")
    apage.click("form.filters button[type=submit]")
    actions = apage.locator("table.journal tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.action)"
    )
    assert actions and all(a.startswith("session.") for a in actions)
    shoot(apage, admin_world, "audit-filtered")

    # Verification on demand.
    apage.click("button[data-verify]")
    assert apage.locator("[data-verified=ok]").is_visible()
    shoot(apage, admin_world, "audit-verify")
    assert admin_world.journal("audit.verify")[-1].actor == "user:auditeur"

    # Export of the filtered entries: a POST with CSRF, journaled, nothing above SECRET.
    apage.goto("/audit")
    with apage.expect_download() as download_info:
        apage.click("form[data-export] button[type=submit]")
    path = download_info.value.path()
    text = Path(path).read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["type"] == "header" and lines[0]["partial"] is True
    entries = lines[1:]
    assert entries and all(e["type"] == "entry" for e in entries)
    assert all("TRÈS SECRET" not in e["label"] for e in entries)
    assert "AIGLE-TS-SENTINEL" not in text
    exported = admin_world.journal("audit.export")[-1]
    assert exported.actor == "user:auditeur" and exported.details["returned"] == len(entries)


def test_export_needs_the_csrf_token(apage: Any, admin_world: ConsoleWorld) -> None:
    sign_in(apage, admin_world, "auditeur")
    answer = apage.request.post(f"{admin_world.url}/audit/export", form={"actor": ""})
    assert answer.status == 403


@pytest.mark.parametrize(
    ("user", "path", "action"),
    [
        ("analyste", "/audit", "audit.read"),
        ("analyste", "/audit/verify", "audit.verify"),
        ("auditeur", "/admin", "admin.read"),
        ("analyste", "/admin/models", "admin.read"),
    ],
)
def test_refused_pages(
    apage: Any, admin_world: ConsoleWorld, user: str, path: str, action: str
) -> None:
    sign_in(apage, admin_world, user)
    before = len(admin_world.journal(action))
    answer = apage.goto(path)
    assert answer.status == 403
    assert "Accès refusé" in apage.content()
    refusals = [e for e in admin_world.journal(action)[before:] if e.details.get("refused")]
    assert refusals and refusals[-1].actor == f"user:{user}"
    area = "/" + path.strip("/").split("/")[0]
    assert apage.locator(f"header nav a[href='{area}']").count() == 0  # not offered either
    shoot(apage, admin_world, f"refused-{user}-{path.strip('/').replace('/', '-')}")


def test_admin_creates_user_and_key_then_disables_the_user(
    apage: Any, browser: Any, admin_world: ConsoleWorld
) -> None:
    sign_in(apage, admin_world, "admin")
    apage.goto("/admin")
    shoot(apage, admin_world, "admin-people")
    form = apage.locator("form[data-add-user]")
    form.locator("input[name=username]").fill("nouvelle")
    form.locator("input[name=clearance]").fill("DIFFUSION RESTREINTE")
    form.locator("select[name=organisation]").select_option("CPCO")
    form.locator("input[name=roles][value=analyst]").check()
    form.locator("button[type=submit]").click()
    apage.wait_for_url(f"{admin_world.url}/admin/users/nouvelle?done=added")
    assert admin_world.journal("user.add")[-1].actor == "user:admin"

    apage.fill("form[data-create-key] input[name=name]", "poste 7")
    apage.click("form[data-create-key] button[type=submit]")
    token = apage.locator("[data-token]").inner_text().strip()
    assert token.startswith("egk_")
    shoot(apage, admin_world, "admin-user-key")
    assert admin_world.journal("key.create")[-1].actor == "user:admin"
    apage.goto("/admin/users/nouvelle")
    assert token not in apage.content()  # shown once

    # The new user signs in with the key in another browser.
    other = browser.new_context(base_url=admin_world.url, locale="fr-FR")
    try:
        theirs = other.new_page()
        theirs.goto("/signin")
        theirs.fill("#key", token)
        theirs.click("form[action='/signin/key'] button[type=submit]")
        theirs.wait_for_url(f"{admin_world.url}/")
        assert theirs.goto("/documents").status == 200

        apage.click("button[data-disable]")
        apage.wait_for_url(f"{admin_world.url}/admin/users/nouvelle?done=disabled")
        assert admin_world.journal("user.disable")[-1].actor == "user:admin"
        theirs.goto("/documents")
        assert "/signin" in theirs.url  # refused at the next request
        api = httpx.get(
            f"{admin_world.url}/v1/models", headers={"Authorization": f"Bearer {token}"}
        )
        assert api.status_code == 401
    finally:
        other.close()


def test_admin_may_not_lock_themselves_out(apage: Any, admin_world: ConsoleWorld) -> None:
    sign_in(apage, admin_world, "admin")
    apage.goto("/admin/users/admin")
    assert apage.locator("button[data-disable]").count() == 0
    answer = apage.request.post(
        f"{admin_world.url}/admin/users/admin/disable",
        form={"csrf": apage.locator("input[name=csrf]").first.input_value()},
    )
    assert answer.status == 409
    assert apage.goto("/admin").status == 200  # still signed in, still an administrator


def test_admin_may_not_grant_above_their_clearance(apage: Any, admin_world: ConsoleWorld) -> None:
    sign_in(apage, admin_world, "admin-s")
    apage.goto("/admin")
    form = apage.locator("form[data-add-user]")
    form.locator("input[name=username]").fill("trop-haut")
    form.locator("input[name=clearance]").fill("TRÈS SECRET")
    form.locator("button[type=submit]").click()
    assert "Accès refusé" in apage.content()
    assert admin_world.journal("user.add")[-1].details.get("refused") is True
    # Nor hand a key to an account above their clearance (chef is TRÈS SECRET).
    csrf = apage.goto("/admin") and apage.locator("input[name=csrf]").first.input_value()
    answer = apage.request.post(
        f"{admin_world.url}/admin/users/chef/keys", form={"csrf": csrf, "name": "x"}
    )
    assert answer.status == 403 and "egk_" not in answer.text()


def test_admin_kill_switch_refuses_the_model(apage: Any, admin_world: ConsoleWorld) -> None:
    def ask() -> httpx.Response:
        return httpx.post(
            f"{admin_world.url}/v1/chat/completions",
            headers={"Authorization": f"Bearer {admin_world.keys['analyste']}"},
            json={"model": "echo-dr", "messages": [{"role": "user", "content": "bonjour"}]},
            timeout=30,
        )

    assert ask().status_code == 200
    sign_in(apage, admin_world, "admin")
    apage.goto("/admin/models")
    row = apage.locator("tr[data-model=echo-dr]")
    assert "sha256:" in row.inner_text()
    row.locator("input[name=reason]").fill("essai du coupe-circuit")
    row.locator("button[data-kill]").click()
    apage.wait_for_url(f"{admin_world.url}/admin/models?done=disabled")
    shoot(apage, admin_world, "admin-models")
    assert admin_world.journal("model.disable")[-1].actor == "user:admin"
    refused = ask()
    assert refused.status_code == 403 and "model_disabled" in refused.text
    apage.locator("tr[data-model=echo-dr] button[data-revive]").click()
    apage.wait_for_url(f"{admin_world.url}/admin/models?done=enabled")
    assert ask().status_code == 200


def test_admin_sees_quotas_and_usage(apage: Any, admin_world: ConsoleWorld) -> None:
    sign_in(apage, admin_world, "admin")
    apage.goto("/admin/usage")
    assert apage.locator("tr[data-usage='user:analyste']").count() == 1
    assert apage.locator("tr[data-usage='org:CPCO']").count() == 1
    shoot(apage, admin_world, "admin-usage")
