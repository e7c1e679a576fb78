"""Wire models of `/v1/audit/entries`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from egide.audit.chain import AuditEntry
from egide.audit.service import AuditPage


class AuditEntryOut(BaseModel):
    """One journal entry with its hashes, exactly as exported (docs/audit.md)."""

    type: Literal["entry"] = "entry"
    seq: int
    time: str
    actor: str
    action: str
    objects: list[str]
    label: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        """The wire form of an entry."""
        return cls.model_validate(entry.to_json())


class AuditEntryList(BaseModel):
    """A page of entries; ask for the next with `after_seq` (or `before_seq` newest first)."""

    object: Literal["list"] = "list"
    data: list[AuditEntryOut]
    has_more: bool

    @classmethod
    def of(cls, page: AuditPage) -> AuditEntryList:
        """The wire form of a page."""
        return cls(data=[AuditEntryOut.of(e) for e in page.entries], has_more=page.has_more)
