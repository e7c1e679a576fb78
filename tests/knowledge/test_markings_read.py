"""Markings read fail secure from every format (issue 11, findings 2, 3, 8, 9).

Each test builds a real file (fpdf2, python-docx, the e-mail package), extracts
it and reads its markings exactly as ingestion does.
"""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from docx.document import Document as DocumentObject

from egide.core.labels import PolicyRegistry
from egide.errors import InvalidInput, InvalidLabel, PayloadTooLarge
from egide.knowledge.chunking import chunk_document
from egide.knowledge.extract import ExpansionLimits, extract
from egide.knowledge.markings import DetectedMarkings, detect_markings
from tests.knowledge import formats

R = PolicyRegistry.builtin()


def read(data: bytes, filename: str) -> tuple[str, DetectedMarkings]:
    document = extract(data, filename)
    return document.text, detect_markings(document, R)


def label_of(data: bytes, filename: str, needle: str) -> str:
    """The label of the chunk holding `needle` (the document's label when unmarked)."""
    document = extract(data, filename)
    markings = detect_markings(document, R)
    for chunk in chunk_document(document, markings):
        if needle in chunk.text:
            label = chunk.label or markings.document_label
            assert label is not None
            return R.format(label)
    raise AssertionError(f"{needle!r} is in no chunk")


def canon(marking: str) -> str:
    """How a marking is displayed: SPÉCIAL FRANCE is implied by a French protected level."""
    return R.format(R.parse(marking))


def document_label(data: bytes, filename: str) -> str:
    _, markings = read(data, filename)
    assert markings.document_label is not None
    return R.format(markings.document_label)


def assert_pure(data: bytes, filename: str) -> None:
    """No chunk holds both the DR text and the SECRET text."""
    document = extract(data, filename)
    chunks = chunk_document(document, detect_markings(document, R))
    for chunk in chunks:
        assert not ("alpha" in chunk.text and "bravo" in chunk.text), chunk


# 1. every line is a portion boundary ---------------------------------------------------

LINES = "(DR) alpha convoi\n(S) bravo bataillon"


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("para.txt", LINES.encode()),
        ("para.md", b"# Note\n\n" + LINES.encode()),
        ("page.pdf", formats.pdf([[LINES]])),
        ("soft.docx", formats.simple_docx(LINES)),
        ("inline.html", b"<html><body><p>(DR) alpha convoi <span>(S) bravo</span></p></body>"),
        ("glued.html", b"<html><body><p>(DR) alpha convoi<b>(S) bravo</b></p></body></html>"),
        ("br.html", b"<html><body><p>(DR) alpha convoi<br>(S) bravo</p></body></html>"),
        ("mail.eml", formats.eml(LINES)),
    ],
)
def test_a_second_mark_in_a_block_is_never_labelled_by_the_first(
    filename: str, data: bytes
) -> None:
    assert label_of(data, filename, "alpha") == canon("DIFFUSION RESTREINTE")
    assert label_of(data, filename, "bravo") == canon("SECRET")
    assert document_label(data, filename) == canon("SECRET")
    assert_pure(data, filename)


def test_a_mark_inside_a_line_raises_the_rest_but_never_lowers_it() -> None:
    data = b"SECRET\n\n(S) le bataillon (DR) bravo se regroupe"
    assert label_of(data, "x.txt", "bravo") == canon("SECRET")
    raised = b"SECRET\n\n(DR) alpha convoi (S) bravo"
    assert label_of(raised, "x.txt", "alpha") == canon("DIFFUSION RESTREINTE")
    assert label_of(raised, "x.txt", "bravo") == canon("SECRET")


def test_an_unmarked_line_after_a_portion_takes_the_document_label() -> None:
    # A wrapped PDF line cannot be told from a new unmarked paragraph: fail secure.
    data = formats.pdf([["TRÈS SECRET", "(DR) alpha convoi\nbravo suite de la ligne"]])
    assert label_of(data, "x.pdf", "alpha") == canon("DIFFUSION RESTREINTE")
    assert label_of(data, "x.pdf", "bravo") == canon("TRÈS SECRET")


