"""Row-level security on PostgreSQL: retrieval that forgot its label filter still leaks nothing.

Ranking queries (ids and scores, label filter in their SQL) run as the
application role so that their indexes work; the content is then read under
row-level security, and a ranked id it hides makes the search fail closed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from egide.app import Platform
from egide.core.principals import Principal, Role
from egide.errors import IntegrityError
from egide.knowledge.search import hydrate
from egide.settings import Settings

pytestmark = pytest.mark.postgres

DOCS = {
    "np.txt": "NON PROTÉGÉ\n\nLa météo annonce de la neige sur la vallée de l'Osna.",
    "dr.txt": "DIFFUSION RESTREINTE\n\nLe convoi CLOU-7 transporte du carburant vers Marsk.",
    "s.txt": "SECRET\n\nUn bataillon blindé adverse se regroupe dans la forêt de Dravna.",
}
LOW = {"NON PROTÉGÉ", "DIFFUSION RESTREINTE"}


def _load(platform: Platform) -> dict[str, Principal]:
    r = platform.policies
    platform.identity.add_user(
        "t", "admin", clearance=r.parse_clearance("TS"), roles=[Role.ADMIN, Role.ANALYST]
    )
    platform.identity.add_user("t", "dr", clearance=r.parse_clearance("DR"), roles=[Role.ANALYST])
    people = {n: platform.identity.principal(n) for n in ("admin", "dr")}
    platform.knowledge.create_collection(people["admin"], "c")
    for name, body in DOCS.items():
        platform.knowledge.ingest(people["admin"], "c", name, body.encode())
    return people


@pytest.fixture
def platform(data_dir: Path, postgres_admin: Engine) -> Iterator[Platform]:
    name = f"egide_test_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = postgres_admin.url.set(database=name).render_as_string(hide_password=False)
    current = Platform(Settings(data_dir=data_dir, database_url=url))
    current.initialise()
    yield current
    current.close()
    with postgres_admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


UNFILTERED = (
    "SELECT c.text, l.canonical FROM chunks c JOIN documents d ON d.id = c.document_id "
    "JOIN labels l ON l.id = c.label_id"
)


def test_unfiltered_select_under_the_reader_returns_no_unreadable_row(platform: Platform) -> None:
    people = _load(platform)
    knowledge = platform.knowledge
    readable = knowledge.readable_label_ids(people["dr"])
    with platform.database.transaction() as session:
        everything = session.execute(text(UNFILTERED)).all()
        assert {label for _, label in everything} >= LOW | {"SECRET"}
        knowledge.index.confine(session, readable)
        rows = session.execute(text(UNFILTERED)).all()
        titles = session.scalars(text("SELECT filename FROM documents")).all()
        vectors = session.scalar(text("SELECT count(*) FROM chunks WHERE embedding IS NOT NULL"))
    assert rows and {label for _, label in rows} <= LOW
    assert not any("bataillon" in body for body, _ in rows)
    assert sorted(titles) == ["dr.txt", "np.txt"]
    assert vectors == len(rows)


def test_a_ranking_query_given_every_label_still_returns_only_readable_chunks(
    platform: Platform,
) -> None:
    people = _load(platform)
    knowledge = platform.knowledge
    readable = knowledge.readable_label_ids(people["dr"])
    vector = knowledge.embedder.query("bataillon blindé forêt de Dravna")
    with platform.database.transaction() as session:
        every = set(session.scalars(text("SELECT id FROM labels")))
        knowledge.index.confine(session, readable)
        # The bug this guards against: a ranking call given too wide a label set.
        dense = knowledge.index.dense(session, vector, every, None, 10)
        labels = set(
            session.scalars(
                text(
                    "SELECT l.canonical FROM chunks c JOIN labels l ON l.id = c.label_id "
                    "WHERE c.id = ANY(:ids)"
                ),
                {"ids": [chunk for chunk, _ in dense]},
            )
        )
    assert dense and labels <= LOW


def test_hydrating_a_ranked_id_that_row_security_hides_fails_closed(platform: Platform) -> None:
    """Ranking runs as the application role; a filter bug there must not reach the reader."""
    people = _load(platform)
    knowledge = platform.knowledge
    readable = knowledge.readable_label_ids(people["dr"])
    with platform.database.transaction() as session:
        ids: dict[str, int] = dict(
            session.execute(
                text(
                    "SELECT d.filename, c.id FROM chunks c JOIN documents d ON d.id = c.document_id"
                )
            ).all()
        )
    ranked = [(ids["dr.txt"], 0.9), (ids["s.txt"], 0.8), (ids["np.txt"], 0.7)]
    with platform.database.transaction() as session:
        with pytest.raises(IntegrityError, match="nothing was returned"):
            hydrate(session, knowledge.index, ranked, {}, readable=readable)
        # Confined for the rest of the transaction: even the application's query sees no SECRET.
        assert (
            session.scalar(text("SELECT count(*) FROM chunks WHERE id = :i"), {"i": ids["s.txt"]})
            == 0
        )
    with platform.database.transaction() as session:
        hits = hydrate(session, knowledge.index, ranked[::2], {}, readable=readable)
    assert [h.filename for h in hits] == ["dr.txt", "np.txt"]


def test_without_declared_labels_the_reader_sees_nothing(platform: Platform) -> None:
    _load(platform)
    with platform.database.transaction() as session:
        session.execute(text("SET LOCAL ROLE egide_reader"))
        assert session.scalar(text("SELECT count(*) FROM chunks")) == 0
        assert session.scalar(text("SELECT count(*) FROM documents")) == 0
    with platform.database.transaction() as session:
        session.execute(text("SET LOCAL ROLE egide_reader"))
        session.execute(text("SELECT set_config('egide.readable_labels', '', true)"))
        assert session.scalar(text("SELECT count(*) FROM chunks")) == 0


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM chunks",
        "UPDATE documents SET title = 'x'",
        "SELECT count(*) FROM embedding_cache",
        "SELECT count(*) FROM audit_entries",
        "SELECT count(*) FROM chunk_terms",
    ],
)
def test_the_reader_may_only_read_the_content_tables(platform: Platform, statement: str) -> None:
    with platform.database.transaction() as session:
        session.execute(text("SET LOCAL ROLE egide_reader"))
        with pytest.raises(Exception, match="permission denied"):
            session.execute(text(statement))


def test_search_reads_content_under_row_security_and_ingestion_and_deletion_still_work(
    platform: Platform,
) -> None:
    people = _load(platform)
    knowledge = platform.knowledge
    hits = knowledge.search(people["dr"], "bataillon convoi carburant Dravna", collection="c")
    assert hits and {h.label for h in hits} <= LOW
    secret = knowledge.search(people["admin"], "bataillon blindé Dravna", collection="c", k=1)
    assert secret[0].filename == "s.txt"
    knowledge.delete_document(people["admin"], secret[0].document_id)
    with platform.database.transaction() as session:
        left = session.scalar(
            text("SELECT count(*) FROM chunks WHERE document_id = :d"),
            {"d": secret[0].document_id},
        )
    assert left == 0
    changed = "SECRET\n\nLe bataillon blindé a quitté la forêt de Dravna."
    assert knowledge.ingest(people["admin"], "c", "s.txt", changed.encode())[0].chunks == 1


def test_an_application_role_that_is_not_superuser_works_and_obeys_the_policies(
    postgres_admin: Engine, data_dir: Path
) -> None:
    """The production shape: the application's login role owns the tables but is no superuser."""
    suffix = uuid.uuid4().hex[:10]
    role, name = f"egide_app_{suffix}", f"egide_test_{suffix}"
    with postgres_admin.connect() as connection:
        connection.execute(text(f"CREATE ROLE {role} LOGIN"))
        connection.execute(text(f'CREATE DATABASE "{name}" OWNER {role}'))
    # The DBA's part (docs/storage.md): pgvector, and the reader role granted to the app.
    dba = postgres_admin.url.set(database=name)
    engine = create_engine(dba, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
        connection.execute(
            text(
                "DO $$ BEGIN CREATE ROLE egide_reader NOLOGIN; "
                "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
        )
    engine.dispose()
    url = dba.set(username=role, password=None).render_as_string(hide_password=False)
    platform = Platform(Settings(data_dir=data_dir, database_url=url))
    try:
        with pytest.raises(Exception, match=f"GRANT egide_reader TO {role}"):
            platform.initialise()
        with postgres_admin.connect() as connection:
            connection.execute(text(f"GRANT egide_reader TO {role}"))
        platform.initialise()
        people = _load(platform)
        hits = platform.knowledge.search(people["dr"], "bataillon convoi Dravna", collection="c")
        assert hits and {h.label for h in hits} <= LOW
        with platform.database.transaction() as session:
            # The owner sees everything (FORCE applies the policies, which let it).
            assert session.scalar(text("SELECT count(*) FROM chunks")) == len(DOCS)
            assert session.scalar(text("SELECT current_user")) == role
        platform.knowledge.delete_document(people["admin"], hits[0].document_id)
    finally:
        platform.close()
        with postgres_admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f"DROP ROLE IF EXISTS {role}"))
