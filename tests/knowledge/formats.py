"""Builders of small real files in every ingested format, for marking and leak tests."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from docx import Document
from docx.document import Document as DocumentObject
from docx.shared import Inches
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter


def pdf(
    pages: list[list[str]],
    *,
    title: str | None = None,
    subject: str | None = None,
    keywords: str | None = None,
    extra: dict[str, str] | None = None,
) -> bytes:
    """A PDF: each page a list of paragraphs (a paragraph's own newlines stay lines)."""
    document = FPDF()
    document.set_font("helvetica", size=11)
    if title:
        document.set_title(title)
    if subject:
        document.set_subject(subject)
    if keywords:
        document.set_keywords(keywords)
    for paragraphs in pages:
        document.add_page()
        for paragraph in paragraphs:
            document.multi_cell(0, 6, paragraph)
            document.ln(6)
    data = bytes(document.output())
    if not extra:
        return data
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.add_metadata(extra)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx(
    build: Callable[[DocumentObject], object],
    *,
    custom: dict[str, str] | None = None,
) -> bytes:
    """A DOCX made by `build`; `custom` adds docProps/custom.xml properties."""
    document = Document()
    build(document)
    out = io.BytesIO()
    document.save(out)
    if not custom:
        return out.getvalue()
    props = "".join(
        f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="{i + 2}" name="{k}">'
        f"<vt:lpwstr>{v}</vt:lpwstr></property>"
        for i, (k, v) in enumerate(custom.items())
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"'
        ' xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        f"{props}</Properties>"
    )
    return add_member(out.getvalue(), "docProps/custom.xml", xml.encode())


def add_member(data: bytes, name: str, content: bytes) -> bytes:
    """`data` (a ZIP) with one more member."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            target.writestr(item, source.read(item.filename))
        target.writestr(name, content)
    return out.getvalue()


def simple_docx(*paragraphs: str, header: str | None = None) -> bytes:
    """A DOCX of plain paragraphs (newlines become soft line breaks), optional header."""

    def build(document: DocumentObject) -> None:
        if header:
            document.sections[0].header.paragraphs[0].text = header
        for text in paragraphs:
            paragraph = document.add_paragraph()
            for i, line in enumerate(text.split("\n")):
                run = paragraph.add_run(line)
                if i < len(text.split("\n")) - 1:
                    run.add_break()

    return docx(build)


def header_table_docx(banner: str, *paragraphs: str) -> bytes:
    """A DOCX whose only banner is in a table of the first-page header."""

    def build(document: DocumentObject) -> None:
        section = document.sections[0]
        section.different_first_page_header_footer = True
        table = section.first_page_header.add_table(rows=1, cols=2, width=Inches(6))
        table.cell(0, 0).text = "Ministère des Armées"
        table.cell(0, 1).text = banner
        for text in paragraphs:
            document.add_paragraph(text)

    return docx(build)


def eml(
    body: str,
    *,
    subject: str = "Compte rendu",
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
    html: str | None = None,
) -> bytes:
    """An e-mail with a text (or HTML) body and attachments."""
    message = EmailMessage()
    message["From"] = "cdt@example.mil"
    message["To"] = "eml@example.mil"
    message["Subject"] = subject
    for name, value in (headers or {}).items():
        message[name] = value
    if html is not None:
        message.set_content(html, subtype="html")
    else:
        message.set_content(body)
    for filename, data in attachments:
        if filename.endswith(".eml"):
            inner = BytesParser(policy=policy.default).parsebytes(data)
            message.add_attachment(inner, filename=filename)
        else:
            message.add_attachment(
                data, maintype="application", subtype="octet-stream", filename=filename
            )
    return message.as_bytes()


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_COMMENTS_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml"
_COMMENTS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments"


def with_comments(data: bytes, *comments: str) -> bytes:
    """`data` (a DOCX) with review comments, wired as Word writes them (part, type, relation)."""
    body = "".join(
        f'<w:comment w:id="{i}" w:author="relecteur" w:initials="R">'
        + "".join(f"<w:p><w:r><w:t>{line}</w:t></w:r></w:p>" for line in text.split("\n"))
        + "</w:comment>"
        for i, text in enumerate(comments)
    )
    xml = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:comments xmlns:w="{_W}">'
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "[Content_Types].xml":
                override = (
                    f'<Override PartName="/word/comments.xml" ContentType="{_COMMENTS_TYPE}"/>'
                )
                content = content.replace(b"</Types>", override.encode() + b"</Types>")
            elif item.filename == "word/_rels/document.xml.rels":
                relation = (
                    f'<Relationship Id="rIdC1" Type="{_COMMENTS_REL}" Target="comments.xml"/>'
                )
                content = content.replace(
                    b"</Relationships>", relation.encode() + b"</Relationships>"
                )
            target.writestr(item, content)
        target.writestr("word/comments.xml", (xml + body + "</w:comments>").encode())
    return out.getvalue()
