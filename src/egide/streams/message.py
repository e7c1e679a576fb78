"""One message of a flow, read fail secure: a valid label, or quarantine with the reason.

A message arrives as one JSON object (a line of a file, the body of a NATS
message)::

    {"id": "sitrep-0042", "channel": "logistique", "label": "DR",
     "text": "Convoi CLOU-7 arrivé à Marsk 141200ZMAY26.", "received": "2026-05-14T12:00:00Z"}

Its label is the join of the `label` field, a label header of the transport
(`Egide-Label` on NATS) and every marking written in its text, read by the
knowledge base's fail-secure marking reader (`egide.knowledge.markings`: one
reader of markings for documents and messages alike). The label field and the
header are explicit classification fields: one that does not parse refuses the
message. A message with no label at all, a marking that cannot be read, bad
JSON, a missing field or more than `max_bytes` is never processed and never
dropped: it becomes a `Rejected` that the worker keeps in quarantine.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from egide.core.labels import Label, PolicyRegistry
from egide.errors import InvalidLabel
from egide.knowledge.extract.model import Carried, ExtractedDocument, Segment
from egide.knowledge.markings import classify_line, detect_markings, line_breaks

MAX_MESSAGE_BYTES = 65_536
"""Default largest message accepted (bytes of its JSON); larger ones are quarantined."""

MAX_ID_CHARS = 200
KEPT_RAW_CHARS = 4096
"""How much of a rejected message the quarantine keeps (enough to diagnose it)."""


@dataclass(frozen=True)
class Message:
    """A message with a valid label, ready for analysis.

    Attributes:
        id: The sender's id; processing is idempotent on it.
        channel: Which flow it belongs to (a net, a chat room, a report series).
        text: Its body.
        label: Join of its label field or header and the markings in its text.
        received: When it was received (the sender's time if given, else now).
        source: Where it came from (`file:PATH:LINE`, `nats:STREAM:SEQ`).
    """

    id: str
    channel: str
    text: str
    label: Label
    received: datetime
    source: str


@dataclass(frozen=True)
class Rejected:
    """A message that cannot be processed, and why; kept in quarantine, never dropped."""

    reason: str
    raw: str
    source: str
    message_id: str | None
    received: datetime


def read_message(
    raw: bytes,
    policies: PolicyRegistry,
    *,
    source: str,
    header_label: str | Sequence[str] | None = None,
    max_bytes: int = MAX_MESSAGE_BYTES,
    now: datetime | None = None,
) -> Message | Rejected:
    """Read one message, or say why it must be quarantined."""
    now = now or datetime.now(UTC)
    headers = [header_label] if isinstance(header_label, str) else list(header_label or ())
    # PostgreSQL text cannot hold NUL: a NUL in what is kept would fail the quarantine
    # itself, and a worker would then retry the same message for ever.
    text = raw[:KEPT_RAW_CHARS].decode("utf-8", errors="replace").replace("\x00", "\ufffd")

    def reject(reason: str, message_id: str | None = None) -> Rejected:
        return Rejected(reason, text, source, message_id, now)

    if len(raw) > max_bytes:
        return reject(f"oversize: more than the limit of {max_bytes} bytes")
    try:
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique)
    except UnicodeDecodeError as error:
        return reject(f"not UTF-8 text (byte {error.start})")
    except _DuplicateField as error:
        return reject(error.reason)
    except json.JSONDecodeError as error:
        return reject(f"bad JSON: {error.msg}, line {error.lineno} column {error.colno}")
    except RecursionError:
        return reject("bad JSON: nested too deep")
    except ValueError:  # an integer literal past Python's digit limit
        return reject("bad JSON: a number too long")
    if not isinstance(data, dict):
        return reject("bad JSON: a message is an object with id, channel, label and text")
    message_id = data.get("id")
    if not isinstance(message_id, str) or not message_id.strip():
        return reject("no message id: give a non-empty string `id`")
    if len(message_id) > MAX_ID_CHARS or not message_id.isprintable():
        return reject(f"bad message id: at most {MAX_ID_CHARS} printable characters")
    fields = {name: data.get(name) for name in ("channel", "text", "label", "received")}
    for name, value in fields.items():
        if value is not None and not isinstance(value, str):
            return reject(f"bad field {name!r}: a string is expected", message_id)
        if isinstance(value, str) and not _encodable(value):
            return reject(f"bad field {name!r}: an unpaired surrogate is not text", message_id)
    body = fields["text"]
    if body is None:
        return reject("no text: give the message body as `text`", message_id)
    channel = (fields["channel"] or "default").strip() or "default"
    if len(channel) > MAX_ID_CHARS or not channel.isprintable():
        return reject(
            f"bad field 'channel': at most {MAX_ID_CHARS} printable characters", message_id
        )
    received = _time(fields["received"], now)
    if received is None:
        return reject("bad field 'received': an ISO 8601 time with its zone", message_id)
    try:
        label = message_label(body, policies, [fields["label"], *headers])
    except InvalidLabel:
        # Never the error's text: it quotes the line, and a reason is journaled and
        # published at a label below the message's (which is unknown).
        return reject(_unreadable(body, fields["label"], headers, policies), message_id)
    if label is None:
        return reject(
            "no label: give a `label` field or an Egide-Label header, or mark the text",
            message_id,
        )
    return Message(message_id, channel, body, label, received, source)


def stored_text(text: str) -> str:
    """The text as a result row keeps it: at most `MAX_MESSAGE_BYTES` of UTF-8, no NUL.

    A message read from a flow is already under its worker's `max_bytes`; the cap
    holds for any caller. PostgreSQL text cannot hold NUL, so NUL is replaced.
    """
    data = text.encode("utf-8")
    if len(data) > MAX_MESSAGE_BYTES:
        text = data[:MAX_MESSAGE_BYTES].decode("utf-8", errors="ignore")
    return text.replace("\x00", "\ufffd")


def message_label(text: str, policies: PolicyRegistry, explicit: list[str | None]) -> Label | None:
    """Join of the explicit label fields and the markings of `text`; None when there is none.

    Raises:
        InvalidLabel: a field or a line looks like a marking that cannot be read.
    """
    carried = tuple(
        Carried("message label", value, explicit=True) for value in explicit if value is not None
    )
    document = ExtractedDocument(
        kind="message",
        filename="message",
        title="",
        text=text,
        segments=(Segment(text, 0, len(text)),),
        carried=carried,
    )
    return detect_markings(document, policies).document_label


def _unreadable(text: str, field: str | None, headers: list[str], policies: PolicyRegistry) -> str:
    """Where the unreadable marking is, in a fixed vocabulary: never what it says."""
    places = [(field, "field 'label'")] + [(h, "header Egide-Label") for h in headers]
    for value, where in places:
        if value is not None:
            try:
                message_label("", policies, [value])
            except InvalidLabel:
                return f"unreadable marking in {where}"
    for number, line in enumerate(line_breaks(text), start=1):
        try:
            classify_line(line, policies, "body")
        except InvalidLabel:
            return f"unreadable marking on line {number}"
    return "unreadable marking in the text"


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _time(value: str | None, now: datetime) -> datetime | None:
    if value is None:
        return now
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.astimezone(UTC) if parsed.tzinfo is not None else None
    except (ValueError, OverflowError):  # not a time, or out of range once in UTC
        return None


_FIELDS = frozenset({"id", "channel", "label", "text", "received"})


class _DuplicateField(Exception):
    def __init__(self, name: str) -> None:
        # Only a known field is named: any other key is the sender's text.
        self.reason = f"duplicate field {name!r}" if name in _FIELDS else "duplicate field"


def _unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object whose keys are all distinct: a repeated key would let the last one win."""
    data: dict[str, object] = {}
    for name, value in pairs:
        if name in data:
            raise _DuplicateField(name)
        data[name] = value
    return data
