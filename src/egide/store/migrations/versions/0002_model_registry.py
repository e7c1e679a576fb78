"""Model registry: imported weights, their digests, labels, signer and kill switch.

Revision ID: 0002_model_registry
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_model_registry"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("runtime", sa.String(32), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("in_place", sa.Boolean(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=False),
        sa.Column("accreditation_id", sa.Integer(), nullable=False),
        sa.Column("licence", sa.Text(), nullable=False),
        sa.Column("provenance", sa.Text(), nullable=False),
        sa.Column("publisher", sa.Text(), nullable=False),
        sa.Column("signer_fingerprint", sa.String(64), nullable=True),
        sa.Column("signer_key", sa.Text(), nullable=True),
        sa.Column("manifest", sa.JSON(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.Column("importer", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_models")),
        sa.UniqueConstraint("name", name=op.f("uq_models_name")),
        sa.ForeignKeyConstraint(
            ["label_id"], ["labels.id"], name=op.f("fk_models_label_id_labels")
        ),
        sa.ForeignKeyConstraint(
            ["accreditation_id"], ["labels.id"], name=op.f("fk_models_accreditation_id_labels")
        ),
        sa.CheckConstraint("format IN ('gguf', 'safetensors')", name=op.f("ck_models_format")),
    )
    op.create_index(op.f("ix_models_label_id"), "models", ["label_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_models_label_id"), table_name="models")
    op.drop_table("models")