# 2. a portion keeps the banner's categories -------------------------------------------


@pytest.mark.parametrize(
    ("banner", "portion", "expected"),
    [
        ("SECRET SPÉCIAL FRANCE", "(S)", "SECRET SPÉCIAL FRANCE"),
        ("SECRET SPÉCIAL FRANCE", "(DR)", "DIFFUSION RESTREINTE SPÉCIAL FRANCE"),
        ("TRÈS SECRET NUCLÉAIRE", "(DR)", "DIFFUSION RESTREINTE NUCLÉAIRE"),
        ("TRÈS SECRET", "(DR)", "DIFFUSION RESTREINTE"),
        ("NATO SECRET REL TO FRA, DEU", "(NR)", "NATO DIFFUSION RESTREINTE REL TO DEU, FRA"),
        (
            "NATO SECRET REL TO FRA, DEU",
            "(DR)",
            "NATO DIFFUSION RESTREINTE REL TO FRA",
        ),  # (DR) is French: national
        ("SECRET CRYPTO", "(S)", "SECRET CRYPTO"),
    ],
)
def test_a_portion_never_loses_a_category_of_its_banner(
    banner: str, portion: str, expected: str
) -> None:
    data = f"{banner}\n\n{portion} alpha texte\n\nbravo sans marque".encode()
    assert label_of(data, "x.txt", "alpha") == canon(expected)
    assert label_of(data, "x.txt", "bravo") == document_label(data, "x.txt")


def test_a_category_marked_in_portions_is_decided_by_the_portions() -> None:
    data = (
        "SECRET SPÉCIAL FRANCE\n\n(S//SF) alpha national\n\n(S) bravo partageable\n\n"
        "(DR//CRYPTO) charlie"
    ).encode()
    assert label_of(data, "x.txt", "alpha") == canon("SECRET SPÉCIAL FRANCE")
    assert label_of(data, "x.txt", "bravo") == canon("SECRET")
    assert label_of(data, "x.txt", "charlie") == canon("DIFFUSION RESTREINTE CRYPTO")
    assert document_label(data, "x.txt") == canon("SECRET CRYPTO SPÉCIAL FRANCE")


def test_the_document_label_joins_banner_and_portions() -> None:
    data = b"DIFFUSION RESTREINTE\n\n(TS) alpha\n\nbravo"
    assert document_label(data, "x.txt") == canon("TRÈS SECRET")
    assert label_of(data, "x.txt", "bravo") == canon("TRÈS SECRET")


# 3. banner-like lines refuse or are read in every spelling ----------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("SECRET – SPÉCIAL FRANCE", "SECRET SPÉCIAL FRANCE"),
        ("SECRET — SPÉCIAL FRANCE", "SECRET SPÉCIAL FRANCE"),
        ("SECRET - SPECIAL FRANCE", "SECRET SPÉCIAL FRANCE"),
        ("Secret Spécial France", "SECRET SPÉCIAL FRANCE"),
        ("Très Secret", "TRÈS SECRET"),
        ("*** SECRET ***", "SECRET"),
        ("Classification : Secret", "SECRET"),
        ("[SECRET]", "SECRET"),
        ("TRES SECRET - Operation HERMINE", "TRÈS SECRET"),
        ("TRÈS SECRET : Opération Hermine", "TRÈS SECRET"),
        ("NATO SECRET – Exercise Steadfast", "NATO SECRET"),
        ("« SECRET »", "SECRET"),
        ("TRÈS SECRET – " + "les unités se regroupent à Dravna " * 10, "TRÈS SECRET"),
    ],
)
def test_banner_spellings_are_read(line: str, expected: str) -> None:
    # A French (DR) line in a NATO document would be national (REL TO FRA): use (NR) there.
    portion = "(NR)" if expected.startswith("NATO") else "(DR)"
    data = f"{line}\n\n{portion} alpha texte\n\nbravo".encode()
    assert document_label(data, "x.txt") == canon(expected)
    assert label_of(data, "x.txt", "bravo") == canon(expected)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("SECRET DÉFENSE", "mark it SECRET"),
        ("Secret Défense", "mark it SECRET"),
        ("CONFIDENTIEL DÉFENSE", "mark it SECRET"),
        ("TRÈS SECRET DÉFENSE - Opération X", "mark it TRÈS SECRET"),
        ("SECRET SPÉCIAL FRANCE ET ALLIÉS", "does not parse"),
        ("SECRET NOFORN", "does not parse"),
        ("Classification: Confidential", "not a marking"),
        ("[SECRET ROUGE] Rapport", "bracketed"),
        ("(S//NOFORN) alpha", "portion mark"),
    ],
)
def test_unreadable_banners_refuse_the_document_naming_the_line(line: str, says: str) -> None:
    data = f"{line}\n\n(DR) alpha texte".encode()
    with pytest.raises(InvalidLabel, match=says) as caught:
        read(data, "x.txt")
    assert repr(line) in caught.value.message


