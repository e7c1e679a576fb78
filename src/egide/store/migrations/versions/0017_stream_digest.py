"""Stream results keep a digest of their message; watchlist names are no longer unique.

A redelivery has the same digest and changes nothing; a different payload under an
id already processed is quarantined instead of dropped as "already done". Rows
processed before this revision have no digest (NULL): a message under their id
is taken as a redelivery, as before.

Revision ID: 0017_stream_digest
Revises: 0016_plans
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_stream_digest"
down_revision = "0016_plans"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("stream_results", sa.Column("digest", sa.String(64), nullable=True))
    # Watchlist names need not be unique: a refusal for a taken name told a caller that a
    # watchlist existed above their clearance. The id identifies a watchlist.
    with op.batch_alter_table("watchlists") as batch:
        batch.drop_constraint(op.f("uq_watchlists_name"), type_="unique")


def downgrade() -> None:
    with op.batch_alter_table("watchlists") as batch:
        batch.create_unique_constraint(op.f("uq_watchlists_name"), ["name"])
    with op.batch_alter_table("stream_results") as batch:
        batch.drop_column("digest")
