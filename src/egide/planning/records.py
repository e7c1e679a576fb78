"""Tables of the planning service (migration 0016_plans).

- `plans`: one stored plan — the problem, its validated solution and its map —
  labelled (the label of the input it was made from) and, when its author belongs
  to an organisation, kept to that organisation; random ids (`egide.store.ids`) so
  an id says nothing of how many plans a reader may not see.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from egide.store import PUBLIC_ID, Base, random_id, utcnow


class PlanRecord(Base):
    """A problem, the plan the engine made for it (checked by the validator) and its map."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(
        PUBLIC_ID, primary_key=True, autoincrement=False, default=random_id
    )
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id"), index=True)
    organisation: Mapped[str | None] = mapped_column(String(200), nullable=True)
    author: Mapped[str] = mapped_column(String(200))
    problem: Mapped[dict[str, Any]] = mapped_column(JSON)
    solution: Mapped[dict[str, Any]] = mapped_column(JSON)
    svg: Mapped[str] = mapped_column(Text)
    cost: Mapped[float] = mapped_column(Float)
    seed: Mapped[int] = mapped_column(Integer)
    time_limit: Mapped[float] = mapped_column(Float)
    proposal_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
