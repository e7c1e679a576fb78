"""Issue 11, findings 1 and 5 in the knowledge service: joins read back, reads go on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from egide.app import Platform
from egide.core.principals import Principal, Role
from egide.settings import Settings
from egide.store import intern_label
from egide.store.models import LabelRecord

DOCS = {
    # A French banner with a handling mention NATO names otherwise, and a NATO portion.
    "mixte.txt": "SECRET INDUSTRIEL\n\nLe site industriel de Tarn produit des obus.\n\n"
    "(NS) Allied depots near Tarn hold artillery shells.",
    "fr.txt": "SECRET\n\nUn bataillon blindé adverse se regroupe dans la forêt de Dravna.",
    "nato.txt": "NATO SECRET\n\nAllied radio traffic near Dravna forest.",
}
READERS = {
    "admin": "TS NAT FRA, DEU, POL",
    "fra": "SECRET NAT FRA",
    "deu": "NATO SECRET NAT DEU",
    "gbr": "NATO SECRET NAT GBR, NATO",
    "dr": "DR NAT FRA",
}


@pytest.fixture
def people(data_dir: Path, database_url: str) -> Iterator[tuple[Platform, dict[str, Principal]]]:
    platform = Platform(Settings(data_dir=data_dir, database_url=database_url))
    platform.initialise()
    r = platform.policies
    for name, clearance in READERS.items():
        roles = [Role.ADMIN, Role.ANALYST] if name == "admin" else [Role.ANALYST]
        platform.identity.add_user("t", name, clearance=r.parse_clearance(clearance), roles=roles)
    principals = {n: platform.identity.principal(n) for n in READERS}
    platform.knowledge.create_collection(principals["admin"], "c")
    for name, body in DOCS.items():
        platform.knowledge.ingest(principals["admin"], "c", name, body.encode())
    yield platform, principals
    platform.close()


def files(platform: Platform, who: Principal, query: str) -> set[str]:
    return {h.filename for h in platform.knowledge.search(who, query, mode="fulltext", k=10)}


def texts(platform: Platform, who: Principal, query: str) -> str:
    return " ".join(h.text for h in platform.knowledge.search(who, query, mode="fulltext", k=10))


def test_a_cross_policy_join_is_stored_readable_and_searchable(
    people: tuple[Platform, dict[str, Principal]],
) -> None:
    platform, who = people
    with platform.database.transaction() as session:
        stored = [c for (c,) in session.query(LabelRecord.canonical)]
    for canonical in stored:
        assert platform.policies.canonical(platform.policies.parse(canonical)) == canonical
    assert "NATO SECRET COMMERCIAL REL TO FRA" in stored
    assert "site industriel" in texts(platform, who["fra"], "Tarn")
    for name in ("deu", "gbr", "dr"):
        # The French passage stays French; what a foreign reader may get of this
        # document is a matter of its portion marks (knowledge/markings.py).
        assert "site industriel" not in texts(platform, who[name], "Tarn"), name


def test_foreign_readers_read_nato_material_only(
    people: tuple[Platform, dict[str, Principal]],
) -> None:
    platform, who = people
    assert files(platform, who["fra"], "Dravna") == {"fr.txt", "nato.txt"}
    assert files(platform, who["deu"], "Dravna") == {"nato.txt"}
    assert files(platform, who["gbr"], "Dravna") == {"nato.txt"}
    assert files(platform, who["dr"], "Dravna") == set()


def test_a_stored_label_that_no_longer_reads_blocks_no_one(
    people: tuple[Platform, dict[str, Principal]],
) -> None:
    platform, who = people
    with platform.database.transaction() as session:
        intern_label(session, "NATO SECRET INDUSTRIEL")  # what an older join stored
    assert files(platform, who["fra"], "Dravna") == {"fr.txt", "nato.txt"}
    assert files(platform, who["deu"], "Dravna") == {"nato.txt"}
