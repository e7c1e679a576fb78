"""PDF through pypdf (pure Python): text per page, paragraphs on blank lines.

pypdf ends every visual line with a single newline; lines are kept, so each
is a portion boundary. The title, subject, keywords and any metadata field
named like a classification are read for banners.
"""

from __future__ import annotations

import io
import logging
import re
import warnings

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from egide.errors import InvalidInput
from egide.knowledge.extract.model import DocumentBuilder, ExtractedDocument

_BLANK = re.compile(r"\n\s*\n")
_METADATA = {"title", "subject", "keywords"}
_MARKING_NAME = re.compile(r"classif|marking|marquage", re.IGNORECASE)


def extract_pdf(data: bytes, filename: str) -> ExtractedDocument:
    """Extract a PDF; refuses encrypted and corrupt files with a clear message."""
    builder = DocumentBuilder("pdf", filename)
    # pypdf reports recoverable oddities as warnings and log lines; a damaged file
    # must be an error for the operator, not noise.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                raise InvalidInput(
                    f"{filename} is an encrypted PDF; ask its owner for a decrypted copy"
                )
            for number, page in enumerate(reader.pages, start=1):
                builder.page = number
                for paragraph in _BLANK.split(page.extract_text() or ""):
                    builder.add(paragraph)
            for key, value in (reader.metadata or {}).items():
                name = str(key).lstrip("/")
                if name.lower() in _METADATA or _MARKING_NAME.search(name):
                    builder.carry(
                        f"PDF metadata {name}",
                        str(value),
                        explicit=bool(_MARKING_NAME.search(name)),
                    )
            title = (reader.metadata.title if reader.metadata else None) or filename
    except InvalidInput:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as error:
        raise InvalidInput(
            f"{filename} is not a readable PDF ({type(error).__name__}); "
            "check the file or export it again"
        ) from None
    return builder.build(title=str(title))
