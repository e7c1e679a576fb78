"""Text and positions from PDF, DOCX, HTML, Markdown, plain text and e-mail.

`extract` detects the type from the file's first bytes (its extension only
breaks ties between text formats) and hands it to the extractor registered for
that type. Every failure is an `InvalidInput` (or `PayloadTooLarge`) whose
message names the file and says what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import PurePath

from egide.errors import InvalidInput, PayloadTooLarge
from egide.knowledge.extract.docx import extract_docx
from egide.knowledge.extract.eml import extract_eml
from egide.knowledge.extract.html import extract_html
from egide.knowledge.extract.model import DocumentBuilder, ExtractedDocument, Segment
from egide.knowledge.extract.pdf import extract_pdf
from egide.knowledge.extract.text import extract_markdown, extract_text

__all__ = ["EXTRACTORS", "DocumentBuilder", "ExtractedDocument", "Segment", "detect", "extract"]

Extractor = Callable[[bytes, str], ExtractedDocument]

_BY_EXTENSION = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".eml": "eml",
}


def detect(data: bytes, filename: str) -> str:
    """The file's type: by magic bytes first, by extension for text formats."""
    extension = PurePath(filename).suffix.lower()
    head = data[:2048].lstrip().lower()
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        if extension == ".docx" or b"word/" in data[:65536]:
            return "docx"
        raise _unsupported(filename, "a ZIP archive that is not a DOCX document")
    if b"\x00" in data[:4096]:
        raise _unsupported(filename, "a binary file")
    if extension in _BY_EXTENSION and _BY_EXTENSION[extension] not in ("pdf", "docx"):
        return _BY_EXTENSION[extension]
    if head.startswith((b"<!doctype html", b"<html")):
        return "html"
    if any(head.startswith(h) for h in (b"from:", b"received:", b"return-path:", b"mime-version:")):
        return "eml"
    if extension in ("", ".log", ".csv"):
        return "text"
    raise _unsupported(filename, f"type {extension or 'unknown'}")


def _unsupported(filename: str, what: str) -> InvalidInput:
    return InvalidInput(
        f"{filename} is {what}, which cannot be ingested; supported: PDF, DOCX, HTML, "
        "Markdown, plain text, e-mail (.eml)"
    )


def extract(data: bytes, filename: str, *, max_bytes: int = 50_000_000) -> ExtractedDocument:
    """Extract one file (and, for e-mail, its attachments).

    Raises:
        PayloadTooLarge: larger than `max_bytes`.
        InvalidInput: unsupported, corrupt, encrypted or empty.
    """
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"{filename} is {len(data):,} bytes, over the {max_bytes:,}-byte limit "
            "(EGIDE_MAX_DOCUMENT_BYTES); split it or raise the limit"
        )
    if not data.strip():
        raise InvalidInput(f"{filename} is empty; nothing to ingest")
    kind = detect(data, filename)
    extractors = dict(EXTRACTORS)
    extractors["eml"] = partial(
        extract_eml, extract_attachment=partial(extract, max_bytes=max_bytes)
    )
    document = extractors[kind](data, filename)
    if not document.segments and not document.attachments:
        raise InvalidInput(
            f"{filename} contains no extractable text (a scanned image?); run it through OCR first"
        )
    return document


EXTRACTORS: dict[str, Extractor] = {
    "pdf": extract_pdf,
    "docx": extract_docx,
    "html": extract_html,
    "markdown": extract_markdown,
    "text": extract_text,
}
