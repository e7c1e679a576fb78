"""The journal's value types and their canonical serialisation (docs/audit.md).

Everything that computes or checks a hash goes through this module, so that
the journal, the verifier and an offline script agree byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from egide.core.digest import canonical_bytes, sha256_json

FORMAT_VERSION = "egide-audit/1"
GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of entry 1: nothing precedes it."""

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_time(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds and a ``Z``: ``2025-01-31T08:00:00.000000Z``."""
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_time(text: str) -> datetime:
    """Inverse of :func:`format_time`."""
    return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)


def entry_hash(
    *,
    seq: int,
    time: datetime,
    actor: str,
    action: str,
    objects: list[str],
    label: str,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of the canonical JSON of an entry's fields, ``hash`` excluded."""
    document = {
        "seq": seq,
        "time": format_time(time),
        "actor": actor,
        "action": action,
        "objects": objects,
        "label": label,
        "details": details,
        "prev_hash": prev_hash,
    }
    return sha256_json(document)


def checkpoint_payload(*, seq: int, entry_hash: str, time: datetime, key_fingerprint: str) -> bytes:
    """The bytes an Ed25519 checkpoint signature covers."""
    return canonical_bytes(
        {
            "seq": seq,
            "entry_hash": entry_hash,
            "time": format_time(time),
            "key_fingerprint": key_fingerprint,
        }
    )


@dataclass(frozen=True)
class AuditEntry:
    """One journal entry as read back: what happened, who did it, under which label."""

    seq: int
    time: datetime
    actor: str
    action: str
    objects: list[str]
    label: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def computed_hash(self) -> str:
        """The hash these fields should have; differs from ``hash`` if edited."""
        return entry_hash(
            seq=self.seq,
            time=self.time,
            actor=self.actor,
            action=self.action,
            objects=self.objects,
            label=self.label,
            details=self.details,
            prev_hash=self.prev_hash,
        )

    def to_json(self) -> dict[str, Any]:
        """The export line for this entry (``type`` = ``"entry"``)."""
        return {
            "type": "entry",
            "seq": self.seq,
            "time": format_time(self.time),
            "actor": self.actor,
            "action": self.action,
            "objects": self.objects,
            "label": self.label,
            "details": self.details,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }

    @classmethod
    def from_json(cls, line: dict[str, Any]) -> AuditEntry:
        """Parse an export line; raises ``KeyError``/``ValueError`` if malformed."""
        return cls(
            seq=int(line["seq"]),
            time=parse_time(line["time"]),
            actor=str(line["actor"]),
            action=str(line["action"]),
            objects=list(line["objects"]),
            label=str(line["label"]),
            details=dict(line["details"]),
            prev_hash=str(line["prev_hash"]),
            hash=str(line["hash"]),
        )


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: "entry ``seq`` had hash ``entry_hash``"."""

    seq: int
    entry_hash: str
    time: datetime
    key_fingerprint: str
    signature: str = field(repr=False)
    """Base64 of the 64-byte Ed25519 signature of :meth:`payload`."""

    def payload(self) -> bytes:
        """The signed bytes."""
        return checkpoint_payload(
            seq=self.seq,
            entry_hash=self.entry_hash,
            time=self.time,
            key_fingerprint=self.key_fingerprint,
        )

    def to_json(self) -> dict[str, Any]:
        """The export line for this checkpoint (``type`` = ``"checkpoint"``)."""
        return {
            "type": "checkpoint",
            "seq": self.seq,
            "entry_hash": self.entry_hash,
            "time": format_time(self.time),
            "key_fingerprint": self.key_fingerprint,
            "signature": self.signature,
        }

    @classmethod
    def from_json(cls, line: dict[str, Any]) -> Checkpoint:
        """Parse an export line; raises ``KeyError``/``ValueError`` if malformed."""
        return cls(
            seq=int(line["seq"]),
            entry_hash=str(line["entry_hash"]),
            time=parse_time(line["time"]),
            key_fingerprint=str(line["key_fingerprint"]),
            signature=str(line["signature"]),
        )
