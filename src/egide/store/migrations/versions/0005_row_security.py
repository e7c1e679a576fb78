"""Row-level security on the knowledge content (PostgreSQL only): defence in depth.

Retrieval filters by readable label inside its ranking SQL, which returns
chunk ids and scores only. The passages' content is then read as the role
`egide_reader` (`PostgresIndex.confine`, called by
`egide.knowledge.search.hydrate`), for which every row of `chunks` (text,
vector, full-text terms) and `documents` (titles, file names) whose label is
not in the transaction's `egide.readable_labels` setting is invisible: if a
ranking query forgot its label filter, the hidden passage is missing from the
hydration and the search fails closed (no partial result); a transaction
that never declared its readable labels sees no row at all.

Why the ranking itself does not run under the policy: the full-text match
operator (`@@`) is not LEAKPROOF, so PostgreSQL must evaluate the policy on
every row before it, which defeats the GIN index (measured: 0.1 ms → 46 ms per
term at 100,000 chunks). Ranking reveals nothing itself — ids and scores of
readable chunks only, and no text — so the defence in depth sits where the
content is read.

Roles other than `egide_reader` are unaffected (their GRANTs decide): the
application's own role must see every row to ingest, re-version and delete.
The policy names the reader by `current_user` rather than `TO egide_reader`
because PostgreSQL applies a policy to every member of its roles, and the
application role is a member of `egide_reader` (to be allowed `SET ROLE`).

Revision ID: 0005_row_security
Revises: 0004_proposals
"""

from __future__ import annotations

from alembic import op

revision = "0005_row_security"
down_revision = "0004_proposals"
branch_labels = None
depends_on = None

READER = "egide_reader"
TABLES = ("chunks", "documents")
# The scalar subqueries make PostgreSQL evaluate the setting once per query
# (an InitPlan), not once per row. A missing or empty setting gives NULL:
# `label_id = ANY (NULL)` is never true, so nothing is visible (fail secure).
READABLE = (
    f"(SELECT current_user) <> '{READER}' OR label_id = ANY (CAST((SELECT "
    "nullif(current_setting('egide.readable_labels', true), '')) AS integer[]))"
)
MISSING = (
    f"the role {READER} does not exist and % may not create it: ask a DBA to run "
    f"CREATE ROLE {READER} NOLOGIN; GRANT {READER} TO %; then migrate again"
)
NOT_MEMBER = (
    f"% is not a member of {READER} and may not grant it: ask a DBA to run "
    f"GRANT {READER} TO %; then migrate again"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # Roles belong to the whole cluster: another Égide database may have made it.
    op.execute(
        f"""
        DO $$
        BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{READER}') THEN
            BEGIN
              CREATE ROLE {READER} NOLOGIN;
            EXCEPTION
              WHEN duplicate_object OR unique_violation THEN NULL;
              WHEN insufficient_privilege THEN
                RAISE EXCEPTION '{MISSING}', current_user, current_user;
            END;
          END IF;
          IF NOT pg_has_role(current_user, '{READER}', 'MEMBER') THEN
            BEGIN
              EXECUTE format('GRANT {READER} TO %I', current_user);
            EXCEPTION WHEN insufficient_privilege THEN
              RAISE EXCEPTION '{NOT_MEMBER}', current_user, current_user;
            END;
          END IF;
        END $$
        """
    )
    op.execute(f"GRANT SELECT ON labels, documents, chunks TO {READER}")
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        # FORCE: the table owner (often the application's login role) obeys the policies too.
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY egide_rows ON {table} AS PERMISSIVE FOR ALL TO PUBLIC "
            "USING (true) WITH CHECK (true)"
        )
        op.execute(
            f"CREATE POLICY egide_readable_labels ON {table} AS RESTRICTIVE FOR SELECT TO PUBLIC "
            f"USING ({READABLE})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP POLICY IF EXISTS egide_readable_labels ON {table}")
        op.execute(f"DROP POLICY IF EXISTS egide_rows ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    # The role stays: other databases of the cluster may use it.
    op.execute(f"REVOKE SELECT ON labels, documents, chunks FROM {READER}")