@pytest.mark.parametrize(
    "prose",
    [
        "Le secret de la réussite est la préparation.",
        "Top secret plans.",
        "Secret défense est le titre d'un film.",
        "S.O.S reçu à 14h.",
        "(A) première option ; (B) seconde option.",
        "RAPPORT DE SITUATION",
        "DR CONGO : situation calme",
    ],
)
def test_prose_is_not_a_banner(prose: str) -> None:
    data = f"DIFFUSION RESTREINTE\n\n{prose}".encode()
    assert document_label(data, "x.txt") == canon("DIFFUSION RESTREINTE")


def test_a_title_line_stays_content_at_its_level() -> None:
    data = b"TRES SECRET - Operation HERMINE\n\n(DR) alpha convoi"
    assert label_of(data, "x.txt", "HERMINE") == canon("TRÈS SECRET")
    assert label_of(data, "x.txt", "alpha") == canon("DIFFUSION RESTREINTE")


# 4. banners from every place a format carries them ------------------------------------


def _first_page_header(document: DocumentObject) -> None:
    section = document.sections[0]
    section.different_first_page_header_footer = True
    section.first_page_header.paragraphs[0].text = "TRÈS SECRET"
    document.add_paragraph("(DR) alpha convoi")


def _even_footer(document: DocumentObject) -> None:
    document.settings.odd_and_even_pages_header_footer = True
    document.sections[0].even_page_footer.paragraphs[0].text = "SECRET SPÉCIAL FRANCE"
    document.add_paragraph("(S) alpha convoi")


def _property(name: str, value: str) -> bytes:
    def build(document: DocumentObject) -> None:
        setattr(document.core_properties, name, value)
        document.add_paragraph("(DR) alpha convoi")

    return formats.docx(build)


