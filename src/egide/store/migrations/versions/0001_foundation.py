"""Foundation: organisations, principals, API keys, labels, audit journal, flags.

Revision ID: 0001_foundation
Revises:
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None

# Guards that make the journal append-only even for code that bypasses
# egide.audit. A DBA can still drop them: the hash chain is what proves
# tampering; the triggers only stop accidents and casual edits.
_PG_GUARD = """
CREATE FUNCTION egide_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit journal is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END
$$
"""
_AUDIT_TABLES = ("audit_entries", "audit_checkpoints")


def _created_at() -> sa.Column[datetime]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)


def _pk(table: str, *columns: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(*columns, name=op.f(f"pk_{table}"))


def _unique(table: str, column: str) -> sa.UniqueConstraint:
    return sa.UniqueConstraint(column, name=op.f(f"uq_{table}_{column}"))


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        _created_at(),
        _pk("organisations", "id"),
        _unique("organisations", "name"),
        _fk("organisations", "parent_id", "organisations"),
    )
    op.create_table(
        "principals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(200), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("clearance", sa.Text(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("default_label", sa.Text(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        _created_at(),
        _pk("principals", "id"),
        _unique("principals", "username"),
        _fk("principals", "organisation_id", "organisations"),
        sa.CheckConstraint("kind IN ('user', 'service')", name=op.f("ck_principals_kind")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        _created_at(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        _pk("api_keys", "id"),
        _unique("api_keys", "key_id"),
        _fk("api_keys", "principal_id", "principals"),
    )
    op.create_index(op.f("ix_api_keys_principal_id"), "api_keys", ["principal_id"])
    op.create_table(
        "labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("canonical", sa.Text(), nullable=False),
        _pk("labels", "id"),
        _unique("labels", "canonical"),
    )
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("objects", sa.JSON(), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        _pk("audit_entries", "seq"),
        _unique("audit_entries", "hash"),
        _fk("audit_entries", "label_id", "labels"),
    )
    op.create_index(op.f("ix_audit_entries_action"), "audit_entries", ["action"])
    op.create_index(op.f("ix_audit_entries_label_id"), "audit_entries", ["label_id"])
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_fingerprint", sa.String(64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        _pk("audit_checkpoints", "id"),
    )
    op.create_index(op.f("ix_audit_checkpoints_seq"), "audit_checkpoints", ["seq"])
    op.create_table(
        "flags",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _pk("flags", "key"),
    )
    _create_audit_guards()


def _create_audit_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_GUARD)
        for table in _AUDIT_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION egide_audit_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION egide_audit_append_only()"
            )
        return
    for table in _AUDIT_TABLES:
        for verb in ("update", "delete"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'the audit journal is append-only: "
                f"{verb.upper()} on {table} refused'); END"
            )


def downgrade() -> None:
    for table in ("flags", "audit_checkpoints", "audit_entries", "labels", "api_keys"):
        op.drop_table(table)
    op.drop_table("principals")
    op.drop_table("organisations")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION egide_audit_append_only()")
