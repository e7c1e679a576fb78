"""Stream processing: results unique by message id, quarantine, watchlists and alerts.

Revision ID: 0013_streams
Revises: 0012_random_ids
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_streams"
down_revision = "0012_random_ids"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)
_PUBLIC_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _label_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["label_id"], ["labels.id"], name=op.f(f"fk_{table}_label_id_labels")
    )


def upgrade() -> None:
    op.create_table(
        "stream_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("worker", sa.String(200), nullable=False),
        sa.Column("received_at", _TIME, nullable=False),
        sa.Column("processed_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stream_results")),
        sa.UniqueConstraint("message_id", name=op.f("uq_stream_results_message_id")),
        _label_fk("stream_results"),
    )
    op.create_index(op.f("ix_stream_results_channel"), "stream_results", ["channel"])
    op.create_index(op.f("ix_stream_results_label_id"), "stream_results", ["label_id"])
    op.create_table(
        "stream_quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("received_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stream_quarantine")),
        sa.UniqueConstraint("source", name=op.f("uq_stream_quarantine_source")),
    )
    op.create_table(
        "watchlists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchlists")),
        sa.UniqueConstraint("name", name=op.f("uq_watchlists_name")),
        _label_fk("watchlists"),
    )
    op.create_index(op.f("ix_watchlists_label_id"), "watchlists", ["label_id"])
    op.create_table(
        "stream_alerts",
        sa.Column("id", _PUBLIC_ID, nullable=False, autoincrement=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("watchlist_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("matched", sa.JSON(), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stream_alerts")),
        sa.UniqueConstraint(
            "message_id", "watchlist_id", name=op.f("uq_stream_alerts_message_id_watchlist_id")
        ),
        sa.ForeignKeyConstraint(
            ["watchlist_id"],
            ["watchlists.id"],
            name=op.f("fk_stream_alerts_watchlist_id_watchlists"),
            ondelete="CASCADE",
        ),
        _label_fk("stream_alerts"),
    )
    op.create_index(op.f("ix_stream_alerts_label_id"), "stream_alerts", ["label_id"])
    op.create_index(op.f("ix_stream_alerts_created_at_id"), "stream_alerts", ["created_at", "id"])


def downgrade() -> None:
    op.drop_table("stream_alerts")
    op.drop_table("watchlists")
    op.drop_table("stream_quarantine")
    op.drop_table("stream_results")
