"""Stream results keep the message text, so an alert carries the message it was raised on.

A pure column addition: rows processed before it have no text (NULL), and an
alert on such a message is served without it.

Revision ID: 0015_stream_text
Revises: 0014_watchlist_specs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_stream_text"
down_revision = "0014_watchlist_specs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("stream_results", sa.Column("text", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stream_results") as batch:
        batch.drop_column("text")
