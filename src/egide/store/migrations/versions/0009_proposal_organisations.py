"""A proposal is kept to the organisations that may use every collection of its sources.

Before, a proposal built from a collection restricted to some organisations
(a CPCO-only collection) could be listed, read, decided on and exported by
anyone the label rules allowed, whatever their organisation. Now
`proposals.scoped` says the proposal is restricted, and
`proposal_organisations` lists who may see it (no row: nobody).

Existing proposals are scoped from what they name: the passages and
documents of their evidence and the passages of a synthesis report's
`sources`. A passage or document deleted since names no collection and is
not counted.

Revision ID: 0009_proposal_organisations
Revises: 0008_document_versions
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009_proposal_organisations"
down_revision = "0008_document_versions"
branch_labels = None
depends_on = None

_proposals = sa.table(
    "proposals",
    sa.column("id", sa.Integer),
    sa.column("content", sa.JSON),
    sa.column("evidence", sa.JSON),
    sa.column("scoped", sa.Boolean),
)
_scopes = sa.table(
    "proposal_organisations",
    sa.column("proposal_id", sa.Integer),
    sa.column("organisation", sa.String),
)


def upgrade() -> None:
    op.add_column(
        "proposals",
        sa.Column("scoped", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "proposal_organisations",
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint(
            "proposal_id", "organisation", name=op.f("pk_proposal_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_proposal_organisations_proposal_id_proposals"),
        ),
    )
    _backfill(op.get_bind())


def downgrade() -> None:
    op.drop_table("proposal_organisations")
    with op.batch_alter_table("proposals") as batch:
        batch.drop_column("scoped")


def _backfill(connection: sa.Connection) -> None:
    by_chunk = {
        row.id: row.organisations
        for row in connection.execute(
            sa.text(
                "SELECT chunks.id AS id, collections.organisations AS organisations FROM chunks "
                "JOIN collections ON collections.id = chunks.collection_id"
            ).columns(id=sa.Integer, organisations=sa.JSON)
        )
    }
    by_document = {
        row.id: row.organisations
        for row in connection.execute(
            sa.text(
                "SELECT documents.id AS id, collections.organisations AS organisations "
                "FROM documents JOIN collections ON collections.id = documents.collection_id"
            ).columns(id=sa.Integer, organisations=sa.JSON)
        )
    }
    rows = connection.execute(
        sa.select(_proposals.c.id, _proposals.c.content, _proposals.c.evidence)
    )
    for proposal_id, content, evidence in list(rows):
        allowed: set[str] | None = None
        for organisations in _named(content, evidence, by_chunk, by_document):
            if organisations:
                allowed = set(organisations) if allowed is None else allowed & set(organisations)
        if allowed is None:
            continue
        connection.execute(
            sa.update(_proposals).where(_proposals.c.id == proposal_id).values(scoped=True)
        )
        for organisation in sorted(allowed):
            connection.execute(
                sa.insert(_scopes).values(proposal_id=proposal_id, organisation=organisation)
            )


def _named(
    content: Any,
    evidence: Any,
    by_chunk: dict[int, list[str] | None],
    by_document: dict[int, list[str] | None],
) -> Iterator[list[str] | None]:
    """Organisation lists of the collections a stored proposal names (damaged parts skipped)."""
    for item in evidence if isinstance(evidence, list) else []:
        if not isinstance(item, dict):
            continue
        for key, known in (("chunk", by_chunk), ("document", by_document)):
            value = item.get(key)
            if isinstance(value, int) and value in known:
                yield known[value]
    report = content.get("report") if isinstance(content, dict) else None
    sources = report.get("sources") if isinstance(report, dict) else None
    for source in sources if isinstance(sources, list) else []:
        value = source.get("chunk_id") if isinstance(source, dict) else None
        if isinstance(value, int) and value in by_chunk:
            yield by_chunk[value]
