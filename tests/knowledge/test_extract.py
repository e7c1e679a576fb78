"""Extraction of every supported format, marking detection and chunking, on real files."""

from __future__ import annotations

import io
from email.message import EmailMessage

import pytest
from docx import Document
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from egide.core.labels import PolicyRegistry
from egide.errors import InvalidInput, PayloadTooLarge
from egide.knowledge.chunking import chunk_document
from egide.knowledge.extract import detect, extract
from egide.knowledge.markings import detect_markings
from tests.knowledge import formats

R = PolicyRegistry.builtin()


def make_pdf(pages: list[list[str]], banner: str | None = None) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for paragraphs in pages:
        pdf.add_page()
        if banner:
            pdf.multi_cell(0, 6, banner)
            pdf.ln(6)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6, paragraph)
            pdf.ln(6)
    return bytes(pdf.output())


def make_docx() -> bytes:
    document = Document()
    document.sections[0].header.paragraphs[0].text = "DIFFUSION RESTREINTE"
    document.add_heading("Rapport de situation", level=1)
    document.add_paragraph("(DR) Le convoi logistique a atteint le point de ravitaillement.")
    document.add_heading("Maintenance", level=2)
    document.add_paragraph("Deux véhicules VBCI nécessitent un remplacement de chenilles.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_every_position_is_exact() -> None:
    samples = {
        "a.txt": b"SECRET\n\nPremier paragraphe.\n\nSecond paragraphe.\n",
        "b.md": b"# Titre\n\nTexte sous le titre.\n\n## Sous-partie\n\nSuite.",
        "c.html": b"<html><head><title>Page</title><script>x()</script></head><body>"
        b"<h1>Head</h1><p>One <b>bold</b> para.</p><p>Two.</p></body></html>",
        "d.pdf": make_pdf([["Page one text."], ["Page two text."]]),
        "e.docx": make_docx(),
    }
    for name, data in samples.items():
        document = extract(data, name)
        assert document.segments, name
        for segment in document.segments:
            assert document.text[segment.start : segment.end] == segment.text, name


def test_formats_keep_structure() -> None:
    md = extract(b"# Titre\n\nTexte.\n\n## Sous\n\nSuite.", "x.md")
    assert md.title == "Titre" and md.segments[-1].section == ("Titre", "Sous")
    html = extract(
        b"<html><title>T</title><script>evil()</script><h2>S</h2><p>Body</p></html>", "x.html"
    )
    assert "evil" not in html.text and html.segments[-1].section == ("S",)
    pdf = extract(make_pdf([["First page."], ["Second page."]]), "x.pdf")
    assert [s.page for s in pdf.segments] == [1, 2]
    docx = extract(make_docx(), "x.docx")
    assert docx.segments[-1].section == ("Rapport de situation", "Maintenance")


def test_email_with_attachments() -> None:
    message = EmailMessage()
    message["From"] = "cdt@example.mil"
    message["To"] = "eml@example.mil"
    message["Subject"] = "SITREP 42"
    message.set_content("DIFFUSION RESTREINTE\n\nRien à signaler sur l'axe nord.\n")
    message.add_attachment(
        make_pdf([["Annexe en PDF."]]), maintype="application", subtype="pdf", filename="annexe.pdf"
    )
    message.add_attachment(b"Note jointe.", maintype="text", subtype="plain", filename="note.txt")
    document = extract(message.as_bytes(), "msg.eml")
    assert document.title == "SITREP 42"
    assert document.metadata["from"] == "cdt@example.mil"
    assert [a.filename for a in document.attachments] == ["annexe.pdf", "note.txt"]
    assert "Annexe en PDF." in document.attachments[0].text


def test_bad_files_get_clear_errors() -> None:
    with pytest.raises(PayloadTooLarge, match="limit"):
        extract(b"x" * 101, "big.txt", max_bytes=100)
    with pytest.raises(InvalidInput, match="empty"):
        extract(b"  \n", "blank.txt")
    with pytest.raises(InvalidInput, match="cannot be ingested"):
        extract(b"\x00\x01binary", "x.bin")
    with pytest.raises(InvalidInput, match="not a readable PDF"):
        extract(b"%PDF-1.7\ngarbage", "broken.pdf")
    with pytest.raises(InvalidInput, match="not a readable DOCX"):
        extract(b"PK\x03\x04garbage", "broken.docx")
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([["Confidential."]]))))
    writer.encrypt("secret-password")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(InvalidInput, match="encrypted"):
        extract(out.getvalue(), "locked.pdf")
    assert detect(b"hello", "notes") == "text"


