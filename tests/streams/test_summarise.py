"""The extractive summariser: French, English, hard-wrapped text, one message, an empty window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from egide.errors import InvalidInput
from egide.streams.extract import extract_all
from egide.streams.summarise import (
    MAX_ENTITIES,
    Item,
    message_sentences,
    parse_window,
    summarise,
)

T0 = datetime(2026, 5, 14, 12, 0, tzinfo=UTC)


def _items(*texts: str) -> list[Item]:
    return [
        Item(f"m{i}", body, T0 + timedelta(minutes=i), None, tuple(extract_all(body)))
        for i, body in enumerate(texts)
    ]


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        # French, hard-wrapped at a fixed width: the lines of one sentence are joined.
        (
            "Le convoi CLOU-7 du 2e RIMa est arrivé\nà Marsk à 141200ZMAY26. Trois VAB\n"
            "sont immobilisés.",
            [
                "Le convoi CLOU-7 du 2e RIMa est arrivé à Marsk à 141200ZMAY26.",
                "Trois VAB sont immobilisés.",
            ],
        ),
        # English, with items: a numbered line starts a new sentence even unpunctuated.
        (
            "1. SITUATION\n2. VIPER-21 reports two tanks\nat grid 38SMB4484\n3. No losses",
            ["1. SITUATION", "2. VIPER-21 reports two tanks at grid 38SMB4484", "3. No losses"],
        ),
        # Paragraphs end sentences; blank lines and spaces change nothing.
        (
            "Route coupée\n\n  Pont détruit à Varnie.  \n",
            ["Route coupée", "Pont détruit à Varnie."],
        ),
        ("", []),
    ],
)
def test_messages_are_cut_into_sentences(text: str, sentences: list[str]) -> None:
    assert message_sentences(text) == sentences


def test_marking_lines_are_left_out_of_sentences() -> None:
    text = "SECRET\n\nLe convoi est arrivé.\n\nSECRET"
    assert message_sentences(text, lambda line: line == "SECRET") == ["Le convoi est arrivé."]


def test_an_empty_window_says_nothing() -> None:
    digest = summarise([])
    assert digest.messages == 0 and digest.first is None and digest.last is None
    assert digest.sentences == () and digest.entities == () and digest.languages == {}


def test_one_message_is_its_own_summary() -> None:
    digest = summarise(_items("VIPER-21 reports two tanks at grid 38SMB4484."), sentences=3)
    assert [q.text for q in digest.sentences] == ["VIPER-21 reports two tanks at grid 38SMB4484."]
    assert digest.messages == 1 and digest.first == digest.last == T0
    assert {(e.kind, e.value) for e in digest.entities} >= {
        ("callsign", "VIPER-21"),
        ("mgrs", "38SMB4484"),
    }


def test_the_central_sentence_and_the_shared_entities_come_first() -> None:
    items = _items(
        "Le convoi CLOU-7 est arrivé à Marsk. Il pleut.",
        "Le convoi CLOU-7 repart de Marsk vers Varnie demain.",
        "The CLOU-7 convoy left Marsk at dawn.",
        "Météo: pluie forte.",
    )
    digest = summarise(items, sentences=2)
    assert all("CLOU-7" in q.text for q in digest.sentences)
    assert digest.entities[0].value == "CLOU-7" and digest.entities[0].messages == 3
    # Chosen by score, shown in the order received.
    assert [q.received for q in digest.sentences] == sorted(q.received for q in digest.sentences)


def test_a_report_repeated_by_several_stations_is_quoted_once() -> None:
    same = "Le convoi CLOU-7 est arrivé à Marsk à 141200ZMAY26."
    digest = summarise(_items(same, same, same, "Pont détruit à Varnie."), sentences=3)
    assert [q.text for q in digest.sentences].count(same) == 1
    assert digest.messages == 4


def test_languages_and_times_are_counted() -> None:
    items = [
        Item("a", "Le convoi est arrivé.", T0, "fr", ()),
        Item("b", "The convoy has arrived.", T0 + timedelta(minutes=5), "en", ()),
        Item("c", "Le pont est coupé.", T0 + timedelta(minutes=2), "fr", ()),
    ]
    digest = summarise(items)
    assert digest.languages == {"fr": 2, "en": 1}
    assert (digest.first, digest.last) == (T0, T0 + timedelta(minutes=5))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("15m", 900),
        ("1h", 3600),
        ("2d", 172_800),
        ("90min", 5400),
        ("1j", 86_400),
        (" 7D ", 604_800),
    ],
)
def test_windows_are_read(text: str, seconds: int) -> None:
    assert parse_window(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "1", "h", "-5m", "1.5h", "30s", "8d", "1 heure", "0m"])
def test_a_bad_window_says_what_is_accepted(text: str) -> None:
    with pytest.raises(InvalidInput, match="window"):
        parse_window(text)


def test_a_bad_sentence_count_is_refused() -> None:
    with pytest.raises(InvalidInput, match="sentences"):
        summarise([], sentences=0)


_LINE = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_LINE, max_size=6).map("\n".join), max_size=8), st.integers(1, 20))
def test_summaries_are_deterministic_bounded_and_quote_only_their_messages(
    texts: list[str], wanted: int
) -> None:
    items = _items(*texts)
    digest = summarise(items, sentences=wanted)
    assert digest == summarise(list(reversed(items)), sentences=wanted)
    assert digest.messages == len(texts) and len(digest.sentences) <= wanted
    assert len(digest.entities) <= MAX_ENTITIES
    by_id = {i.message_id: i.text for i in items}
    for quote in digest.sentences:
        # Each quote comes from its message: its words, in order, once the wrapping undone.
        flat = " ".join(by_id[quote.message_id].split())
        core = " ".join(quote.text.split())
        if core.endswith("…"):  # a sentence past MAX_SENTENCE_CHARS is cut
            core = core[:-1].rstrip()
        assert core in flat
