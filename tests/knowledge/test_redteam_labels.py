"""Red-team findings on label handling (issue 11 follow-up): each case leaked once.

Every test ingests a real file through the knowledge service and checks what a
reader finds; a refusal of the file is an acceptable (fail-secure) answer
unless the test says the marking must be read.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import docx
import pytest
from fpdf import FPDF

from egide.app import Platform
from egide.core.labels import PolicyRegistry
from egide.core.principals import Principal, Role
from egide.errors import InvalidInput, InvalidLabel
from egide.knowledge.extract import extract
from egide.knowledge.markings import classify_line, detect_markings
from egide.settings import Settings

R = PolicyRegistry.builtin()


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
        ("admin", "TS CRYPTO NUCLÉAIRE NAT FRA, DEU, POL", [Role.ADMIN, Role.ANALYST]),
        ("dr", "DR", [Role.ANALYST]),
        ("gbr", "NATO SECRET NAT GBR, NATO", [Role.ANALYST]),
        ("deu", "NATO SECRET NAT DEU", [Role.ANALYST]),
    ]:
        clearance_label = policies.parse_clearance(clearance)
        platform.identity.add_user("t", name, clearance=clearance_label, roles=roles)
    platform.knowledge.create_collection(platform.identity.principal("admin"), "rt")
    return {n: platform.identity.principal(n) for n in ("admin", "dr", "gbr", "deu")}


def visible(platform: Platform, who: Principal, token: str) -> list[str]:
    """The passages holding `token` that `who` finds."""
    hits = platform.knowledge.search(who, token, collection="rt", mode="fulltext", k=20)
    return [h.text for h in hits if token.lower() in h.text.lower()]


def ingested(platform: Platform, people: dict[str, Principal], name: str, body: bytes) -> bool:
    """True when ingested, False when refused (a refusal is fail secure)."""
    try:
        platform.knowledge.ingest(people["admin"], "rt", name, body)
    except InvalidInput:
        return False
    return True


def label_of(body: bytes, filename: str) -> str:
    """The document label Égide reads from a file."""
    found = detect_markings(extract(body, filename), R).document_label
    assert found is not None
    return R.format(found)


# F1: an obfuscated banner was skipped; the (DR) portion then labelled the document.
OBFUSCATED = [
    "S\u0415CR\u0415T",  # Cyrillic Е
    "\u0405ECRET",  # Cyrillic Ѕ
    "SECR\u0395T",  # Greek Ε
    "SE\u200bCRET",
    "SE\u200cCRET",
    "SE\u200dCRET",
    "SE\u2060CRET",
    "\ufeffSECRET",
    "SE\u00adCRET",
    "//SECRET//",
    "// SECRET //",
    "S E C R E T",
    "T R È S  S E C R E T",
    "ＳＥＣＲＥＴ",  # full width
]


@pytest.mark.parametrize("banner", OBFUSCATED, ids=ascii)
def test_obfuscated_banner_does_not_lower_the_label(
    platform: Platform, people: dict[str, Principal], banner: str
) -> None:
    body = f"{banner}\n\n(DR) Convoi ordinaire.\n\nLe plan ZULUTOKEN vise la centrale.\n"
    if ingested(platform, people, "f1.txt", body.encode()):
        assert visible(platform, people["dr"], "ZULUTOKEN") == []


@pytest.mark.parametrize(
    ("banner", "expected"),
    [
        ("S\u0415CR\u0415T", "SECRET"),
        ("SE\u200bCRET", "SECRET"),
        ("SE\u00adCRET", "SECRET"),
        ("//SECRET//", "SECRET"),
        ("S E C R E T", "SECRET"),
        ("ＴＲÈＳ ＳＥＣＲＥＴ", "TRÈS SECRET"),
        ("D I F F U S I O N  R E S T R E I N T E", "DIFFUSION RESTREINTE"),
    ],
    ids=ascii,
)
def test_obfuscated_banner_is_read(banner: str, expected: str) -> None:
    assert classify_line(banner, R, "body") == ("banner", R.parse(expected))


@pytest.mark.parametrize(
    "line", ["S\u0415CR\u0415T GARBAGE WORDS", "//SECRET//XYZZY//", "T\u200bRES SECRET FOO BAR"]
)
def test_folded_marking_that_does_not_parse_is_refused(line: str) -> None:
    with pytest.raises(InvalidLabel, match="looks like a classification marking"):
        classify_line(line, R, "body")


@pytest.mark.parametrize(
    "line",
    [
        "Le secret de la réussite est la préparation.",
        "DR CONGO : point de situation",
        "S E C T E U R nord",
        "A B C",
        "Secret de fabrication",
    ],
)
def test_prose_stays_text(line: str) -> None:
    assert classify_line(line, R, "body") is None


# F2: e-mail markings in the HTML alternative and behind any reply prefix.
def test_email_html_alternative_banner(platform: Platform, people: dict[str, Principal]) -> None:
    message = MIMEMultipart("alternative")
    message["Subject"] = "Point logistique"
    plain = "(DR) Convoi.\n\nLe plan ALTTOKEN vise la centrale.\n"
    html = "<p>TRÈS SECRET</p><p>(DR) Convoi.</p><p>Le plan ALTTOKEN vise la centrale.</p>"
    message.attach(MIMEText(plain, "plain", "utf-8"))
    message.attach(MIMEText(html, "html", "utf-8"))
    assert label_of(message.as_bytes(), "f2.eml") == R.format(R.parse("TRÈS SECRET"))
    if ingested(platform, people, "f2.eml", message.as_bytes()):
        assert visible(platform, people["dr"], "ALTTOKEN") == []


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>(TS) Le plan ALTTOKEN vise la centrale.</p>", "TRÈS SECRET"),
        ("<p>Classification : SECRET</p><p>Le plan ALTTOKEN.</p>", "SECRET"),
        ("<div><span>SECRET</span></div><p>Le plan ALTTOKEN.</p>", "SECRET"),
    ],
)
def test_email_every_text_part_is_read(html: str, expected: str) -> None:
    message = MIMEMultipart("mixed")
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText("(DR) Convoi.\n\nLe plan ALTTOKEN.\n", "plain", "utf-8"))
    alternative.attach(MIMEText(html, "html", "utf-8"))
    message.attach(alternative)
    message["Subject"] = "Point"
    assert label_of(message.as_bytes(), "alt.eml") == R.format(R.parse(expected))


@pytest.mark.parametrize(
    "prefix",
    [
        "AW:",
        "WG:",
        "SV:",
        "VS:",
        "Antw:",
        "TR:",
        "RE:",
        "Fwd:",
        "FW:",
        "aw :",
        "AW: WG: Re:",
        "sv:",
    ],
)
def test_email_subject_reply_prefix(
    platform: Platform, people: dict[str, Principal], prefix: str
) -> None:
    message = MIMEText("(DR) Convoi.\n\nLe plan SUBJTOKEN vise la centrale.\n", "plain", "utf-8")
    message["Subject"] = f"{prefix} [SECRET] Plan"
    assert label_of(message.as_bytes(), "f2.eml") == R.format(R.parse("SECRET"))
    if ingested(platform, people, "f2b.eml", message.as_bytes()):
        assert visible(platform, people["dr"], "SUBJTOKEN") == []


# F3: Markdown renderings of a banner.
@pytest.mark.parametrize(
    "banner", ["> SECRET", "`SECRET`", "**SECRET**", "# SECRET", "- SECRET", "> **SECRET**"]
)
def test_markdown_banner_forms(
    platform: Platform, people: dict[str, Principal], banner: str
) -> None:
    body = f"(DR) Convoi ordinaire.\n\n{banner}\n\nLe plan MDTOKEN vise la centrale.\n"
    assert label_of(body.encode(), "f3.md") == R.format(R.parse("SECRET"))
    if ingested(platform, people, "f3.md", body.encode()):
        assert visible(platform, people["dr"], "MDTOKEN") == []


# F4: keyword fields are read value by value; the most restrictive wins in any order.
KEYWORDS = [
    "logistique, TRÈS SECRET",
    "logistique TRÈS SECRET",
    "SECRET REL TO DEU, FRA; TRÈS SECRET",
    "TRÈS SECRET,logistique",
    "DR; logistique, TRÈS SECRET",
]


def _docx(keywords: str) -> bytes:
    document = docx.Document()
    document.add_paragraph("(DR) Convoi.")
    document.add_paragraph("Le plan KWTOKEN vise la centrale.")
    document.core_properties.keywords = keywords
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _html(keywords: str) -> bytes:
    return (
        f"<html><head><meta name='keywords' content='{keywords}'></head>"
        "<body><p>(DR) Convoi.</p><p>Le plan KWTOKEN vise.</p></body></html>"
    ).encode()


def _pdf(keywords: str) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    pdf.set_keywords(keywords.replace("È", "E"))
    pdf.add_page()
    pdf.cell(0, 8, "(DR) Convoi.", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 8, "Le plan KWTOKEN vise la centrale.")
    return bytes(pdf.output())


@pytest.mark.parametrize("keywords", KEYWORDS)
@pytest.mark.parametrize(("build", "suffix"), [(_docx, "docx"), (_html, "html"), (_pdf, "pdf")])
def test_keyword_fields_read_value_by_value(keywords: str, build: object, suffix: str) -> None:
    assert callable(build)
    data = build(keywords)
    assert isinstance(data, bytes)
    assert label_of(data, f"f4.{suffix}") == R.format(R.parse("TRÈS SECRET"))


def test_keyword_docx_leaks_nothing(platform: Platform, people: dict[str, Principal]) -> None:
    if ingested(platform, people, "f4.docx", _docx("logistique, TRÈS SECRET")):
        assert visible(platform, people["dr"], "KWTOKEN") == []


# F5: an (NP) portion keeps the release restriction its banner writes out.
@pytest.mark.parametrize(
    "banner", ["SECRET SPÉCIAL FRANCE", "SECRET REL TO DEU", "SECRET – SPÉCIAL FRANCE"]
)
def test_np_portion_keeps_banner_release(
    platform: Platform, people: dict[str, Principal], banner: str
) -> None:
    body = f"{banner}\n\n(NP) Communiqué NPTOKEN.\n\n(DR) Convoi.\n"
    if ingested(platform, people, "f5.txt", body.encode()):
        assert visible(platform, people["gbr"], "NPTOKEN") == []
        if "DEU" not in banner:
            assert visible(platform, people["deu"], "NPTOKEN") == []
        assert visible(platform, people["admin"], "NPTOKEN") != []


def test_np_portion_released_when_portions_mark_release(
    platform: Platform, people: dict[str, Principal]
) -> None:
    # The document visibly portion-marks releasability: an unmarked (NP) means "no REL TO".
    body = "SECRET REL TO DEU\n\n(NP) Communiqué PUBTOKEN.\n\n(S//REL TO DEU) Convoi.\n"
    assert ingested(platform, people, "f5b.txt", body.encode())
    assert visible(platform, people["dr"], "PUBTOKEN") != []


# F6: lower-case portion marks are portion marks.
@pytest.mark.parametrize("mark", ["(ts)", "(s)", "(Ts)", "(tS)"])
def test_lowercase_portion_marks(
    platform: Platform, people: dict[str, Principal], mark: str
) -> None:
    body = f"DIFFUSION RESTREINTE\n\n{mark} Le plan LOWTOKEN est prêt.\n"
    if ingested(platform, people, "f6.txt", body.encode()):
        assert visible(platform, people["dr"], "LOWTOKEN") == []


@pytest.mark.parametrize(("mark", "expected"), [("(dr)", "DR"), ("(np)", "NP"), ("(ns)", "NS")])
def test_lowercase_portion_marks_are_read(mark: str, expected: str) -> None:
    body = f"{mark} Convoi LOWTOKEN.\n".encode()
    assert label_of(body, "f6.txt") == R.format(R.parse_portion(f"({expected.upper()})"))


# F7 (partial): a readable passage of a document the reader may not read withholds its id.
def test_hidden_document_id_is_withheld(platform: Platform, people: dict[str, Principal]) -> None:
    body = "SECRET\n\n(DR) Convoi HIDDENIDTOKEN ordinaire.\n\nLe plan vise la centrale.\n"
    assert ingested(platform, people, "f7.txt", body.encode())
    low = platform.knowledge.search(people["dr"], "HIDDENIDTOKEN", collection="rt", mode="fulltext")
    assert low and all(h.document_id is None and not h.document_title for h in low)
    high = platform.knowledge.search(
        people["admin"], "HIDDENIDTOKEN", collection="rt", mode="fulltext"
    )
    assert high and all(isinstance(h.document_id, int) for h in high)


@pytest.mark.parametrize(
    "line",
    ["(\u0405) Le plan OBFTOKEN.", "(S\u200b) Le plan OBFTOKEN.", "(\u0422S) Le plan OBFTOKEN."],
    ids=ascii,
)
def test_obfuscated_portion_mark_is_read(line: str) -> None:
    body = f"DIFFUSION RESTREINTE\n\n{line}\n".encode()
    document = extract(body, "p.txt")
    markings = detect_markings(document, R)
    labels = [p.label for p in markings.pieces if "OBFTOKEN" in document.text[p.start : p.end]]
    assert labels and all(lb is not None and lb.level >= R.parse("SECRET").level for lb in labels)


def test_obfuscated_mark_within_a_line_raises_the_rest() -> None:
    body = "DIFFUSION RESTREINTE\n\n(DR) Convoi ordinaire (\u0405) plan OBFTOKEN.\n".encode()
    document = extract(body, "p.txt")
    pieces = detect_markings(document, R).pieces
    secret = [p for p in pieces if "OBFTOKEN" in document.text[p.start : p.end]]
    assert secret and all(p.label == R.parse("SECRET") for p in secret)
    assert document.text[secret[0].start :].startswith("(\u0405)")
