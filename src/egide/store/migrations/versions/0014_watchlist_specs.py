"""Watchlist specifications: polygons of area watchlists, description of semantic ones.

Revision ID: 0014_watchlist_specs
Revises: 0013_streams
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_watchlist_specs"
down_revision = "0013_streams"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing watchlists are term lists: an empty specification is theirs.
    op.add_column(
        "watchlists",
        sa.Column("spec", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    )


def downgrade() -> None:
    with op.batch_alter_table("watchlists") as batch:
        batch.drop_column("spec")
