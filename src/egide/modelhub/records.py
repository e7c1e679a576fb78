"""The ``models`` table: one row per imported model, its files, labels and kill switch.

Created by ``store/migrations/versions/0002_model_registry.py``; the test
``tests/modelhub/test_records.py`` checks that the two agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from egide.store.models import Base, utcnow


class ModelRecord(Base):
    """An imported model: where its files are, what they must hash to, who may use it."""

    __tablename__ = "models"
    __table_args__ = (CheckConstraint("format IN ('gguf', 'safetensors')", name="format"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    version: Mapped[str] = mapped_column(String(100))
    format: Mapped[str] = mapped_column(String(16))
    runtime: Mapped[str] = mapped_column(String(32))
    # Relative to the data directory when copied (so EGIDE_DATA_DIR relocates
    # it), absolute when the files are referenced in place.
    location: Mapped[str] = mapped_column(Text)
    in_place: Mapped[bool] = mapped_column(Boolean, default=False)
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # Label of the weights themselves (a model tuned on SECRET data is SECRET).
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id"), index=True)
    # Highest working label this deployment is accredited to process.
    accreditation_id: Mapped[int] = mapped_column(ForeignKey("labels.id"))
    licence: Mapped[str] = mapped_column(Text, default="")
    provenance: Mapped[str] = mapped_column(Text, default="")
    publisher: Mapped[str] = mapped_column(Text, default="")
    signer_fingerprint: Mapped[str | None] = mapped_column(String(64))
    signer_key: Mapped[str | None] = mapped_column(Text)
    manifest: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str] = mapped_column(Text, default="")
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    importer: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
