"""Public row ids that count nothing: random, not sequential.

A sequential id tells whoever sees one how many rows were made before it —
including rows they may not read (a low-cleared analyst who uploads two
documents learns how many SECRET ones arrived in between) — and invites
probing the ids just below. Documents and passages therefore get ids drawn
at random from 1 to `MAX_PUBLIC_ID` (2**53 - 1, the largest integer a JSON
reader keeps exact). Collisions are checked before insert and redrawn; with
53 bits they are astronomically rare, and a concurrent one that slips
between the check and the insert fails the whole transaction on the primary
key (no partial write), so the caller may simply retry.
"""

from __future__ import annotations

import secrets

from sqlalchemy import BigInteger, Integer, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.types import TypeEngine

MAX_PUBLIC_ID = 2**53 - 1
"""Largest random public id (documents, passages): a larger id names nothing."""

PUBLIC_ID: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")
"""Column type of a random public id: bigint on PostgreSQL; SQLite's INTEGER is 64-bit already."""

_CHECK = 500  # ids looked up per query (well under every database's parameter limit)


def random_id() -> int:
    """One id drawn uniformly from 1 to `MAX_PUBLIC_ID` (the column default)."""
    return secrets.randbelow(MAX_PUBLIC_ID) + 1


def fresh_ids(session: Session, column: InstrumentedAttribute[int], count: int) -> list[int]:
    """`count` distinct random ids, in the order drawn, that no row of `column`'s table holds."""
    ids: list[int] = []
    while len(ids) < count:
        drawn = list(dict.fromkeys(random_id() for _ in range(count - len(ids))))
        taken = set(ids)
        for start in range(0, len(drawn), _CHECK):
            part = drawn[start : start + _CHECK]
            taken |= set(session.scalars(select(column).where(column.in_(part))))
        ids += [i for i in drawn if i not in taken]
    return ids
