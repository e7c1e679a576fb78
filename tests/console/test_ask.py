"""The Ask page in a real browser: streamed answers, citations, banners, conversations, leaks.

Headless Debian Chromium against a real `egide serve` over the seeded world
(tests/console/conftest.py); nothing of Égide is mocked.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.console.conftest import ConsoleWorld, shoot, sign_in

pytestmark = pytest.mark.slow


def banners(page: Any) -> tuple[str, str]:
    top = page.locator("[data-banner=top]").inner_text()
    return top, page.locator("[data-banner=bottom]").inner_text()


def ask(page: Any, question: str, label: str | None = None) -> Any:
    """Ask on the open page (streamed by the page's script); the new turn once rendered."""
    before = page.locator("[data-turn]").count()
    if label is not None:
        page.select_option("#ask-label", label=label)
    page.fill("#question", question)
    page.click("form[data-ask] button[type=submit]")
    page.locator("[data-turn]").nth(before).wait_for()
    page.wait_for_function("() => !document.querySelector('form[data-ask] button').disabled")
    return page.locator("[data-turn]").nth(before)


def test_ask_streams_an_answer_with_citations_that_open_the_passage(
    page: Any, console_world: ConsoleWorld
) -> None:
    sign_in(page, console_world, "analyste")
    page.goto("/ask")
    assert banners(page) == ("NON PROTÉGÉ", "NON PROTÉGÉ")
    offered = page.locator("#ask-label option").all_inner_texts()
    assert "SECRET" in offered and "TRÈS SECRET" not in offered  # never above the clearance
    # A marker that survives only if the page is not reloaded: the answer is streamed in.
    page.evaluate("() => { window.stayed = true; }")
    turn = ask(page, "Où part le convoi HIBOU ?", label="NON PROTÉGÉ")
    assert page.evaluate("() => window.stayed === true")
    assert re.search(r"/ask/\d+$", page.url)
    assert "HIBOU" in turn.locator(".answer .text").inner_text()
    answer_marking = turn.locator(".answer-marking .marking").inner_text()
    assert answer_marking != "NON PROTÉGÉ"
    # The banners rose to the answer's label (the conversation's high-water mark).
    assert banners(page) == (answer_marking, answer_marking)
    assert page.title().startswith(answer_marking)
    links = turn.locator("a.cite")
    assert links.count() >= 1
    hibou = console_world.documents["hibou-s.txt"]
    cited = turn.locator(f"a.cite[href^='/documents/{hibou}#passage-']").first
    shoot(page, console_world, "ask")
    # A follow-up in the same conversation, then the page as the server renders it.
    ask(page, "Quand ouvre le dépôt de Marsk ?")
    assert page.locator("[data-turn]").count() == 2
    url = page.url
    page.goto(url)
    assert page.locator("[data-turn]").count() == 2
    assert banners(page) == (answer_marking, answer_marking)
    # The citation opens the exact passage, with its portion marking.
    href = cited.get_attribute("href")
    page.locator(f"a.cite[href='{href}']").first.click()
    page.wait_for_url(re.compile(r"/documents/\d+#passage-\d+$"))
    target = page.locator(":target")
    assert target.get_attribute("id") == href.split("#")[1]
    assert target.locator(".marking").inner_text() == "(S)"
    assert "HIBOU" in target.inner_text()
    shoot(page, console_world, "ask-citation")
    # Kept in the history, with its marking.
    page.goto("/ask/history")
    row = page.locator(f"tr[data-conversation='{url.rsplit('/', 1)[1]}']")
    assert row.locator(".marking").inner_text() == answer_marking
    shoot(page, console_world, "ask-history")


def test_the_banner_rises_when_a_higher_labelled_answer_appears(
    page: Any, console_world: ConsoleWorld
) -> None:
    sign_in(page, console_world, "oidcuser")  # cleared DIFFUSION RESTREINTE
    page.goto("/ask")
    assert banners(page) == ("NON PROTÉGÉ", "NON PROTÉGÉ")
    turn = ask(page, "Quand arrive la relève ?", label="NON PROTÉGÉ")
    assert turn.locator(".question .marking").inner_text() == "(NP)"
    assert turn.locator(".answer-marking .marking").inner_text() == "DIFFUSION RESTREINTE"
    assert banners(page) == ("DIFFUSION RESTREINTE", "DIFFUSION RESTREINTE")
    top = page.locator("[data-banner=top]").get_attribute("class") or ""
    assert "restricted" in top
    assert "HIBOU" not in page.content() and "AIGLE" not in page.content()


def test_a_nato_reader_is_never_cited_french_national_passages(
    page: Any, console_world: ConsoleWorld
) -> None:
    sign_in(page, console_world, "allie")
    page.goto("/ask")
    turn = ask(page, "convoi HIBOU relève ravitaillement Kessel dépôt Marsk AIGLE")
    docs = console_world.documents
    national = [docs[n] for n in ("hibou-s.txt", "relève-dr.txt", "aigle-ts.txt")]
    hrefs = turn.locator("a.cite, [data-passage-link]").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    assert any(h.startswith(f"/documents/{docs['otan-ns.txt']}#") for h in hrefs)
    assert not any(h.startswith(f"/documents/{d}#") for d in national for h in hrefs)
    portions = turn.locator(".citations .marking").all_inner_texts()
    assert not {"(DR)", "(S)", "(TS)"} & set(portions)
    # The question echoes its own words; the answer and its quotes hold nothing French national.
    answered = turn.locator(".answer").inner_text()
    for secret in ("Varnie", "part de nuit", "arrive lundi", "poste de commandement"):
        assert secret not in answered
    shoot(page, console_world, "ask-nato")


def test_without_script_the_form_posts_and_the_answer_is_rendered(
    browser: Any, console_world: ConsoleWorld
) -> None:
    context = browser.new_context(
        base_url=console_world.url, locale="fr-FR", java_script_enabled=False
    )
    page = context.new_page()
    try:
        sign_in(page, console_world, "analyste")
        page.goto("/ask")
        page.select_option("#ask-label", label="NON PROTÉGÉ")
        page.fill("#question", "When does the Marsk depot open? dépôt Marsk")
        page.click("form[data-ask] button[type=submit]")
        page.wait_for_url(re.compile(r"/ask/\d+(#m\d+)?$"))
        turn = page.locator("[data-turn]")
        assert turn.count() == 1
        assert turn.locator("a.cite").count() >= 1
        marking = turn.locator(".answer-marking .marking").inner_text()
        assert banners(page) == (marking, marking)
        shoot(page, console_world, "ask-nojs")
    finally:
        context.close()


def test_only_the_owner_opens_a_conversation_and_may_delete_it(
    browser: Any, console_world: ConsoleWorld
) -> None:
    owner = browser.new_context(base_url=console_world.url, locale="fr-FR")
    other = browser.new_context(base_url=console_world.url, locale="fr-FR")
    try:
        mine, theirs = owner.new_page(), other.new_page()
        sign_in(mine, console_world, "analyste")
        mine.goto("/ask")
        ask(mine, "Itinéraire du convoi HIBOU ? Varnie", label="SECRET")
        url = mine.url
        conversation = url.rsplit("/", 1)[1]
        # A user of higher clearance may not read it: "not found", nothing of it shown.
        sign_in(theirs, console_world, "chef")
        response = theirs.goto(f"/ask/{conversation}")
        assert response is not None and response.status == 404
        assert "Itinéraire" not in theirs.content()
        theirs.goto("/ask/history")
        assert theirs.locator(f"tr[data-conversation='{conversation}']").count() == 0
        # A working label above the clearance is refused by the service (403).
        status = mine.evaluate(
            """async () => {
            const form = document.querySelector('form[data-ask]');
            const data = new FormData();
            data.set('question', 'AIGLE'); data.set('label', 'TRÈS SECRET');
            const r = await fetch('/ask', {method: 'POST', body: data,
                headers: {'X-CSRF-Token': form.querySelector('[name=csrf]').value}});
            return [r.status, (await r.text()).includes('poste de commandement')];
        }"""
        )
        assert status == [403, False]
        # The owner deletes it: gone from the history and from its address.
        mine.goto(url)
        mine.click("form.delete-conversation button")
        mine.wait_for_url(re.compile(r"/ask/history\?done=deleted$"))
        assert mine.locator(f"tr[data-conversation='{conversation}']").count() == 0
        response = mine.goto(url)
        assert response is not None and response.status == 404
        assert console_world.journal("conversation.delete")
    finally:
        owner.close()
        other.close()
