"""Text and positions from PDF, DOCX, HTML, Markdown, plain text and e-mail.

`extract` detects the type from the file's first bytes (its extension only
breaks ties between text formats) and hands it to the extractor registered for
that type. Every failure is an `InvalidInput` (or `PayloadTooLarge`) whose
message names the file and says what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import PurePath

from egide.errors import InvalidInput, PayloadTooLarge
from egide.knowledge.extract.docx import extract_docx
from egide.knowledge.extract.eml import extract_eml
from egide.knowledge.extract.html import extract_html
from egide.knowledge.extract.limits import ExpansionLimits, check_archive
from egide.knowledge.extract.model import Carried, DocumentBuilder, ExtractedDocument, Segment
from egide.knowledge.extract.pdf import extract_pdf
from egide.knowledge.extract.text import extract_markdown, extract_text

__all__ = [
    "EXTRACTORS",
    "Carried",
    "DocumentBuilder",
    "ExpansionLimits",
    "ExtractedDocument",
    "Segment",
    "detect",
    "extract",
]

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


def extract(
    data: bytes,
    filename: str,
    *,
    max_bytes: int | None = None,
    limits: ExpansionLimits | None = None,
    depth: int = 0,
) -> ExtractedDocument:
    """Extract one file (and, for e-mail, its attachments).

    `limits` bounds the file and what it may expand into (`max_bytes`, when
    given, overrides its `max_bytes`); `depth` is the file's attachment depth.

    Raises:
        PayloadTooLarge: larger than allowed, as received or once inflated.
        InvalidInput: unsupported, corrupt, encrypted, empty, a decompression
            bomb, or attachments nested too deep.
    """
    limits = limits or ExpansionLimits()
    if max_bytes is not None:
        limits = replace(limits, max_bytes=max_bytes)
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(
            f"{filename} is {len(data):,} bytes, over the {limits.max_bytes:,}-byte limit "
            "(EGIDE_MAX_DOCUMENT_BYTES); split it or raise the limit"
        )
    if depth > limits.max_depth:
        raise InvalidInput(
            f"{filename} is an attachment nested {depth} deep, over the limit of "
            f"{limits.max_depth}; extract it and ingest it on its own"
        )
    if not data.strip():
        raise InvalidInput(f"{filename} is empty; nothing to ingest")
    kind = detect(data, filename)
    if data.startswith(b"PK"):
        check_archive(data, filename, limits)
    extractors = dict(EXTRACTORS)
    extractors["eml"] = partial(
        extract_eml, extract_attachment=partial(extract, limits=limits, depth=depth + 1)
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
