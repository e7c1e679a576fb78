"""Proposals for human decision, and their decision history.

Revision ID: 0004_proposals
Revises: 0003_knowledge
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_proposals"
down_revision = "0003_knowledge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("original_content", sa.JSON(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("model_digest", sa.String(64), nullable=True),
        sa.Column("workflow", sa.String(100), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=False),
        sa.Column("required_approvals", sa.Integer(), nullable=False),
        sa.Column("approval_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
        sa.ForeignKeyConstraint(
            ["author_id"], ["principals.id"], name=op.f("fk_proposals_author_id_principals")
        ),
        sa.ForeignKeyConstraint(
            ["label_id"], ["labels.id"], name=op.f("fk_proposals_label_id_labels")
        ),
        sa.CheckConstraint(
            "state IN ('draft', 'proposed', 'approved', 'rejected')",
            name=op.f("ck_proposals_state"),
        ),
    )
    for column in ("kind", "state", "author_id", "label_id"):
        op.create_index(op.f(f"ix_proposals_{column}"), "proposals", [column])
    op.create_table(
        "proposal_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_events")),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_proposal_events_proposal_id_proposals"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["principals.id"], name=op.f("fk_proposal_events_actor_id_principals")
        ),
    )
    op.create_index(op.f("ix_proposal_events_proposal_id"), "proposal_events", ["proposal_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_proposal_events_proposal_id"), table_name="proposal_events")
    op.drop_table("proposal_events")
    for column in ("kind", "state", "author_id", "label_id"):
        op.drop_index(op.f(f"ix_proposals_{column}"), table_name="proposals")
    op.drop_table("proposals")
