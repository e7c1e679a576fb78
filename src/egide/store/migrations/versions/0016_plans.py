"""Planning service: stored, labelled routing plans.

Revision ID: 0016_plans
Revises: 0015_stream_text
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_plans"
down_revision = "0015_stream_text"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)
_PUBLIC_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", _PUBLIC_ID, nullable=False, autoincrement=False),
        sa.Column("label_id", sa.Integer(), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=True),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("problem", sa.JSON(), nullable=False),
        sa.Column("solution", sa.JSON(), nullable=False),
        sa.Column("svg", sa.Text(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("time_limit", sa.Float(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.ForeignKeyConstraint(["label_id"], ["labels.id"], name=op.f("fk_plans_label_id_labels")),
    )
    op.create_index(op.f("ix_plans_label_id"), "plans", ["label_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_plans_label_id"), table_name="plans")
    op.drop_table("plans")