@pytest.mark.parametrize(
    ("filename", "data", "expected"),
    [
        ("first.docx", formats.docx(_first_page_header), "TRÈS SECRET"),
        ("even.docx", formats.docx(_even_footer), "SECRET SPÉCIAL FRANCE"),
        ("table.docx", formats.header_table_docx("SECRET", "(DR) alpha convoi"), "SECRET"),
        ("title.docx", _property("title", "TRES SECRET - Operation HERMINE"), "TRÈS SECRET"),
        ("subject.docx", _property("subject", "SECRET SPÉCIAL FRANCE"), "SECRET SPÉCIAL FRANCE"),
        ("keywords.docx", _property("keywords", "SECRET; logistique; Marsk"), "SECRET"),
        ("category.docx", _property("category", "Secret"), "SECRET"),
        ("comments.docx", _property("comments", "CLASSIFICATION: SECRET"), "SECRET"),
        ("status.docx", _property("content_status", "TRÈS SECRET"), "TRÈS SECRET"),
        (
            "custom.docx",
            formats.docx(
                lambda d: d.add_paragraph("(DR) alpha convoi"),
                custom={"Classification": "SECRET SPÉCIAL FRANCE"},
            ),
            "SECRET SPÉCIAL FRANCE",
        ),
        ("subject.pdf", formats.pdf([["(DR) alpha convoi"]], subject="SECRET"), "SECRET"),
        ("kw.pdf", formats.pdf([["(DR) alpha convoi"]], keywords="TRÈS SECRET"), "TRÈS SECRET"),
        (
            "title.pdf",
            formats.pdf([["(DR) alpha convoi"]], title="TRES SECRET - Operation HERMINE"),
            "TRÈS SECRET",
        ),
        (
            "meta.pdf",
            formats.pdf([["(DR) alpha convoi"]], extra={"/Classification": "SECRET"}),
            "SECRET",
        ),
        (
            "meta.html",
            b'<html><head><meta name="classification" content="SECRET SPECIAL FRANCE">'
            b"</head><body><p>(DR) alpha convoi</p></body></html>",
            "SECRET SPÉCIAL FRANCE",
        ),
        (
            "rights.html",
            b'<html><head><meta name="dc.rights" content="TRES SECRET"></head>'
            b"<body><p>(DR) alpha convoi</p></body></html>",
            "TRÈS SECRET",
        ),
        (
            "title.html",
            b"<html><head><title>[SECRET] Rapport</title></head>"
            b"<body><p>(DR) alpha convoi</p></body></html>",
            "SECRET",
        ),
        (
            "x.eml",
            formats.eml("(DR) alpha convoi", headers={"X-Classification": "TRÈS SECRET"}),
            "TRÈS SECRET",
        ),
        (
            "c.eml",
            formats.eml("(DR) alpha convoi", headers={"Classification": "SECRET SPÉCIAL FRANCE"}),
            "SECRET SPÉCIAL FRANCE",
        ),
        ("s.eml", formats.eml("(DR) alpha convoi", subject="[SECRET] Plan"), "SECRET"),
        ("r.eml", formats.eml("(DR) alpha convoi", subject="RE: SECRET – Plan Hermine"), "SECRET"),
        (
            "h.eml",
            formats.eml(
                "",
                html='<html><head><meta name="classification" content="SECRET"></head>'
                "<body><p>(DR) alpha convoi</p></body></html>",
            ),
            "SECRET",
        ),
    ],
)
def test_banners_are_read_from_every_place(filename: str, data: bytes, expected: str) -> None:
    assert document_label(data, filename) == canon(expected)
    if "(S)" not in expected:
        # The DR portion stays findable by DR readers, with the banner's categories.
        assert label_of(data, filename, "alpha").startswith(("DIFFUSION", "SECRET"))


def test_the_most_restrictive_place_wins() -> None:
    def build(document: DocumentObject) -> None:
        document.sections[0].header.paragraphs[0].text = "DIFFUSION RESTREINTE"
        document.core_properties.subject = "TRÈS SECRET"
        document.add_paragraph("SECRET")
        document.add_paragraph("bravo texte")

    assert label_of(formats.docx(build), "x.docx", "bravo") == canon("TRÈS SECRET")


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("x.eml", formats.eml("texte", headers={"X-Classification": "Confidentiel Défense"})),
        (
            "x.html",
            b'<html><head><meta name="security-classification" content="RESTRICTED">'
            b"</head><body><p>texte</p></body></html>",
        ),
        ("x.docx", _property("subject", "SECRET DÉFENSE")),
        ("x.pdf", formats.pdf([["texte"]], extra={"/Classification": "Top Secret Rouge"})),
    ],
)
def test_unreadable_carried_markings_refuse(filename: str, data: bytes) -> None:
    with pytest.raises(InvalidLabel, match="looks like a classification"):
        read(data, filename)


