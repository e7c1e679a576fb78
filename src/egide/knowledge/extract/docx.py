"""Word documents (DOCX) through python-docx; heading styles open sections.

Body paragraphs and tables are read in document order; every other paragraph
of the body (text boxes, content controls) follows. Banners are looked for in
every place Word keeps them: the headers and footers of every kind (default,
first page, even pages — tables and text boxes included), the comments, the
core properties (the `identifier` too) and the custom properties named like a
classification.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator

from docx import Document
from docx.document import Document as DocumentObject
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn
from docx.oxml.text.paragraph import CT_P
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml import etree

from egide.errors import InvalidInput
from egide.knowledge.extract.model import DocumentBuilder, ExtractedDocument

_HEADING_STYLE = re.compile(r"^(?:heading|titre)\s*(\d)$", re.IGNORECASE)
_PARTS = (
    ("header", "header"),
    ("first_page_header", "first-page header"),
    ("even_page_header", "even-page header"),
    ("footer", "footer"),
    ("first_page_footer", "first-page footer"),
    ("even_page_footer", "even-page footer"),
)
_PROPERTIES = (
    "title",
    "subject",
    "keywords",
    "category",
    "comments",
    "content_status",
    "identifier",
)
_MARKING_NAME = re.compile(r"classif|marking|marquage", re.IGNORECASE)


def extract_docx(data: bytes, filename: str) -> ExtractedDocument:
    """Extract a DOCX file: body in order, then its other paragraphs; banners from everywhere."""
    try:
        document = Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise InvalidInput(
            f"{filename} is not a readable DOCX ({type(error).__name__}); save it again as .docx"
        ) from None
    builder = DocumentBuilder("docx", filename)
    seen: set[etree._Element] = set()
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            seen.add(block._p)
            _paragraph(builder, block)
        else:
            _table(builder, block, seen)
    # Text boxes, content controls…: every paragraph of the body is text to label.
    for element in document.element.body.iter(qn("w:p")):
        if element not in seen:
            builder.add(_text(element))
    _carry_headers(builder, document)
    properties = document.core_properties
    for name in _PROPERTIES:
        builder.carry(f"DOCX property {name}", getattr(properties, name, None))
    for name, value in _custom_properties(data, filename):
        builder.carry(f"DOCX custom property {name}", value, explicit=True)
    for number, text in enumerate(_comments(data, filename), start=1):
        builder.carry(f"DOCX comment {number}", text)
    return builder.build(title=properties.title or filename)


def _paragraph(builder: DocumentBuilder, paragraph: Paragraph) -> None:
    style = paragraph.style.name if paragraph.style is not None else ""
    match = _HEADING_STYLE.match(style or "")
    if match:
        builder.heading(int(match.group(1)), paragraph.text)
    elif style == "Title":
        builder.heading(1, paragraph.text)
    else:
        builder.add(paragraph.text)


def _table(builder: DocumentBuilder, table: Table, seen: set[etree._Element]) -> None:
    # One segment per row, one line per cell paragraph: each cell keeps its own marks.
    for row in table.rows:
        lines = []
        for element in row._tr.iter(qn("w:p")):
            seen.add(element)
            lines.append(_text(element))
        builder.add("\n".join(lines))


def _carry_headers(builder: DocumentBuilder, document: DocumentObject) -> None:
    for number, section in enumerate(document.sections, start=1):
        for attribute, kind in _PARTS:
            part = getattr(section, attribute)
            if part.is_linked_to_previous:
                continue  # the previous section's (or none), already read
            for text in _texts(part._element.iter(qn("w:p"))):
                builder.carry(f"DOCX section {number} {kind}", text)


def _texts(elements: Iterator[etree._Element]) -> Iterator[str]:
    for element in elements:
        text = _text(element)
        if text.strip():
            yield text


def _text(element: etree._Element) -> str:
    # python-docx reads w:p elements as CT_P: runs, tabs and line breaks ("\n") as Word shows them.
    return element.text if isinstance(element, CT_P) else ""


def _part(data: bytes, name: str, filename: str) -> etree._Element | None:
    """The XML part `name` of the package, if it has one (entities never resolved)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if name not in archive.namelist():
            return None
        content = archive.read(name)
    try:
        return etree.fromstring(
            content, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        )
    except etree.XMLSyntaxError:
        # A part that may hold a marking and cannot be read: refuse, never skip.
        raise InvalidInput(
            f"{filename}: its part {name} is not well-formed XML; save the file again as .docx"
        ) from None


def _comments(data: bytes, filename: str) -> list[str]:
    """The text of each review comment (Word shows them in the margin), one line a paragraph."""
    root = _part(data, "word/comments.xml", filename)
    if root is None:
        return []
    found = []
    for comment in root.iter(qn("w:comment")):
        lines = (
            "".join(node.text or "" for node in paragraph.iter(qn("w:t")))
            for paragraph in comment.iter(qn("w:p"))
        )
        found.append("\n".join(lines))
    return found


def _custom_properties(data: bytes, filename: str) -> list[tuple[str, str]]:
    """Custom properties whose name says they hold a classification ("Classification")."""
    root = _part(data, "docProps/custom.xml", filename)
    if root is None:
        return []
    found = []
    for prop in root:
        name = str(prop.get("name") or "")
        if _MARKING_NAME.search(name):
            found.append((name, " ".join(prop.itertext())))
    return found
