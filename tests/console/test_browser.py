"""The console in a real browser: sign-in, banners, need-to-know, upload, refusals, language.

Headless Debian Chromium drives a real `egide serve`; nothing of Égide is
mocked. Screenshots of each main page are saved as test artefacts.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.console.conftest import ConsoleWorld, shoot, sign_in

pytestmark = pytest.mark.slow


def banners(page: Any) -> tuple[str, str]:
    """The text of the top and bottom banners."""
    top = page.locator("[data-banner=top]").inner_text()
    bottom = page.locator("[data-banner=bottom]").inner_text()
    return top, bottom


def test_sign_in_with_an_api_key_shows_who_is_signed_in(
    page: Any, console_world: ConsoleWorld
) -> None:
    page.goto("/")
    assert page.url.startswith(f"{console_world.url}/signin")  # no session: the sign-in page
    shoot(page, console_world, "signin")
    sign_in(page, console_world, "analyste")
    who = page.locator(".who")
    assert "analyste" in who.inner_text() and "CPCO" in who.inner_text()
    assert page.locator("[data-clearance]").inner_text() == "SECRET NAT FRA"
    assert page.locator("[data-action='document.read']").count() == 1
    assert page.locator("[data-action='audit.read']").count() == 0
    assert banners(page) == ("NON PROTÉGÉ", "NON PROTÉGÉ")
    cookie = next(c for c in page.context.cookies() if c["name"] == "egide_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    shoot(page, console_world, "home")


def test_the_banner_is_the_pages_high_water_mark_and_rises(
    page: Any, console_world: ConsoleWorld
) -> None:
    sign_in(page, console_world, "analyste")
    docs = console_world.documents
    page.goto(f"/documents/{docs['depot-np.txt']}")
    assert banners(page) == ("NON PROTÉGÉ", "NON PROTÉGÉ")
    page.goto(f"/documents/{docs['hibou-s.txt']}")
    assert banners(page) == ("SECRET", "SECRET")
    assert "secret" in (page.locator("[data-banner=top]").get_attribute("class") or "")
    portions = page.locator(".passages .marking").all_inner_texts()
    assert "(S)" in portions and any(p.startswith("(NP") for p in portions)
    shoot(page, console_world, "document")
    page.goto("/documents")
    # The list shows FR SECRET (French eyes only) and NATO SECRET REL TO DEU, FRA items:
    # the banner is their join, in NATO's terms.
    assert banners(page) == ("NATO SECRET REL TO FRA", "NATO SECRET REL TO FRA")
    listed = page.locator("table.documents .marking").all_inner_texts()
    assert "NON PROTÉGÉ" in listed and "SECRET" in listed
    assert not any("TRÈS SECRET" in m for m in listed)  # above the analyst's clearance
    shoot(page, console_world, "documents")


def test_a_nato_reader_never_sees_french_national_documents(
    page: Any, console_world: ConsoleWorld
) -> None:
    sign_in(page, console_world, "allie")
    docs = console_world.documents
    page.goto("/documents")
    rows = page.locator("table.documents tbody tr")
    shown = {int(r.get_attribute("data-document") or 0) for r in rows.all()}
    assert docs["otan-ns.txt"] in shown
    assert docs["hibou-s.txt"] not in shown and docs["relève-dr.txt"] not in shown
    assert docs["aigle-ts.txt"] not in shown
    response = page.goto(f"/documents/{docs['hibou-s.txt']}")
    assert response is not None and response.status == 404
    assert "Varnie" not in page.content() and "HIBOU" not in page.content()
    assert page.locator("[data-banner=top]").inner_text() == "NON PROTÉGÉ"
    page.goto("/documents?q=hibou")
    assert page.locator("table.documents").count() == 0


def test_upload_with_label_and_progress(page: Any, console_world: ConsoleWorld) -> None:
    sign_in(page, console_world, "analyste")
    page.goto("/documents/upload")
    options = page.locator("#label option").all_inner_texts()
    assert "SECRET" in options and "TRÈS SECRET" not in options  # never above the clearance
    shoot(page, console_world, "upload")
    # Record what the progress text shows, across the navigation that follows the upload.
    page.evaluate(
        """() => {
        const text = document.querySelector('[data-progress-text]');
        new MutationObserver(() => sessionStorage.setItem('progress', text.textContent))
            .observe(text, {childList: true, characterData: true, subtree: true});
    }"""
    )
    body = ("Le ravitaillement de la base avancée est prévu mardi. " * 400).encode()
    page.set_input_files(
        "#file", files=[{"name": "ravitaillement.txt", "mimeType": "text/plain", "buffer": body}]
    )
    page.select_option("#label", label="DIFFUSION RESTREINTE")
    with page.expect_request(lambda r: r.method == "POST" and "/documents/upload" in r.url) as req:
        page.click("form[data-upload] button[type=submit]")
    assert req.value.headers.get("x-csrf-token")  # sent by the script, with progress
    page.wait_for_url(re.compile(r".*/documents/\d+\?done=uploaded"), timeout=120_000)
    assert page.evaluate("sessionStorage.getItem('progress')") == "100 %"
    assert banners(page)[0] == "DIFFUSION RESTREINTE"
    assert page.locator(".doc-marking .marking").inner_text() == "DIFFUSION RESTREINTE"


def test_a_page_the_role_may_not_see_is_refused_and_journaled(
    page: Any, console_world: ConsoleWorld
) -> None:
    before = len(console_world.journal("document.list"))
    sign_in(page, console_world, "auditeur")
    assert page.locator("nav a[href='/documents']").count() == 0  # hidden from the role
    response = page.goto("/documents")
    assert response is not None and response.status == 403
    assert page.locator("[data-status='error.403']").count() == 1
    assert "analyst" in page.locator("[data-status]").inner_text()  # the service's reason
    shoot(page, console_world, "refused")
    refused = console_world.journal("document.list")[before:]
    assert [(e.actor, e.details.get("status")) for e in refused] == [("user:auditeur", 403)]


def test_language_switch(page: Any, console_world: ConsoleWorld) -> None:
    sign_in(page, console_world, "analyste")
    assert page.locator("nav a[href='/']").inner_text() == "Accueil"
    page.click("[data-switch-language]")
    page.wait_for_load_state()
    assert page.locator("nav a[href='/']").inner_text() == "Home"
    assert page.locator("html").get_attribute("lang") == "en"
    assert banners(page) == ("NOT PROTECTED", "NOT PROTECTED")
    shoot(page, console_world, "home-en")
    page.click("[data-switch-language]")
    page.wait_for_load_state()
    assert page.locator("nav a[href='/']").inner_text() == "Accueil"


def test_sign_in_through_the_identity_provider(page: Any, console_world: ConsoleWorld) -> None:
    provider = console_world.provider
    redeemed = len(provider.redeemed)
    page.goto("/documents")
    page.click("#signin-oidc")
    page.wait_for_url(f"{console_world.url}/documents")
    assert page.locator(".who .name").inner_text() == "oidcuser"
    assert page.locator("[data-clearance]").inner_text() == "DIFFUSION RESTREINTE NAT FRA"
    assert len(provider.redeemed) == redeemed + 1  # the code was redeemed with a verifier
    assert len(provider.redeemed[-1]["verifier"]) >= 43
    opened = console_world.journal("session.open")
    assert opened[-1].actor == "user:oidcuser" and opened[-1].details["method"] == "oidc"


def test_sign_out_destroys_the_session(page: Any, console_world: ConsoleWorld) -> None:
    sign_in(page, console_world, "analyste")
    token = next(c for c in page.context.cookies() if c["name"] == "egide_session")["value"]
    page.click("header form[action='/signout'] button")
    page.wait_for_url(re.compile(r".*/signin"))
    # The old token is gone server-side: replaying it gets the sign-in page, not a session.
    page.context.add_cookies([{"name": "egide_session", "value": token, "url": console_world.url}])
    page.goto("/")
    assert "/signin" in page.url


def test_sign_in_and_navigate_with_the_keyboard_alone(
    page: Any, console_world: ConsoleWorld
) -> None:
    page.goto("/signin")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "key":
            break
    assert page.evaluate("document.activeElement.id") == "key"
    page.keyboard.type(console_world.keys["analyste"])
    page.keyboard.press("Enter")
    page.wait_for_url(f"{console_world.url}/")
    page.keyboard.press("Tab")  # the first stop is the skip link
    assert page.evaluate("document.activeElement.className") == "skip"
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == "/documents":
            break
    page.keyboard.press("Enter")
    page.wait_for_url(f"{console_world.url}/documents")
    assert page.locator("table.documents").count() == 1
