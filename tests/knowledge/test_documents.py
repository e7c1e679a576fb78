"""Document identity, versions, relabelling and deletion, tried as an adversary would.

Every test runs on SQLite and PostgreSQL. Readers vary by level, nationality,
compartment, organisation and role; a document a reader may not read must
answer exactly as a missing id does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import select, text

from egide.app import Platform
from egide.core.principals import Principal, Role
from egide.errors import Conflict, EgideError, Forbidden, InvalidInput, NotFound
from egide.knowledge.records import (
    ChunkRecord,
    CollectionRecord,
    DocumentRecord,
    DocumentVersionRecord,
)
from egide.settings import Settings
from egide.store import AuditEntryRecord, intern_label
from egide.store.database import _alembic_config

MISSING = 999_999
# Ids no database holds: past the random ids' range (2**53 - 1), past bigint's, zero, negative.
ABSURD = (2**63, 2**53, 2**31, 0, -1)

# name -> (clearance, roles, organisation)
PEOPLE = {
    "admin": ("TS CRYPTO NAT FRA", [Role.ADMIN, Role.ANALYST], "DRM"),
    "classifier": ("TS CRYPTO NAT FRA", [Role.CLASSIFIER], "DRM"),
    "analyst_ts": ("TS CRYPTO NAT FRA", [Role.ANALYST], "DRM"),
    "secret": ("SECRET NAT FRA", [Role.ANALYST], "DRM"),
    "dr": ("DR NAT FRA", [Role.ANALYST, Role.CLASSIFIER, Role.ADMIN], "DRM"),
    "deu": ("NATO SECRET NAT DEU", [Role.ANALYST, Role.CLASSIFIER, Role.ADMIN], "DRM"),
    "nocrypto": ("TS NAT FRA", [Role.ANALYST, Role.CLASSIFIER, Role.ADMIN], "DRM"),
    "other_org": ("TS CRYPTO NAT FRA", [Role.ANALYST, Role.CLASSIFIER, Role.ADMIN], "EMA"),
}
SECRET_REPORT = "SECRET\n\nLe bataillon blindé adverse se regroupe dans la forêt de Dravna.\n"


@pytest.fixture
def platform(data_dir: Path, database_url: str) -> Iterator[Platform]:
    current = Platform(Settings(data_dir=data_dir, database_url=database_url))
    current.initialise()
    yield current
    current.close()


@pytest.fixture
def people(platform: Platform) -> dict[str, Principal]:
    identity, policies = platform.identity, platform.policies
    for org in ("DRM", "EMA"):
        identity.add_organisation("t", org)
    for name, (clearance, roles, org) in PEOPLE.items():
        identity.add_user(
            "t", name, clearance=policies.parse_clearance(clearance), roles=roles, organisation=org
        )
    found = {name: identity.principal(name) for name in PEOPLE}
    platform.knowledge.create_collection(found["admin"], "c", organisations=["DRM"])
    return found


def ingest(platform: Platform, who: Principal, name: str, body: str, **kw: Any):  # type: ignore[no-untyped-def]
    return platform.knowledge.ingest(who, "c", name, body.encode(), **kw)[0]


def journal(platform: Platform, action: str) -> list[AuditEntryRecord]:
    with platform.database.transaction() as session:
        rows = list(
            session.scalars(
                select(AuditEntryRecord)
                .where(AuditEntryRecord.action == action)
                .order_by(AuditEntryRecord.seq)
            )
        )
        # Refusals of the action are journaled too (egide.audit.trail); these tests
        # look at what was done.
        rows = [row for row in rows if not row.details.get("refused")]
        for row in rows:
            session.expunge(row)
        return rows


def error_of(call: Callable[..., object], *args: Any, **kwargs: Any) -> EgideError:
    """The Égide error `call(*args, **kwargs)` raises (the test fails if it raises none)."""
    with pytest.raises(EgideError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_a_low_cleared_user_cannot_replace_a_secret_document_by_its_name(
    platform: Platform, people: dict[str, Principal]
) -> None:
    """Finding 7: same-name ingestion used to version a SECRET document down to NP."""
    k = platform.knowledge
    secret = ingest(platform, people["admin"], "rapport.txt", SECRET_REPORT)
    hijack = ingest(platform, people["dr"], "rapport.txt", "NON PROTÉGÉ\n\nRien à signaler.")
    fresh = ingest(platform, people["dr"], "inconnu.txt", "NON PROTÉGÉ\n\nRien de neuf.")
    # A new document, answered exactly as a file of a fresh name: nothing says one was hidden.
    assert hijack.document_id != secret.document_id
    assert (hijack.version, hijack.status, hijack.label) == (1, "new", "NON PROTÉGÉ")
    assert (fresh.version, fresh.status, fresh.label) == (1, "new", "NON PROTÉGÉ")
    # The same bytes as a hidden document are not "unchanged": a probe learns nothing.
    r = platform.policies
    hidden = k.ingest(people["admin"], "c", "brut.txt", b"Texte brut.", label=r.parse("SECRET"))
    probe = ingest(platform, people["dr"], "brut.txt", "Texte brut.", label=r.parse("DR"))
    assert probe.document_id != hidden[0].document_id
    assert (probe.version, probe.status, probe.label) == (1, "new", "DIFFUSION RESTREINTE")
    # The SECRET document is intact, still version 1, still found by its readers.
    hits = k.search(people["secret"], "bataillon blindé Dravna", collection="c", mode="fulltext")
    assert [h.document_id for h in hits] == [secret.document_id]
    view = k.document(people["admin"], secret.document_id)
    assert view.summary.version == 1 and view.summary.label == "SECRET"
    assert [v.version for v in view.versions] == [1]


def test_an_unchanged_file_with_a_higher_label_raises_it_and_says_so(
    platform: Platform, people: dict[str, Principal]
) -> None:
    """Finding 7: the higher label used to be printed and not applied."""
    k, r = platform.knowledge, platform.policies
    body = "DIFFUSION RESTREINTE\n\nLe convoi CLOU-7 transporte du carburant vers Marsk."
    first = ingest(platform, people["secret"], "note.txt", body)
    assert k.search(people["dr"], "convoi CLOU-7", collection="c", mode="fulltext")
    raised = ingest(platform, people["secret"], "note.txt", body, label=r.parse("SECRET"))
    assert raised.document_id == first.document_id
    assert (raised.status, raised.label, raised.version) == ("relabelled", "SECRET", 1)
    assert k.document(people["secret"], first.document_id).summary.label == "SECRET"
    assert not k.search(people["dr"], "convoi CLOU-7", collection="c", mode="fulltext")
    [entry] = journal(platform, "document.relabel")
    assert entry.details["from"] == r.canonical(r.parse("DR"))
    assert entry.details["to"] == r.canonical(r.parse("SECRET"))
    assert entry.details["direction"] == "raise"
    # A lower label given again changes nothing, and the label printed is the one applied.
    again = ingest(platform, people["secret"], "note.txt", body, label=r.parse("DR"))
    assert (again.status, again.label) == ("unchanged", "SECRET")
    assert len(journal(platform, "document.relabel")) == 1


def test_a_new_version_only_on_request_by_a_dominating_reader_and_never_lower(
    platform: Platform, people: dict[str, Principal]
) -> None:
    k = platform.knowledge
    secret = ingest(platform, people["admin"], "rapport.txt", SECRET_REPORT)
    # Same name, other content, by someone who may read it: refused with the way forward.
    clash = error_of(lambda: ingest(platform, people["secret"], "rapport.txt", "SECRET\n\nAutre."))
    assert isinstance(clash, Conflict)
    assert f"--replace {secret.document_id}" in clash.message
    # A replacement marked NON PROTÉGÉ keeps the document's SECRET label.
    v2 = ingest(
        platform,
        people["secret"],
        "rapport-v2.txt",
        "NON PROTÉGÉ\n\nLe bataillon a quitté la forêt.",
        replace=secret.document_id,
    )
    assert (v2.document_id, v2.version, v2.status, v2.label) == (
        secret.document_id,
        2,
        "new-version",
        "SECRET",
    )
    assert not k.search(people["dr"], "bataillon forêt", collection="c", mode="fulltext")
    hits = k.search(people["secret"], "bataillon forêt", collection="c", mode="fulltext")
    assert [h.text for h in hits] == ["Le bataillon a quitté la forêt."]
    assert {h.label for h in hits} == {"SECRET"}
    view = k.document(people["secret"], secret.document_id)
    assert [(v.version, v.filename) for v in view.versions] == [
        (1, "rapport.txt"),
        (2, "rapport-v2.txt"),
    ]
    [entry] = journal(platform, "document.replace")
    assert entry.details["version"] == 2 and entry.details["replaced_version"] == 1
    # A replacement names the document's own collection.
    k.create_collection(people["admin"], "autre")
    elsewhere = error_of(
        k.ingest, people["secret"], "autre", "r.txt", b"SECRET\n\nx", replace=secret.document_id
    )
    assert isinstance(elsewhere, InvalidInput) and "'c'" in elsewhere.message


@pytest.mark.parametrize(
    ("reader", "marking"),
    [
        ("dr", "SECRET"),  # lower level
        ("deu", "SECRET SPÉCIAL FRANCE"),  # other nationality
        ("nocrypto", "SECRET CRYPTO"),  # missing compartment
        ("other_org", "SECRET"),  # other organisation: the collection is DRM's
    ],
)
def test_a_document_the_caller_may_not_read_answers_as_a_missing_one(
    platform: Platform, people: dict[str, Principal], reader: str, marking: str
) -> None:
    k, r = platform.knowledge, platform.policies
    doc = ingest(platform, people["admin"], "cache.txt", f"{marking}\n\nTexte protégé.")
    who = people[reader]
    calls: dict[str, Callable[[int], object]] = {
        "show": lambda i: k.document(who, i),
        "relabel up": lambda i: k.relabel(who, i, r.parse("TS CRYPTO")),
        "relabel down": lambda i: k.relabel(who, i, r.parse("NP"), rationale="déclassé"),
        "delete": lambda i: k.delete_document(who, i),
        "replace": lambda i: k.ingest(who, "c", "x.txt", b"NP\n\nx", replace=i),
    }
    for name, call in calls.items():
        hidden, missing = error_of(call, doc.document_id), error_of(call, MISSING)
        if reader == "other_org" and name == "replace":
            # The collection itself is refused first, for a hidden and a missing id alike.
            assert type(hidden) is type(missing) is NotFound, name
            assert "collection" in hidden.message
            continue
        assert type(hidden) is type(missing) is NotFound, name
        assert hidden.message == missing.message.replace(str(MISSING), str(doc.document_id)), name
        for absurd in ABSURD:
            odd = error_of(call, absurd)
            assert isinstance(odd, NotFound), (name, absurd)
            assert odd.message == missing.message.replace(str(MISSING), str(absurd))
    assert doc.document_id not in {d.id for d in k.documents(who).documents}
    # Nothing changed for those who may read it.
    view = k.document(people["admin"], doc.document_id)
    assert view.summary.version == 1 and view.summary.label == r.format(r.parse(marking))


def test_relabelling_raises_freely_and_lowers_only_with_the_role_and_a_rationale(
    platform: Platform, people: dict[str, Principal]
) -> None:
    k, r = platform.knowledge, platform.policies
    doc = ingest(
        platform,
        people["admin"],
        "mixte.txt",
        "SECRET\n\nLe bataillon se regroupe.\n\n(DR) Des coupures d'électricité touchent Dravna.",
    ).document_id
    assert k.search(people["dr"], "coupures électricité", collection="c", mode="fulltext")
    # A reader may not raise above their own clearance.
    assert isinstance(error_of(lambda: k.relabel(people["secret"], doc, r.parse("TS"))), Forbidden)
    raised = k.relabel(people["analyst_ts"], doc, r.parse("TS"))
    assert (raised.previous, raised.label, raised.status) == ("SECRET", "TRÈS SECRET", "raised")
    assert raised.portions == 2
    # Raising joins every passage with the new label: the DR paragraph is TS now.
    assert not k.search(people["dr"], "coupures électricité", collection="c", mode="fulltext")
    assert isinstance(error_of(lambda: k.document(people["secret"], doc)), NotFound)

    def lower(who: str, rationale: str = "") -> object:
        return k.relabel(people[who], doc, r.parse("SECRET"), rationale=rationale)

    # Lowering needs the classifier role (an admin or TS analyst is not one) and a rationale.
    for who in ("admin", "analyst_ts"):
        refused = error_of(lower, who, "plus sensible")
        assert isinstance(refused, Forbidden) and "classifier" in refused.message
    assert isinstance(error_of(lambda: lower("classifier")), InvalidInput)
    lowered = k.relabel(people["classifier"], doc, r.parse("SECRET"), rationale="opération close")
    assert (lowered.label, lowered.status, lowered.portions) == ("SECRET", "lowered", 2)
    assert k.document(people["secret"], doc).summary.label == "SECRET"
    assert {p.label for p in k.document(people["secret"], doc).portions} == {"SECRET"}
    # The refused attempts are journaled too, as refusals: keep to what was done.
    entries = [e for e in journal(platform, "document.relabel") if not e.details.get("refused")]
    assert [e.details["direction"] for e in entries] == ["raise", "lower"]
    assert entries[1].details["rationale"] == "opération close"
    assert entries[1].actor == "user:classifier"
    # Relabelling to the same label changes nothing, but the request is journaled.
    assert k.relabel(people["secret"], doc, r.parse("SECRET")).status == "unchanged"
    done = [e for e in journal(platform, "document.relabel") if not e.details.get("refused")]
    assert [e.details["direction"] for e in done] == ["raise", "lower", "unchanged"]
    assert done[-1].actor == "user:secret"


def test_lowering_keeps_lower_portions_and_hides_versions_above_the_reader(
    platform: Platform, people: dict[str, Principal]
) -> None:
    k, r = platform.knowledge, platform.policies
    doc = ingest(
        platform,
        people["admin"],
        "ts.txt",
        "TRÈS SECRET\n\nPlan de manœuvre détaillé.\n\n(NP) Météo : neige sur l'Osna.",
    ).document_id
    k.relabel(people["classifier"], doc, r.parse("SECRET"), rationale="déclassifié par l'EMA")
    view = k.document(people["secret"], doc)
    # The (NP) line keeps its TRÈS SECRET banner's originator control (SPÉCIAL FRANCE).
    assert sorted(p.label for p in view.portions) == ["NON PROTÉGÉ SPÉCIAL FRANCE", "SECRET"]
    # Version 1 was ingested TRÈS SECRET: its title and file name stay hidden from a SECRET reader.
    assert view.versions == ()
    assert [v.version for v in k.document(people["admin"], doc).versions] == [1]


def test_deletion_needs_the_role_and_removes_everything(
    platform: Platform, people: dict[str, Principal]
) -> None:
    k = platform.knowledge
    doc = ingest(platform, people["admin"], "rapport.txt", SECRET_REPORT).document_id
    ingest(platform, people["admin"], "rapport.txt", SECRET_REPORT + "\nSuite.", replace=doc)
    refused = error_of(lambda: k.delete_document(people["analyst_ts"], doc))
    assert isinstance(refused, Forbidden) and "classifier" in refused.message
    k.delete_document(people["classifier"], doc)
    assert isinstance(error_of(lambda: k.document(people["admin"], doc)), NotFound)
    with platform.database.transaction() as session:
        assert not session.scalars(select(ChunkRecord).where(ChunkRecord.document_id == doc)).all()
        assert not session.scalars(
            select(DocumentVersionRecord).where(DocumentVersionRecord.document_id == doc)
        ).all()
    [entry] = [e for e in journal(platform, "document.delete") if not e.details.get("refused")]
    assert entry.actor == "user:classifier" and entry.objects == [f"document:{doc}"]


def test_listing_pages_filters_and_counts_only_readable_passages(
    platform: Platform, people: dict[str, Principal]
) -> None:
    k = platform.knowledge
    k.create_collection(people["admin"], "autre")
    # In id order, and ids are random: not the order of arrival.
    ids = sorted(
        ingest(platform, people["admin"], f"d{i}.txt", f"DR\n\nNote {i}.").document_id
        for i in range(3)
    )
    k.ingest(people["admin"], "autre", "a.txt", b"DR\n\nAilleurs.")
    mixed = ingest(
        platform, people["admin"], "m.txt", "SECRET\n\nSecret.\n\n(DR) Restreint."
    ).document_id
    first = k.documents(people["dr"], collection="c", limit=2)
    assert [d.id for d in first.documents] == ids[:2] and first.has_more
    rest = k.documents(people["dr"], collection="c", limit=2, after=ids[1])
    assert [d.id for d in rest.documents] == ids[2:] and not rest.has_more
    assert {d.collection for d in k.documents(people["dr"]).documents} == {"c", "autre"}
    secret_view = {d.id: d for d in k.documents(people["secret"], collection="c").documents}
    assert secret_view[mixed].passages == 2 and secret_view[mixed].label == "SECRET"
    assert isinstance(error_of(lambda: k.documents(people["dr"], limit=0)), InvalidInput)
    assert isinstance(error_of(lambda: k.documents(people["dr"], after=2**53)), InvalidInput)
    assert isinstance(error_of(lambda: k.documents(people["other_org"], collection="c")), NotFound)


def test_a_client_file_name_cannot_name_a_folder(
    platform: Platform, people: dict[str, Principal]
) -> None:
    done = ingest(platform, people["admin"], "../../etc/rapport.txt", SECRET_REPORT)
    assert done.filename == "rapport.txt"
    windows = ingest(platform, people["admin"], "C:\\Users\\x\\note.txt", "DR\n\nNote.")
    assert windows.filename == "note.txt"
    assert isinstance(
        error_of(lambda: ingest(platform, people["admin"], "../", "DR\n\nx")), InvalidInput
    )


def test_relabelled_passages_move_in_every_index(
    platform: Platform, people: dict[str, Principal]
) -> None:
    """Dense, full-text and statistics follow a relabel (triggers on both databases)."""
    k, r = platform.knowledge, platform.policies
    doc = ingest(platform, people["admin"], "n.txt", "DR\n\nLe convoi CLOU-7 part de Marsk.")
    k.relabel(people["secret"], doc.document_id, r.parse("SECRET"))
    for mode in ("fulltext", "dense", "hybrid"):
        assert not k.search(people["dr"], "convoi CLOU-7 Marsk", collection="c", mode=mode), mode
        assert k.search(people["secret"], "convoi CLOU-7 Marsk", collection="c", mode=mode), mode
    with platform.database.transaction() as session:
        actual = session.execute(
            text("SELECT collection_id, label_id, count(*) FROM chunks GROUP BY 1, 2")
        ).all()
        kept = session.execute(
            text("SELECT collection_id, label_id, chunks FROM chunk_stats WHERE chunks > 0")
        ).all()
    assert sorted(map(tuple, actual)) == sorted(map(tuple, kept))


def test_the_migration_folds_superseded_rows_into_versions_of_one_document(
    platform: Platform, people: dict[str, Principal]
) -> None:
    """Databases written before 0008 kept each version as a document row of its own."""
    database, k = platform.database, platform.knowledge
    config = _alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0007_term_postings")
    with database.transaction() as session:
        label = intern_label(session, platform.policies.canonical(platform.policies.parse("DR")))
        collection = session.scalar(select(CollectionRecord.id).where(CollectionRecord.name == "c"))
        assert collection is not None
        for version, status in [(1, "superseded"), (2, "superseded"), (3, "current")]:
            session.add(
                DocumentRecord(
                    collection_id=collection,
                    title=f"v{version}",
                    filename="a.txt",
                    version=version,
                    content_hash=f"{version:064d}",
                    label_id=label,
                    status=status,
                )
            )
    database.migrate()
    [listed] = k.documents(people["dr"]).documents
    assert listed.version == 3 and listed.title == "v3"
    view = k.document(people["dr"], listed.id)
    assert [(v.version, v.title) for v in view.versions] == [(1, "v1"), (2, "v2"), (3, "v3")]
    follow = ingest(platform, people["dr"], "a.txt", "DR\n\nSuite.", replace=listed.id)
    assert (follow.document_id, follow.version) == (listed.id, 4)


def test_concurrent_new_versions_of_one_document_follow_each_other(
    platform: Platform, people: dict[str, Principal]
) -> None:
    doc = ingest(platform, people["admin"], "rapport.txt", SECRET_REPORT).document_id
    errors: list[BaseException] = []

    def replace(n: int) -> None:
        try:
            ingest(platform, people["secret"], "r.txt", f"SECRET\n\nVersion {n}.", replace=doc)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=replace, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    view = platform.knowledge.document(people["secret"], doc)
    assert view.summary.version == 4 and [v.version for v in view.versions] == [1, 2, 3, 4]


def test_a_readable_passage_of_a_hidden_document_says_nothing_of_it(
    platform: Platform, people: dict[str, Principal]
) -> None:
    """Finding 8: headings (and page, offsets) of a TRÈS SECRET document reached DR readers."""
    body = (
        "TRÈS SECRET\n\n# Opération HERMINE\n\n## Débarquement à Tarn\n\n"
        + "Les unités embarquent de nuit. " * 30
        + "\n\n(DR) Les routes vers Tarn sont enneigées.\n"
    )
    platform.knowledge.ingest(people["admin"], "c", "hermine.md", body.encode())
    [hit] = platform.knowledge.search(people["dr"], "routes Tarn enneigées", k=1)
    assert "enneigées" in hit.text and hit.label == "DIFFUSION RESTREINTE"
    assert (hit.document_title, hit.filename, hit.section) == ("", "", "")
    assert (hit.page, hit.start, hit.end) == (None, 0, 0)
    [mine] = platform.knowledge.search(people["admin"], "routes Tarn enneigées", k=1)
    # Headings above a passage's label are never stored with it, even for readers cleared
    # for them; the passage's place in its document is.
    assert "HERMINE" not in mine.section and mine.start > 0
    assert mine.document_title == "Opération HERMINE"