def test_banners_and_portions_are_detected() -> None:
    text = (
        "SECRET SPÉCIAL FRANCE\n\n"
        "(DR) Le dépôt de carburant est à 40 %.\n\n"
        "Ce paragraphe parle d'un secret de fabrication sans être un bandeau.\n\n"
        "(NS//REL TO FRA, DEU) Position de la brigade alliée.\n\n"
        "CLASSIFICATION: SECRET SPÉCIAL FRANCE"
    )
    document = extract(text.encode(), "note.txt")
    found = detect_markings(document, R)
    # FR SECRET is national by itself: SPÉCIAL FRANCE is implied, not written.
    assert [R.format(b.label) for b in found.banners] == ["SECRET"] * 2
    labels = {
        document.text[p.start : p.end][:4]: R.format(p.label) for p in found.pieces if p.label
    }
    # The document portion-marks releasability (REL TO FRA, DEU), so (DR) means no release
    # restriction of its own; unmarked prose takes the document's label.
    assert labels == {
        "(DR)": "DIFFUSION RESTREINTE",
        "Ce p": "NATO SECRET REL TO FRA",
        "(NS/": "NATO SECRET REL TO DEU, FRA",
    }
    assert R.format(found.document_label) == "NATO SECRET REL TO FRA"


def test_prose_mentioning_secret_is_not_a_banner() -> None:
    document = extract(
        b"Le secret de la reussite est la preparation.\n\nTop secret plans.", "prose.txt"
    )
    assert detect_markings(document, R).document_label is None


def test_pdf_page_banners() -> None:
    data = make_pdf([["Situation calme."], ["Patrouille terminee."]], banner="DIFFUSION RESTREINTE")
    found = detect_markings(extract(data, "p.pdf"), R)
    assert len(found.banners) == 2 and R.format(found.document_label) == "DIFFUSION RESTREINTE"


def test_chunks_keep_provenance_and_label_purity() -> None:
    paragraphs = [f"(DR) Paragraphe restreint numéro {i}. " + "mot " * 40 for i in range(3)]
    paragraphs += ["(S) Paragraphe secret. " + "mot " * 30]
    paragraphs += ["Phrase longue. " * 150]
    document = extract("\n\n".join(["SECRET", *paragraphs]).encode(), "c.txt")
    markings = detect_markings(document, R)
    chunks = chunk_document(document, markings, max_words=100)
    assert chunks
    for chunk in chunks:
        assert document.text[chunk.start : chunk.end] == chunk.text
        assert len(chunk.text.split()) <= 100 + 2
        assert chunk.text != "SECRET"
    labels = [R.format(c.label) if c.label else None for c in chunks]
    assert labels[0] == "DIFFUSION RESTREINTE" and "SECRET" in labels
    secret = next(c for c in chunks if c.label and R.format(c.label) == "SECRET")
    assert "restreint" not in secret.text
    by_text = {c.text: c.content_hash for c in chunks}
    assert len(set(by_text.values())) == len(by_text)
    assert all(by_text[c.text] == c.content_hash for c in chunks)


def test_docx_comments_and_identifier_are_carried_and_a_broken_comments_part_is_refused() -> None:
    data = formats.with_comments(formats.simple_docx("texte"), "à revoir\nTRÈS SECRET")
    carried = {(c.source, c.text) for c in extract(data, "c.docx").carried}
    assert ("DOCX comment 1", "à revoir\nTRÈS SECRET") in carried
    broken = formats.add_member(formats.simple_docx("texte"), "word/comments.xml", b"<w:comments")
    with pytest.raises(InvalidInput, match=r"c\.docx: its part word/comments\.xml is not well"):
        extract(broken, "c.docx")
