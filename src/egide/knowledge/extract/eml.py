"""E-mail (.eml): subject as title, headers kept, body text, attachments extracted too."""

from __future__ import annotations

from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from egide.errors import InvalidInput
from egide.knowledge.extract.html import extract_html
from egide.knowledge.extract.model import DocumentBuilder, ExtractedDocument

Extract = Callable[[bytes, str], ExtractedDocument]


def extract_eml(data: bytes, filename: str, extract_attachment: Extract) -> ExtractedDocument:
    """Extract a message; `extract_attachment` handles each attached file."""
    message = BytesParser(policy=policy.default).parsebytes(data)
    if not isinstance(message, EmailMessage) or not message.keys():
        raise InvalidInput(f"{filename} is not an e-mail message (no headers found)")
    metadata = {
        k.lower(): str(message[k])
        for k in ("From", "To", "Cc", "Date", "Subject")
        if message[k] is not None
    }
    builder = DocumentBuilder("eml", filename)
    subject = str(message["Subject"] or "").strip()
    body = message.get_body(preferencelist=("plain", "html"))
    if body is not None:
        content = body.get_content()
        if body.get_content_type() == "text/html":
            html = extract_html(content.encode("utf-8"), filename)
            for segment in html.segments:
                builder.add(segment.text)
        else:
            for paragraph in str(content).split("\n\n"):
                builder.add(paragraph)
    attachments: list[ExtractedDocument] = []
    for part in message.iter_attachments():
        name = part.get_filename() or "attachment"
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and payload:
            attachments.append(extract_attachment(payload, name))
    return builder.build(
        title=subject or filename, metadata=metadata, attachments=tuple(attachments)
    )
