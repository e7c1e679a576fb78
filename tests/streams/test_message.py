"""Reading a message: its label from a field, a header or its text; quarantine otherwise."""

from __future__ import annotations

import json

import pytest

from egide.core.labels import PolicyRegistry
from egide.streams.message import Message, Rejected, read_message

POLICIES = PolicyRegistry.builtin()


def _read(body: object, **kwargs: object) -> Message | Rejected:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return read_message(raw, POLICIES, source="test:1", **kwargs)  # type: ignore[arg-type]


def test_the_label_field_labels_the_message() -> None:
    read = _read({"id": "m1", "channel": "log", "label": "DR", "text": "Convoi arrivé."})
    assert isinstance(read, Message)
    assert POLICIES.canonical(read.label) == "DIFFUSION RESTREINTE"
    assert (read.id, read.channel) == ("m1", "log")


def test_a_marking_in_the_text_raises_the_label_never_lowers_it() -> None:
    read = _read({"id": "m2", "label": "DR", "text": "SECRET\n\nLe poste de commandement."})
    assert isinstance(read, Message)
    assert POLICIES.canonical(read.label) == "SECRET"
    header = _read({"id": "m3", "text": "(DR) Convoi."}, header_label="SECRET")
    assert isinstance(header, Message) and POLICIES.canonical(header.label) == "SECRET"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "bad JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "bad JSON"),
        ({"text": "x", "label": "DR"}, "no message id"),
        ({"id": "m", "label": "DR"}, "no text"),
        ({"id": "m", "text": "Convoi arrivé."}, "no label"),
        ({"id": "m", "text": "x", "label": "SECRET DÉFENSE"}, "unreadable marking"),
        ({"id": "m", "text": "x", "label": "ULTRA SECRET"}, "unreadable marking"),
        ({"id": "m", "text": "TRÈS SECRET DÉFENSE\n\nx", "label": "DR"}, "unreadable marking"),
        ({"id": "m", "text": "x", "label": 3}, "bad field 'label'"),
        ({"id": "m", "text": "\ud800", "label": "DR"}, "unpaired surrogate"),
        ({"id": "m", "text": "x", "label": "DR", "received": "hier"}, "bad field 'received'"),
        ({"id": "x" * 201, "text": "x", "label": "DR"}, "bad message id"),
        ({"id": "m", "channel": "net\u0000", "text": "x", "label": "DR"}, "bad field 'channel'"),
        ({"id": "m\u0000", "text": "x", "label": "DR"}, "bad message id"),
    ],
)
def test_what_cannot_be_read_is_rejected_with_its_reason(body: object, reason: str) -> None:
    read = _read(body)
    assert isinstance(read, Rejected), read
    assert reason in read.reason
    assert read.source == "test:1"


def test_an_oversize_message_is_rejected_before_it_is_parsed() -> None:
    body = {"id": "big", "label": "DR", "text": "x" * 2000}
    read = _read(body, max_bytes=1000)
    assert isinstance(read, Rejected) and read.reason.startswith("oversize")
    assert len(read.raw) <= 4096


def test_what_quarantine_keeps_holds_no_nul_a_database_would_refuse() -> None:
    read = _read(b'{"id": "\x00\x00 broken')
    assert isinstance(read, Rejected)
    assert "\x00" not in read.raw


# Every line boundary Python's str.splitlines() knows: a marking after any of them is a line.
LINE_BREAKS = ["\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("brk", LINE_BREAKS)
def test_a_banner_after_any_line_break_raises_the_label(brk: str) -> None:
    text = f"Rapport de situation{brk}SECRET{brk}CLOU-7 arrivé à Marsk."
    read = _read({"id": "m", "label": "NON PROTÉGÉ", "text": text})
    assert isinstance(read, Message), read
    assert POLICIES.canonical(read.label) == "SECRET"


@pytest.mark.parametrize("brk", LINE_BREAKS)
def test_a_retired_marking_after_any_line_break_is_quarantined(brk: str) -> None:
    text = f"Rapport{brk}SECRET DÉFENSE{brk}CLOU-7 arrivé."
    read = _read({"id": "m", "label": "NON PROTÉGÉ", "text": text})
    assert isinstance(read, Rejected), read
    assert "unreadable marking" in read.reason


SECRET_LOOKING = [
    {"id": "q1", "label": "DR", "text": "TRÈS SECRET - FRAPPE SUR OBJECTIF HERMINE À 0400Z"},
    {"id": "q2", "label": "DR", "text": "Ordre\nSECRET DÉFENSE HERMINE\nsuite"},
    {"id": "q3", "label": "SECRET HERMINE", "text": "x"},
    {"id": "q4", "text": "x"},
]


@pytest.mark.parametrize("body", SECRET_LOOKING)
def test_a_quarantine_reason_never_quotes_the_message(body: dict[str, str]) -> None:
    read = _read(body, header_label="SECRET HERMINE" if body["id"] == "q4" else None)
    assert isinstance(read, Rejected), read
    assert "HERMINE" not in read.reason and "FRAPPE" not in read.reason
    assert read.reason.startswith("unreadable marking")


def test_the_reason_names_the_line_or_the_field() -> None:
    text = _read({"id": "q", "label": "DR", "text": "a\nb\nSECRET DÉFENSE HERMINE"})
    assert isinstance(text, Rejected) and text.reason == "unreadable marking on line 3"
    field = _read({"id": "q", "label": "SECRET HERMINE", "text": "x"})
    assert isinstance(field, Rejected) and field.reason == "unreadable marking in field 'label'"
    header = _read({"id": "q", "text": "x"}, header_label="SECRET HERMINE")
    assert isinstance(header, Rejected)
    assert header.reason == "unreadable marking in header Egide-Label"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"id":"d","text":"x","label":"DR","n":' + b"[" * 5000 + b"]" * 5000 + b"}", "bad JSON"),
        (b"[" * 60000, "bad JSON"),
        (b'{"id":"d","text":"x","label":"DR","n":' + b"9" * 5000 + b"}", "bad JSON"),
        (
            b'{"id":"d","text":"x","label":"DR","received":"9999-12-31T23:59:59-01:00"}',
            "bad field 'received'",
        ),
        (
            b'{"id":"d","text":"x","label":"DR","received":"0001-01-01T00:00:00+01:00"}',
            "bad field 'received'",
        ),
    ],
)
def test_a_hostile_payload_is_quarantined_never_raised(raw: bytes, reason: str) -> None:
    read = read_message(raw, POLICIES, source="test:1", max_bytes=1_000_000)
    assert isinstance(read, Rejected), read
    assert read.reason.startswith(reason)


def test_a_duplicate_field_is_refused_never_last_wins() -> None:
    raw = b'{"id":"d","label":"SECRET","label":"NON PROT\xc3\x89G\xc3\x89","text":"x"}'
    read = read_message(raw, POLICIES, source="test:1")
    assert isinstance(read, Rejected), read
    assert read.reason == "duplicate field 'label'"


def test_several_header_labels_are_joined() -> None:
    read = _read({"id": "h", "text": "x"}, header_label=["SECRET", "NON PROTÉGÉ"])
    assert isinstance(read, Message), read
    assert POLICIES.canonical(read.label) == "SECRET"
