"""Reading the stored journal back as value types (shared by journal, verify, export)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from egide.audit.chain import AuditEntry, Checkpoint
from egide.store.models import AuditCheckpointRecord, AuditEntryRecord, LabelRecord


def iter_entries(session: Session) -> Iterator[AuditEntry]:
    """Every entry in ``seq`` order, streamed (for verification and export)."""
    query = (
        select(AuditEntryRecord, LabelRecord.canonical)
        .join(LabelRecord, AuditEntryRecord.label_id == LabelRecord.id)
        .order_by(AuditEntryRecord.seq)
        .execution_options(yield_per=1000)
    )
    for record, canonical in session.execute(query):
        yield to_entry(record, canonical)
        session.expunge(record)  # keep memory flat on long journals


def read_checkpoints(session: Session) -> list[Checkpoint]:
    """Every checkpoint, ordered by ``seq``."""
    records = session.scalars(
        select(AuditCheckpointRecord).order_by(AuditCheckpointRecord.seq, AuditCheckpointRecord.id)
    )
    return [
        Checkpoint(r.seq, r.entry_hash, r.time, r.key_fingerprint, r.signature) for r in records
    ]


def to_entry(record: AuditEntryRecord, label: str) -> AuditEntry:
    """The value type for a stored entry whose label text is ``label``."""
    return AuditEntry(
        seq=record.seq,
        time=record.time,
        actor=record.actor,
        action=record.action,
        objects=list(record.objects),
        label=label,
        details=dict(record.details),
        prev_hash=record.prev_hash,
        hash=record.hash,
    )
