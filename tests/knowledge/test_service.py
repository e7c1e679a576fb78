"""Ingestion, search and answers on SQLite and PostgreSQL with the real e5 embedder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from egide.app import Platform
from egide.core.principals import Principal, Role
from egide.errors import Conflict, Forbidden, IntegrityError, InvalidInput, NotFound
from egide.knowledge.records import ChunkRecord, DocumentRecord
from egide.knowledge.search import hydrate
from egide.settings import Settings
from egide.store.database import _alembic_config

DOCS = {
    "np.txt": "NON PROTÉGÉ\n\nLa météo annonce de la neige sur la vallée de l'Osna.",
    "dr.txt": "DIFFUSION RESTREINTE\n\nLe convoi CLOU-7 transporte du carburant vers Marsk.",
    "s.txt": "SECRET\n\nUn bataillon blindé adverse se regroupe dans la forêt de Dravna.\n\n"
    "(DR) Des coupures d'électricité touchent Dravna.",
    "sf.txt": "SECRET SPÉCIAL FRANCE\n\nLe carburant du convoi CLOU-7 est sabotable à Tarn.",
    "nato.txt": "NATO SECRET REL TO DEU, POL\n\nAllied radio traffic near Dravna forest.",
}


@pytest.fixture(scope="module")
def embedder_cache() -> dict[str, object]:
    return {}


@pytest.fixture
def platform(data_dir: Path, database_url: str) -> Iterator[Platform]:
    current = Platform(Settings(data_dir=data_dir, database_url=database_url))
    current.initialise()
    yield current
    current.close()


@pytest.fixture
def people(platform: Platform) -> dict[str, Principal]:
    r = platform.policies
    for name, clearance, roles in [
        ("admin", "TS NAT FRA, DEU, POL", [Role.ADMIN, Role.ANALYST]),
        ("dr", "DR", [Role.ANALYST]),
        ("secret", "SECRET", [Role.ANALYST]),
        ("deu", "NATO SECRET NAT DEU", [Role.ANALYST]),
    ]:
        platform.identity.add_user("t", name, clearance=r.parse_clearance(clearance), roles=roles)
    return {n: platform.identity.principal(n) for n in ("admin", "dr", "secret", "deu")}


@pytest.fixture
def loaded(platform: Platform, people: dict[str, Principal]) -> Platform:
    knowledge = platform.knowledge
    knowledge.create_collection(people["admin"], "exercice")
    for name, body in DOCS.items():
        knowledge.ingest(people["admin"], "exercice", name, body.encode())
    return platform


def titles(hits) -> set[str]:  # type: ignore[no-untyped-def]
    return {h.filename for h in hits}


def test_each_method_finds_the_right_chunk(loaded: Platform, people) -> None:
    k = loaded.knowledge
    for mode in ("fulltext", "dense", "hybrid"):
        hits = k.search(people["admin"], "convoi CLOU-7 carburant Marsk", mode=mode, k=3)
        assert hits[0].filename == "dr.txt", (mode, hits)
    english = k.search(people["admin"], "armoured battalion gathering in a forest", k=2)
    assert titles(english) & {"s.txt", "nato.txt"}


def test_label_filter_is_inside_the_query(loaded: Platform, people) -> None:
    k = loaded.knowledge
    for mode in ("fulltext", "dense", "hybrid"):
        dr_hits = k.search(people["dr"], "Dravna bataillon convoi carburant", mode=mode, k=10)
        assert {h.label for h in dr_hits} <= {"NON PROTÉGÉ", "DIFFUSION RESTREINTE"}
        texts = " ".join(h.text for h in dr_hits)
        assert "bataillon" not in texts and "sabotable" not in texts
        # The DR paragraph of the SECRET report is readable on its own.
        assert "coupures d'électricité" in texts or (mode == "fulltext" and "Dravna" not in texts)
    german = k.search(people["deu"], "Dravna convoi carburant radio", k=10)
    assert "sf.txt" not in titles(german) and "nato.txt" in titles(german)
    french = k.search(people["secret"], "Allied radio traffic Dravna", k=10)
    assert "nato.txt" not in titles(french)


def test_no_starvation_when_top_results_are_unreadable(platform: Platform, people) -> None:
    k = platform.knowledge
    k.create_collection(people["admin"], "c")
    for i in range(12):
        k.ingest(people["admin"], "c", f"s{i}.txt", f"SECRET\n\nDravna rapport {i}.".encode())
    for i in range(3):
        k.ingest(people["admin"], "c", f"d{i}.txt", f"DR\n\nNote logistique {i} Dravna.".encode())
    for mode in ("fulltext", "dense", "hybrid"):
        hits = k.search(people["dr"], "Dravna rapport", collection="c", k=3, mode=mode)
        assert len(hits) == 3 and all(h.label == "DIFFUSION RESTREINTE" for h in hits), mode


def test_label_rules_at_ingestion(platform: Platform, people) -> None:
    k = platform.knowledge
    r = platform.policies
    k.create_collection(people["admin"], "c")
    with pytest.raises(InvalidInput, match="no classification marking"):
        k.ingest(people["admin"], "c", "plain.txt", b"Texte sans marquage.")
    raised = k.ingest(people["admin"], "c", "raised.txt", b"DR\n\nTexte.", label=r.parse("SECRET"))
    assert raised[0].label == "SECRET"
    lowered = k.ingest(people["admin"], "c", "low.txt", b"SECRET\n\nTexte.", label=r.parse("NP"))
    assert lowered[0].label == "SECRET"
    with pytest.raises(Forbidden):
        k.ingest(people["dr"], "c", "up.txt", b"SECRET\n\nTexte au-dessus.")
    with pytest.raises(NotFound):
        k.ingest(people["admin"], "nope", "x.txt", b"DR\n\nx")


def test_versions_duplicates_and_delete_everywhere(platform: Platform, people) -> None:
    k = platform.knowledge
    k.create_collection(people["admin"], "c")
    first = k.ingest(people["admin"], "c", "a.txt", b"DR\n\nVersion une du texte.")[0]
    again = k.ingest(people["admin"], "c", "a.txt", b"DR\n\nVersion une du texte.")[0]
    assert again.status == "unchanged" and again.document_id == first.document_id
    with pytest.raises(Conflict, match=f"--replace {first.document_id}"):
        k.ingest(people["admin"], "c", "a.txt", b"DR\n\nVersion deux du texte.")
    second = k.ingest(
        people["admin"], "c", "a.txt", b"DR\n\nVersion deux du texte.", replace=first.document_id
    )[0]
    assert second.status == "new-version" and second.version == 2
    assert second.document_id == first.document_id
    assert not k.search(people["admin"], "une", collection="c", mode="fulltext")
    k.delete_document(people["admin"], second.document_id)
    assert not k.search(people["admin"], "Version texte", collection="c")
    with platform.database.transaction() as session:
        assert session.execute(text("SELECT count(*) FROM chunks")).scalar() == 0
        if platform.database.dialect == "sqlite":
            assert session.execute(text("SELECT count(*) FROM chunk_vectors")).scalar() == 0
            hits = session.execute(
                text("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'version'")
            ).scalar()
            assert hits == 0


def test_embedding_cache_embeds_each_text_once(platform: Platform, people) -> None:
    k = platform.knowledge
    k.create_collection(people["admin"], "c")
    calls: list[int] = []
    inner = k.embedder.inner
    original = inner.passages

    def counting(texts):  # type: ignore[no-untyped-def]
        calls.append(len(texts))
        return original(texts)

    inner.passages = counting  # type: ignore[method-assign]
    k.ingest(people["admin"], "c", "a.txt", b"DR\n\nTexte commun.\n\n(S) Autre texte.")
    k.ingest(people["admin"], "c", "b.txt", b"DR\n\nTexte commun.")
    assert sum(calls) == 2


def test_extractive_answer(loaded: Platform, people) -> None:
    r = loaded.policies
    answer = loaded.knowledge.ask(people["dr"], "Que transporte le convoi CLOU-7 ?", r.parse("DR"))
    assert "carburant" in answer.text and answer.citations
    assert r.format(answer.label) == "DIFFUSION RESTREINTE"
    assert all(c.marking in ("NON PROTÉGÉ", "DIFFUSION RESTREINTE") for c in answer.citations)


def test_a_ranked_id_the_reader_may_not_read_fails_the_whole_search(
    loaded: Platform, people: dict[str, Principal]
) -> None:
    """Hydration filters by label again (and by row security on PostgreSQL): all or nothing."""
    k = loaded.knowledge
    readable = k.readable_label_ids(people["dr"])
    with loaded.database.transaction() as session:
        rows = session.execute(
            select(ChunkRecord.id, DocumentRecord.filename).join(
                DocumentRecord, DocumentRecord.id == ChunkRecord.document_id
            )
        ).all()
    secret = next(i for i, name in rows if name == "sf.txt")
    public = next(i for i, name in rows if name == "np.txt")
    with loaded.database.transaction() as session, pytest.raises(IntegrityError):
        hydrate(session, k.index, [(public, 1.0), (secret, 0.5)], {}, readable=readable)
    with loaded.database.transaction() as session:
        hits = hydrate(session, k.index, [(public, 1.0)], {}, readable=readable)
    assert [h.filename for h in hits] == ["np.txt"]


def test_a_readable_portion_of_a_higher_document_hides_its_title(
    loaded: Platform, people: dict[str, Principal]
) -> None:
    hits = loaded.knowledge.search(people["dr"], "coupures d'électricité Dravna", k=1)
    assert "coupures" in hits[0].text
    assert hits[0].filename == "" and hits[0].document_title == ""


def test_full_text_statistics_follow_ingestion_versions_and_deletion(
    loaded: Platform, people: dict[str, Principal]
) -> None:
    k = loaded.knowledge
    listed = k.documents(people["admin"], collection="exercice").documents
    current = next(d for d in listed if d.filename == "dr.txt")
    k.ingest(
        people["admin"],
        "exercice",
        "dr.txt",
        b"DIFFUSION RESTREINTE\n\nLe convoi part.",
        replace=current.id,
    )
    secret = k.search(people["admin"], "bataillon blindé Dravna", k=1)[0]
    k.delete_document(people["admin"], secret.document_id)
    with loaded.database.transaction() as session:
        actual = session.execute(
            text(
                "SELECT collection_id, label_id, count(*), sum(tokens) FROM chunks "
                "GROUP BY collection_id, label_id"
            )
        ).all()
        kept = session.execute(
            text("SELECT collection_id, label_id, chunks, tokens FROM chunk_stats WHERE chunks > 0")
        ).all()
        tokens = session.scalars(text("SELECT tokens FROM chunks")).all()
        postings = _postings(session) if loaded.database.dialect == "postgresql" else None
    assert sorted(map(tuple, actual)) == sorted(map(tuple, kept))
    assert all(t > 0 for t in tokens)
    if postings is not None:
        indexed, expected = postings
        assert indexed == expected


def _postings(session: Session) -> tuple[list[Any], list[Any]]:
    """PostgreSQL's word index as it is, and as the chunks left say it should be."""
    columns = "term, collection_id, label_id, chunk_id, tf, tokens"
    indexed = session.execute(text(f"SELECT {columns} FROM chunk_terms ORDER BY {columns}")).all()
    expected = session.execute(
        text(
            "SELECT u.lexeme, c.collection_id, c.label_id, c.id, cardinality(u.positions), "
            "c.tokens FROM chunks c, unnest(c.tsv) u ORDER BY 1, 2, 3, 4, 5, 6"
        )
    ).all()
    return [tuple(r) for r in indexed], [tuple(r) for r in expected]


def test_the_word_index_migration_fills_from_existing_chunks_and_comes_off_cleanly(
    loaded: Platform, people: dict[str, Principal]
) -> None:
    database = loaded.database
    config = _alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006_chunk_statistics")
    database.migrate()  # 0007 again, over chunks that are already there
    if database.dialect == "postgresql":
        with database.transaction() as session:
            indexed, expected = _postings(session)
        assert indexed and indexed == expected
    hits = loaded.knowledge.search(people["secret"], "bataillon blindé Dravna", k=1)
    assert "bataillon" in hits[0].text
