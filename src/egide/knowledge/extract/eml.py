"""E-mail (.eml): subject as title, headers kept, body text, attachments extracted too.

Banners are read from the classification headers (`X-Classification:`,
`Classification:`, `X-Security-Classification:`…: they must parse), from the
subject (`[SECRET] …`, `SECRET – …`) and from the body. Attached messages
(`message/rfc822`) are extracted like any attachment, down to the nesting limit.

Only one text part is the body, but a reader may be shown any of them (mail
clients display the HTML alternative): the markings of every other text part
of the message (banners and portion marks) count for the document too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser

from egide.errors import InvalidInput
from egide.knowledge.extract.html import extract_html
from egide.knowledge.extract.model import DocumentBuilder, ExtractedDocument

Extract = Callable[[bytes, str], ExtractedDocument]

_MARKING_HEADER = re.compile(r"classif|marking|marquage", re.IGNORECASE)


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
    for name, value in message.items():
        if _MARKING_HEADER.search(name):
            builder.carry(f"e-mail header {name}", str(value), explicit=True)
        elif name.lower() in ("subject", "keywords"):
            builder.carry(f"e-mail header {name}", str(value))
    subject = str(message["Subject"] or "").strip()
    body = message.get_body(preferencelist=("plain", "html"))
    if body is not None:
        content = body.get_content()
        if body.get_content_type() == "text/html":
            html = extract_html(content.encode("utf-8"), filename)
            for segment in html.segments:
                builder.add(segment.text)
            builder.carried.extend(html.carried)
        else:
            for paragraph in str(content).split("\n\n"):
                builder.add(paragraph)
    _carry_alternatives(message, body, builder, filename)
    attachments: list[ExtractedDocument] = []
    for part in message.iter_attachments():
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload(0)
            payload: object = inner.as_bytes() if isinstance(inner, EmailMessage) else None
            name = part.get_filename() or "message.eml"
        else:
            payload = part.get_payload(decode=True)
            name = part.get_filename() or "attachment"
        if isinstance(payload, bytes) and payload:
            attachments.append(extract_attachment(payload, name))
    return builder.build(
        title=subject or filename, metadata=metadata, attachments=tuple(attachments)
    )


def _text_parts(part: EmailMessage) -> Iterator[EmailMessage]:
    """The message's own text parts, not its attachments or attached messages."""
    if part.is_multipart():
        for sub in part.iter_parts():
            if (
                isinstance(sub, EmailMessage)
                and not sub.is_attachment()
                and sub.get_content_maintype() in ("multipart", "text")
            ):
                yield from _text_parts(sub)
    elif part.get_content_maintype() == "text" and not part.is_attachment():
        yield part


def _carry_alternatives(
    message: EmailMessage, body: MIMEPart | None, builder: DocumentBuilder, filename: str
) -> None:
    for part in _text_parts(message):
        if part is body:
            continue
        source = f"e-mail {part.get_content_type()} part"
        content = str(part.get_content())
        if part.get_content_type() == "text/html":
            html = extract_html(content.encode("utf-8"), filename)
            builder.carry(source, "\n".join(segment.text for segment in html.segments))
            builder.carried.extend(html.carried)
        else:
            builder.carry(source, content)
