"""Plain text and Markdown: paragraphs split on blank lines, `#` headings as sections."""

from __future__ import annotations

import re

from egide.knowledge.extract.model import DocumentBuilder, ExtractedDocument

_BLANK = re.compile(r"\n\s*\n")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


def decode(data: bytes, filename: str) -> str:
    """Text from bytes: UTF-8 (with or without BOM), else Windows-1252 as found in old archives."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def extract_text(data: bytes, filename: str) -> ExtractedDocument:
    """Extract a plain-text file."""
    builder = DocumentBuilder("text", filename)
    for paragraph in _BLANK.split(decode(data, filename)):
        builder.add(paragraph)
    return builder.build(title=filename)


def extract_markdown(data: bytes, filename: str) -> ExtractedDocument:
    """Extract a Markdown file; the first heading is the title."""
    builder = DocumentBuilder("markdown", filename)
    title = ""
    for paragraph in _BLANK.split(decode(data, filename)):
        lines = paragraph.strip().splitlines()
        body: list[str] = []
        for line in lines:
            match = _HEADING.match(line.strip())
            if match:
                if body:
                    builder.add("\n".join(body))
                    body = []
                builder.heading(len(match.group(1)), match.group(2))
                title = title or match.group(2).strip()
            else:
                body.append(line)
        if body:
            builder.add("\n".join(body))
    return builder.build(title=title or filename)
