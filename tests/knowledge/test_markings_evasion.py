"""Red-team issue 11: banners hidden with invisible or look-alike characters.

Each first line below was once accepted as NON PROTÉGÉ from a low-cleared user
and readable by foreign readers. A hidden banner must be read as the marking it
shows, or the file refused naming the line (fail secure), never skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from egide.app import Platform
from egide.core.labels import PolicyRegistry
from egide.core.principals import Principal, Role
from egide.errors import EgideError, InvalidLabel
from egide.knowledge.extract import extract
from egide.knowledge.folding import DEFAULT_IGNORABLE
from egide.knowledge.markings import classify_line, detect_markings
from egide.settings import Settings
from tests.api.conftest import Site, build_site

R = PolicyRegistry.builtin()

# (first line, the marking it shows)
EVASIONS = [
    ("SE\u034fCRET", "SECRET"),  # combining grapheme joiner
    ("SE\ufe0fCRET", "SECRET"),  # variation selector
    ("SE\U000e0101CRET", "SECRET"),  # variation selector supplement
    ("\u202eTERCES\u202c", "SECRET"),  # right-to-left override: displays SECRET
    ("\u202eTERCES SERT\u202c", "TRÈS SECRET"),
    ("SEC\u3164RET", "SECRET"),  # Hangul filler
    ("SEC\uffa0RET", "SECRET"),  # half-width Hangul filler
    ("SE\u115fC\u1160RET", "SECRET"),
    ("SE\u2066CRET\u2069", "SECRET"),  # isolates
    ("\u13da\u13ac\u13dfR\u13ac\u13a2", "SECRET"),  # Cherokee ᏚᎬᏟRᎬᎢ
    ("\ua731\u1d07\u1d04\u0280\u1d07\u1d1b", "SECRET"),  # small capitals ꜱᴇᴄʀᴇᴛ
    ("\U0001d412\U0001d404\U0001d402\U0001d411\U0001d404\U0001d413", "SECRET"),  # maths bold
    ("\u03a4R\u0388S S\u0395CR\u0395T", "TRÈS SECRET"),  # Greek Τ Έ Ε
    ("S.E.C.R.E.T", "SECRET"),
    ("S_E_C_R_E_T", "SECRET"),
    ("S-E-C-R-E-T", "SECRET"),
    ("T.R.È.S. S.E.C.R.E.T.", "TRÈS SECRET"),
    ("TRÈS_SECRET", "TRÈS SECRET"),
    ("SECRET_SPÉCIAL_FRANCE", "SECRET"),
    ("( S ) Le plan", "SECRET"),  # padded portion mark
    ("(  DR ) Le plan", "DIFFUSION RESTREINTE"),
    ("( TS // CRYPTO ) Le plan", "TS CRYPTO"),
]

READERS = [
    ("gbr", "NATO SECRET NAT GBR, NATO"),
    ("usa", "COSMIC TOP SECRET NAT USA, NATO"),
    ("deu", "NATO SECRET NAT DEU"),
    ("np", "NP NAT FRA"),
]


def body(first: str, token: str = "EVASIONTOKEN") -> bytes:
    return f"{first}\n\nTexte {token}.\n".encode()


def read(data: bytes) -> str:
    found = detect_markings(extract(data, "note.txt"), R).document_label
    assert found is not None
    return R.format(found)


@pytest.mark.parametrize(("first", "shows"), EVASIONS, ids=ascii)
def test_hidden_banner_is_read_as_the_marking_it_shows(first: str, shows: str) -> None:
    assert read(body(first)) == R.format(R.parse(shows))


@pytest.mark.parametrize(
    "line",
    [
        "SE\u034fCRET XYZZY GARBAGE",
        "S.E.C.R.E.T.X.Y.Z",
        "\u202eZYX TERCES\u202c",
        "TRÈS_SECRET_FOO_BAR",
        "\u13da\u13ac\u13dfR\u13ac\u13a2 D\u0388FENSE",
    ],
    ids=ascii,
)
def test_hidden_banner_that_does_not_parse_is_refused_naming_the_line(line: str) -> None:
    with pytest.raises(InvalidLabel, match="looks like a classification marking") as refused:
        read(body(line))
    assert repr(line) in refused.value.message


@pytest.mark.parametrize(
    "line",
    [
        "Le rapport reste secret jusqu'à nouvel ordre.",
        "Le secret de la réussite est la préparation.",
        "Secrétariat général de la défense et de la sécurité nationale",
        "SECRÉTARIAT GÉNÉRAL",
        "The secretary signed the minutes.",
        "secretary",
        "Secret de fabrication",
        "S.A. Dupont et fils",
        "U.S.A.",
        "( a ) premier point",
        "(  b ) second point",
        "A B C",
        "le_secret_du_code = 3",
        "Point de situation \u202ela nuit\u202c",
    ],
    ids=ascii,
)
def test_prose_is_not_refused(line: str) -> None:
    assert classify_line(line, R, "body") is None
    assert detect_markings(extract(body(line), "note.txt"), R).document_label is None


BANNERS = ["SECRET", "TRÈS SECRET", "DIFFUSION RESTREINTE", "SECRET SPÉCIAL FRANCE", "(S) Texte"]


@settings(max_examples=300, deadline=None)
@given(
    banner=st.sampled_from(BANNERS),
    invisible=st.lists(st.sampled_from(sorted(DEFAULT_IGNORABLE)), min_size=1, max_size=3),
    data=st.data(),
)
def test_an_invisible_character_never_lowers_a_banner(
    banner: str, invisible: list[str], data: st.DataObject
) -> None:
    line = banner
    for char in invisible:
        at = data.draw(st.integers(0, len(line)))
        line = line[:at] + char + line[at:]
    expected = R.parse("SECRET" if banner.startswith("(S)") else banner)
    try:
        found = detect_markings(extract(body(line), "note.txt"), R).document_label
    except InvalidLabel:
        return  # refused: fail secure
    assert found is not None and found.dominates(expected), (ascii(line), found)


# Through the real ingestion service, with readers of several nationalities and levels.
@pytest.fixture
def platform(data_dir: Path, database_url: str) -> Iterator[Platform]:
    current = Platform(Settings(data_dir=data_dir, database_url=database_url))
    current.initialise()
    yield current
    current.close()


@pytest.fixture
def people(platform: Platform) -> dict[str, Principal]:
    policies = platform.policies
    for name, clearance, roles in [
        ("admin", "TS CRYPTO NAT FRA", [Role.ADMIN, Role.ANALYST]),
        ("dr", "DR NAT FRA", [Role.ANALYST]),
        *((name, clearance, [Role.ANALYST]) for name, clearance in READERS),
    ]:
        platform.identity.add_user(
            "t", name, clearance=policies.parse_clearance(clearance), roles=roles
        )
    platform.knowledge.create_collection(platform.identity.principal("admin"), "ev")
    return {n: platform.identity.principal(n) for n in ["admin", "dr", *dict(READERS)]}


def _found(platform: Platform, who: Principal, token: str) -> list[str]:
    hits = platform.knowledge.search(who, token, collection="ev", mode="fulltext", k=20)
    return [h.text for h in hits if token.lower() in h.text.lower()]


@pytest.mark.parametrize(("first", "shows"), EVASIONS, ids=ascii)
def test_service_stores_the_shown_marking_and_hides_it_from_foreign_readers(
    platform: Platform, people: dict[str, Principal], first: str, shows: str
) -> None:
    np, shown = platform.policies.parse("NP"), R.format(R.parse(shows))
    try:
        [low] = platform.knowledge.ingest(
            people["dr"], "ev", "dr.txt", body(first, "DRTOKEN"), label=np
        )
    except EgideError:
        assert _found(platform, people["admin"], "DRTOKEN") == []
    else:  # within a DR user's clearance: stored at the marking shown, never NP
        assert low.label == shown == "DIFFUSION RESTREINTE"
    [stored] = platform.knowledge.ingest(people["admin"], "ev", "a.txt", body(first), label=np)
    assert stored.label == shown
    assert _found(platform, people["admin"], "EVASIONTOKEN")
    for reader, _ in READERS:
        assert _found(platform, people[reader], "EVASIONTOKEN") == [], reader


# Through the API: a DR user's multipart upload labelled NP is never stored NON PROTÉGÉ.
@pytest.fixture
def api_site(data_dir: Path) -> Iterator[Site]:
    site = build_site(data_dir)
    identity, policies = site.platform.identity, site.platform.policies
    for name, clearance in [("admin", "TS CRYPTO NAT FRA"), ("dr", "DR NAT FRA"), *READERS]:
        identity.add_user(
            "test",
            name,
            clearance=policies.parse_clearance(clearance),
            roles=[Role.ANALYST, Role.ADMIN] if name == "admin" else [Role.ANALYST],
            organisation="DRM",
        )
        _, site.tokens[name] = identity.create_key("test", name)
    site.platform.knowledge.create_collection(identity.principal("admin"), "c")
    yield site
    site.platform.close()


@pytest.mark.parametrize(("first", "shows"), EVASIONS, ids=ascii)
def test_api_upload_by_a_low_cleared_user_is_never_stored_np(
    api_site: Site, first: str, shows: str
) -> None:
    site = api_site
    with site.client() as client:
        refused = client.post(
            "/v1/documents",
            files={"file": ("note.txt", body(first), "text/plain")},
            data={"collection": "c", "label": "NP"},
            headers=site.auth("dr"),
        )
        shown = R.format(R.parse(shows))
        if shown == "DIFFUSION RESTREINTE":  # within a DR user's clearance: stored at DR
            assert refused.status_code == 200 and refused.json()["data"][0]["label"] == shown
        else:
            assert refused.status_code in (400, 403), refused.text
            assert refused.json()["error"]["message"]
            assert client.get("/v1/documents", headers=site.auth("admin")).json()["data"] == []
        stored = client.post(
            "/v1/documents",
            files={"file": ("note.txt", body(first), "text/plain")},
            data={"collection": "c", "label": "NP"},
            headers=site.auth("admin"),
        )
        assert stored.status_code == 200, stored.text
        assert stored.json()["data"][0]["label"] == shown
        for reader, _ in READERS:
            listing = client.get("/v1/documents", headers=site.auth(reader))
            assert listing.status_code == 200 and listing.json()["data"] == [], reader


@pytest.mark.parametrize(
    "brk", ["\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
)
def test_a_banner_after_any_line_boundary_labels_a_document(brk: str) -> None:
    from egide.knowledge.extract.model import ExtractedDocument, Segment

    text = f"Rapport de situation{brk}SECRET{brk}CLOU-7 arrivé à Marsk."
    document = ExtractedDocument(
        kind="text", filename="r.txt", title="", text=text, segments=(Segment(text, 0, len(text)),)
    )
    found = detect_markings(document, R)
    assert found.document_label is not None and R.canonical(found.document_label) == "SECRET"
    # The pieces still cover the text at its own offsets: the banner piece is the banner.
    banner = [p for p in found.pieces if p.banner]
    assert [text[p.start : p.end] for p in banner] == ["SECRET"]
