"""Word documents (DOCX) through python-docx; heading styles open sections."""

from __future__ import annotations

import io
import re
import zipfile

from docx import Document
from docx.opc.exceptions import PackageNotFoundError

from egide.errors import InvalidInput
from egide.knowledge.extract.model import DocumentBuilder, ExtractedDocument

_HEADING_STYLE = re.compile(r"^(?:heading|titre)\s*(\d)$", re.IGNORECASE)


def extract_docx(data: bytes, filename: str) -> ExtractedDocument:
    """Extract a DOCX file: body paragraphs, then table cells, then header/footer banners."""
    try:
        document = Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise InvalidInput(
            f"{filename} is not a readable DOCX ({type(error).__name__}); save it again as .docx"
        ) from None
    builder = DocumentBuilder("docx", filename)
    for section in document.sections:
        for paragraph in section.header.paragraphs:
            builder.add(paragraph.text)
    for paragraph in document.paragraphs:
        match = _HEADING_STYLE.match(paragraph.style.name if paragraph.style else "")
        if match:
            builder.heading(int(match.group(1)), paragraph.text)
        elif paragraph.style is not None and paragraph.style.name == "Title":
            builder.heading(1, paragraph.text)
        else:
            builder.add(paragraph.text)
    for table in document.tables:
        for row in table.rows:
            builder.add(" | ".join(cell.text for cell in row.cells))
    for section in document.sections:
        for paragraph in section.footer.paragraphs:
            builder.add(paragraph.text)
    title = document.core_properties.title or filename
    return builder.build(title=title)