def test_docx_text_boxes_and_tables_are_labelled_per_cell() -> None:
    def build(document: DocumentObject) -> None:
        document.add_paragraph("SECRET")
        table = document.add_table(rows=1, cols=2)
        table.cell(0, 0).text = "(DR) alpha convoi"
        table.cell(0, 1).text = "(S) bravo bataillon"

    data = formats.docx(build)
    assert label_of(data, "t.docx", "alpha") == canon("DIFFUSION RESTREINTE")
    assert label_of(data, "t.docx", "bravo") == canon("SECRET")
    assert_pure(data, "t.docx")


# 7. headings ----------------------------------------------------------------------------


def test_a_heading_is_shown_only_beside_chunks_that_dominate_it() -> None:
    data = (
        "DIFFUSION RESTREINTE\n\n# (TS) Opération HERMINE à Dravna\n\n"
        "(DR) alpha convoi de Marsk\n\n## (DR) Logistique\n\n(DR) bravo carburant\n\n"
        "(TS) charlie frappe"
    ).encode()
    document = extract(data, "h.md")
    chunks = chunk_document(document, detect_markings(document, R))
    by_word = {w: c for c in chunks for w in ("alpha", "bravo", "charlie") if w in c.text}
    assert by_word["alpha"].section == ()
    assert by_word["bravo"].section == ("(DR) Logistique",)
    assert by_word["charlie"].section == ("(TS) Opération HERMINE à Dravna", "(DR) Logistique")
    for chunk in chunks:
        assert chunk.label is not None
        if not chunk.label.dominates(R.parse("TS")):
            assert "HERMINE" not in repr(chunk)


def test_docx_headings_follow_the_same_rule() -> None:
    def build(document: DocumentObject) -> None:
        document.add_paragraph("TRÈS SECRET")
        document.add_heading("Plan de frappe HERMINE", level=1)
        document.add_paragraph("(DR) alpha convoi")

    data = formats.docx(build)
    document = extract(data, "h.docx")
    chunks = chunk_document(document, detect_markings(document, R))
    alpha = next(c for c in chunks if "alpha" in c.text)
    assert alpha.section == () and "HERMINE" not in alpha.text


# 6. expansion limits --------------------------------------------------------------------


def bomb(size: int) -> bytes:
    """A DOCX whose document.xml is padded with `size` spaces (compresses ~1000 times)."""
    base = formats.simple_docx("SECRET", "(DR) alpha")
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(base)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "word/document.xml":
                content = content.replace(b"<w:body>", b"<w:body>" + b" " * size)
            target.writestr(item.filename, content)
    return out.getvalue()


def test_a_decompression_bomb_is_refused_before_parsing() -> None:
    data = bomb(50_000_000)
    assert len(data) < 200_000
    began = time.perf_counter()
    with pytest.raises(InvalidInput, match="decompression bomb"):
        extract(data, "bomb.docx")
    # Refused from the ZIP directory alone, not after parsing 50 MB of XML.
    assert time.perf_counter() - began < 5


def test_expansion_limits_are_configurable() -> None:
    data = bomb(2_000_000)
    tight = ExpansionLimits(max_expanded_bytes=1_000_000)
    with pytest.raises(PayloadTooLarge, match="EGIDE_MAX_EXPANDED_BYTES"):
        extract(data, "big.docx", limits=tight)
    with pytest.raises(PayloadTooLarge, match="EGIDE_MAX_ARCHIVE_MEMBERS"):
        extract(data, "big.docx", limits=ExpansionLimits(max_members=3))
    loose = ExpansionLimits(max_ratio=100_000)
    assert "alpha" in extract(data, "big.docx", limits=loose).text
    assert "alpha" in extract(formats.simple_docx("(DR) alpha"), "fine.docx").text


def test_attachment_nesting_is_capped() -> None:
    message = formats.eml("SECRET\n\ncoeur")
    for _ in range(4):
        message = formats.eml("SECRET\n\nenveloppe", attachments=[("inner.eml", message)])
    with pytest.raises(InvalidInput, match="nested"):
        extract(message, "deep.eml")
    shallow = extract(message, "deep.eml", limits=ExpansionLimits(max_depth=5))
    assert shallow.attachments[0].attachments
