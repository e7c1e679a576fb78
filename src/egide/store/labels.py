"""The label interning table: every canonical label used anywhere gets one small id.

The policy module computes which label ids a principal may read; queries then
filter with ``label_id IN (...)`` inside the SQL, so that a read never sees
rows it may not see (ARCHITECTURE.md, invariant 2).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from egide.store.models import LabelRecord


def intern_label(session: Session, canonical: str) -> int:
    """The id of ``canonical`` in the ``labels`` table, inserting it if new.

    Safe when several transactions intern the same label at once: the insert
    yields to a concurrent one (``ON CONFLICT DO NOTHING``) instead of failing.

    Args:
        session: The caller's session; the insert joins its transaction.
        canonical: A canonical label string (see ``egide.core.labels``).
    """
    existing = session.scalar(select(LabelRecord.id).where(LabelRecord.canonical == canonical))
    if existing is not None:
        return existing
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(LabelRecord)
        .values(canonical=canonical)
        .on_conflict_do_nothing(index_elements=["canonical"])
    )
    label_id = session.scalar(select(LabelRecord.id).where(LabelRecord.canonical == canonical))
    assert label_id is not None  # inserted just now, or by the concurrent winner
    return label_id


def all_labels(session: Session) -> list[tuple[int, str]]:
    """Every interned label as ``(id, canonical)`` pairs, ordered by id."""
    rows = session.execute(select(LabelRecord.id, LabelRecord.canonical).order_by(LabelRecord.id))
    return [(row.id, row.canonical) for row in rows]
