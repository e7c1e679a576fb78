"""Leak suite across formats: mixed banners and portion marks, read through the real service.

Documents in TXT, Markdown, HTML, DOCX, PDF and e-mail (with attachments)
mix banners, title lines, carried markings and portion marks; every marked
line holds a canary word. Readers of several nationalities, levels and
compartments search (full-text, dense, hybrid) and ask. The expectations
are written by hand below, not computed by the code under test: each canary
lists who must find it and who must never see it.

French national information (FR policy, no REL TO) is releasable to French
nationals only (originator control, issue 11 finding 1). The assertions about
foreign readers and such text are kept in their own test, so that rule is
visible on its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pytest
from docx.document import Document as DocumentObject
from docx.shared import Inches
from sqlalchemy import text

from egide.app import Platform
from egide.core.principals import Principal, Role
from egide.demo.scenario import corpus_files
from egide.settings import Settings
from tests.knowledge import formats

READERS = {
    "dr_fra": "DR NAT FRA",
    "s_fra": "SECRET NAT FRA",
    "ts_fra": "TS NAT FRA",
    "ts_nuc_fra": "TS NUCLÉAIRE NAT FRA",
    "nr_deu": "NATO RESTRICTED NAT DEU",
    "ns_deu": "NATO SECRET NAT DEU",
    "ns_gbr": "NATO SECRET NAT GBR",
}
FRENCH = {"dr_fra", "s_fra", "ts_fra", "ts_nuc_fra"}
FOREIGN = set(READERS) - FRENCH
ALL = set(READERS)


@dataclass(frozen=True)
class Canary:
    """A word written once in the corpus, and who may read it."""

    word: str
    find: frozenset[str]  # readers who must find it
    never: frozenset[str]  # readers who must never see it
    national: bool = False  # FR text with no REL TO: foreign readers are the originator rule


def canary(word: str, find: set[str], never: set[str], national: bool = False) -> Canary:
    return Canary(word, frozenset(find), frozenset(never), national)


NS_DEU_FRA = {"s_fra", "ts_fra", "ts_nuc_fra", "ns_deu"}
CANARIES = [
    # osna.txt — SECRET SPÉCIAL FRANCE; "(DR)…⏎(S)…" in one paragraph; one unmarked line.
    canary("dravnacoupure", FRENCH, FOREIGN),
    canary("humintbataillon", FRENCH - {"dr_fra"}, FOREIGN | {"dr_fra"}),
    canary("sanspastille", FRENCH - {"dr_fra"}, FOREIGN | {"dr_fra"}),
    # hermine.md — title line TRES SECRET; (DR) and (TS) portions; a TS heading.
    canary("marskconvoi", {"dr_fra", "s_fra", "ts_fra", "ts_nuc_fra"}, set(), national=True),
    canary("klevofrappe", {"ts_fra", "ts_nuc_fra"}, ALL - {"ts_fra", "ts_nuc_fra"}),
    # note.html — <meta name="classification" content="SECRET">; inline <span>(S).
    canary("meteoosna", {"dr_fra", "s_fra", "ts_fra", "ts_nuc_fra"}, set(), national=True),
    canary("spanbrigade", {"s_fra", "ts_fra", "ts_nuc_fra"}, {"dr_fra", "nr_deu"}, national=True),
    canary("brligne", {"s_fra", "ts_fra", "ts_nuc_fra"}, {"dr_fra", "nr_deu"}, national=True),
    # rapport.docx — TRÈS SECRET NUCLÉAIRE in a first-page header table; soft line breaks.
    canary("ravitocarbu", {"ts_nuc_fra"}, ALL - {"ts_nuc_fra"}),
    canary("silotarn", {"ts_nuc_fra"}, ALL - {"ts_nuc_fra"}),
    canary("nucheading", {"ts_nuc_fra"}, ALL - {"ts_nuc_fra"}),
    # page.pdf — subject NATO SECRET REL TO FRA, DEU; "(NR)…⏎(NS)…" on one page.
    canary(
        "allieradio",
        {"dr_fra", "s_fra", "ts_fra", "ts_nuc_fra", "nr_deu", "ns_deu"},
        {"ns_gbr"},
    ),
    canary(
        "alliebrigade",
        {"s_fra", "ts_fra", "ts_nuc_fra", "ns_deu"},
        {"ns_gbr", "nr_deu", "dr_fra"},
    ),
    # plan.eml — subject [TRÈS SECRET]; body (DR); unmarked and DR-bannered attachments.
    canary("courrielconvoi", FRENCH, set(), national=True),
    canary("pjnonmarquee", {"ts_fra", "ts_nuc_fra"}, ALL - {"ts_fra", "ts_nuc_fra"}),
    canary("pjrestreinte", {"ts_fra", "ts_nuc_fra"}, ALL - {"ts_fra", "ts_nuc_fra"}),
    canary("pjportion", FRENCH, set(), national=True),
    # otan.eml — X-Classification NATO SECRET REL TO DEU, FRA; unmarked attachment.
    canary("otancorps", NS_DEU_FRA, ALL - NS_DEU_FRA),
    canary("otanannexe", NS_DEU_FRA, ALL - NS_DEU_FRA),
    # fr-secret.txt — SECRET, no release marking: French national information.
    canary("fraisecret", {"s_fra", "ts_fra", "ts_nuc_fra"}, {"dr_fra", "nr_deu"}, national=True),
]
# Words of TRÈS SECRET titles and headings: never beside a lower passage.
TS_WORDS = {"HERMINE": ALL - {"ts_fra", "ts_nuc_fra"}}


def _rapport(document: DocumentObject) -> None:
    section = document.sections[0]
    section.different_first_page_header_footer = True
    table = section.first_page_header.add_table(rows=1, cols=2, width=Inches(6))
    table.cell(0, 0).text = "État-major"
    table.cell(0, 1).text = "TRÈS SECRET NUCLÉAIRE"
    document.add_heading("Plan nucheading", level=1)
    paragraph = document.add_paragraph()
    paragraph.add_run("(DR) ravitocarbu du dépôt").add_break()
    paragraph.add_run("(S) silotarn en alerte")


def corpus() -> list[tuple[str, bytes]]:
    return [
        (
            "osna.txt",
            "SECRET SPÉCIAL FRANCE\n\n"
            "(DR) dravnacoupure : coupures d'électricité à Dravna\n"
            "(S) humintbataillon : le bataillon blindé se regroupe\n\n"
            "sanspastille : ligne sans marque\n".encode(),
        ),
        (
            "hermine.md",
            b"# TRES SECRET - Operation HERMINE\n\n"
            b"(DR) marskconvoi : le convoi de carburant atteint Marsk\n\n"
            b"## (TS) Frappe HERMINE\n\n"
            b"(TS) klevofrappe : frappe sur le pont de Klevo\n",
        ),
        (
            "note.html",
            b'<html><head><meta name="classification" content="SECRET"><title>Note</title>'
            b"</head><body><p>(DR) meteoosna neige sur la vallee"
            b"<span>(S) spanbrigade la brigade avance</span></p>"
            b"<p>(DR) meteoosna bis<br>(S) brligne position du poste</p></body></html>",
        ),
        ("rapport.docx", formats.docx(_rapport)),
        (
            "page.pdf",
            formats.pdf(
                [["(NR) allieradio radio traffic near Dravna\n(NS) alliebrigade brigade moves"]],
                subject="NATO SECRET REL TO FRA, DEU",
            ),
        ),
        (
            "plan.eml",
            formats.eml(
                "(DR) courrielconvoi : convoi prévu demain",
                subject="[TRÈS SECRET] Plan HERMINE",
                attachments=[
                    ("annexe.txt", b"pjnonmarquee : cibles de la frappe"),
                    ("note.txt", b"DIFFUSION RESTREINTE\n\npjrestreinte : liste des cibles"),
                    ("extrait.txt", b"(DR) pjportion : horaires du convoi"),
                ],
            ),
        ),
        (
            "otan.eml",
            formats.eml(
                "otancorps : corps d'armée allié en route",
                subject="INTSUM",
                headers={"X-Classification": "NATO SECRET REL TO DEU, FRA"},
                attachments=[("annex.txt", b"otanannexe : annex of the corps")],
            ),
        ),
        ("fr-secret.txt", "SECRET\n\nfraisecret : dépôt de munitions".encode()),
    ]


QUERIES = [
    *(c.word for c in CANARIES),
    "Operation HERMINE",
    "bataillon blindé regroupe",
    "convoi carburant Marsk",
    "frappe pont Klevo",
    "brigade",
    "liste des cibles",
]


@dataclass
class World:
    """The ingested corpus, its readers, and what each reader received (asked once each)."""

    platform: Platform
    readers: dict[str, Principal]
    cache: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)

    def received(self, name: str, queries: Iterable[str]) -> Iterator[tuple[str, str, str]]:
        """(channel, query, everything the reader received) for each query and channel."""
        for query in queries:
            if (name, query) not in self.cache:
                self.cache[name, query] = list(_responses(self.platform, self.readers[name], query))
            for channel, received in self.cache[name, query]:
                yield channel, query, received


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    # Built once per database: ingesting and querying every channel is the costly part.
    data_dir = tmp_path_factory.mktemp("formats")
    url = f"sqlite:///{data_dir / 'egide.db'}"
    name = f"egide_formats_{uuid.uuid4().hex[:12]}"
    admin_engine = None
    if request.param == "postgres":
        admin_engine = request.getfixturevalue("postgres_admin")
        with admin_engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin_engine.url.set(database=name).render_as_string(hide_password=False)
    platform = Platform(Settings(data_dir=data_dir, database_url=url))
    platform.initialise()
    try:
        yield World(platform, _load(platform))
    finally:
        platform.close()
        if admin_engine is not None:
            with admin_engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _load(platform: Platform) -> dict[str, Principal]:
    r = platform.policies
    identity = platform.identity
    identity.add_user(
        "t",
        "admin",
        clearance=r.parse_clearance("TS NUCLÉAIRE NAT FRA, DEU"),
        roles=[Role.ADMIN, Role.ANALYST],
    )
    admin = identity.principal("admin")
    readers = {}
    for name, clearance in READERS.items():
        identity.add_user("t", name, clearance=r.parse_clearance(clearance), roles=[Role.ANALYST])
        readers[name] = identity.principal(name)
    k = platform.knowledge
    k.create_collection(admin, "formats")
    for filename, data in corpus():
        k.ingest(admin, "formats", filename, data)
    return readers


def _responses(platform: Platform, reader: Principal, query: str) -> Iterator[tuple[str, str]]:
    k = platform.knowledge
    r = platform.policies
    for mode in ("fulltext", "dense", "hybrid"):
        hits = k.search(reader, query, collection="formats", k=10, mode=mode)
        for hit in hits:
            assert reader.clearance.permits(r.parse(hit.label)).allowed, (mode, hit)
        yield mode, repr(hits)
    answer = k.ask(reader, query, reader.clearance.as_label(), collection="formats")
    assert reader.clearance.permits(answer.label).allowed
    yield "ask", repr(answer)


def test_no_canary_leaks_through_full_text(world: World) -> None:
    """The quick pass: every canary asked for by name, full-text, by every reader."""
    k = world.platform.knowledge
    for name, reader in world.readers.items():
        forbidden = [c.word for c in CANARIES if name in c.never]
        forbidden += [w for w, who in TS_WORDS.items() if name in who]
        for query in [*(c.word for c in CANARIES), *TS_WORDS]:
            received = repr(k.search(reader, query, collection="formats", mode="fulltext"))
            leaked = [w for w in forbidden if w.lower() in received.lower()]
            assert not leaked, (name, query, leaked)


@pytest.mark.slow
def test_no_reader_sees_text_above_their_clearance(world: World) -> None:
    for name in READERS:
        forbidden = [c.word for c in CANARIES if name in c.never]
        forbidden += [w for w, who in TS_WORDS.items() if name in who]
        for channel, query, received in world.received(name, QUERIES):
            leaked = [w for w in forbidden if w.lower() in received.lower()]
            assert not leaked, (name, channel, query, leaked)
            entitled = [c.word for c in CANARIES if c.word == query and name in c.find]
            if channel == "hybrid" and entitled:
                assert entitled[0] in received, (name, query)


def test_entitled_readers_find_what_they_should(world: World) -> None:
    for item in CANARIES:
        for name in item.find:
            hits = world.platform.knowledge.search(
                world.readers[name], item.word, collection="formats", mode="fulltext"
            )
            assert any(item.word in h.text for h in hits), (name, item.word)


def test_attachments_take_at_least_their_message_label(world: World) -> None:
    platform = world.platform
    admin = platform.identity.principal("admin")
    hits = platform.knowledge.search(admin, "pjnonmarquee", collection="formats", mode="fulltext")
    assert hits and hits[0].label == "TRÈS SECRET"
    restricted = platform.knowledge.search(
        admin, "pjrestreinte", collection="formats", mode="fulltext"
    )
    assert restricted and restricted[0].label == "TRÈS SECRET"


def test_french_special_france_text_never_reaches_foreign_readers(world: World) -> None:
    """Finding 1(a): a portion mark (S) under SECRET SPÉCIAL FRANCE keeps SPÉCIAL FRANCE."""
    words = ["dravnacoupure", "humintbataillon", "sanspastille"]
    for name in FOREIGN:
        for channel, query, received in world.received(name, [*words, "bataillon blindé"]):
            for word in words:
                assert word not in received, (name, channel, query, word)


def test_french_national_text_never_reaches_foreign_readers(world: World) -> None:
    """Originator control (finding 1(b)): FR text without REL TO is for French nationals only."""
    national = [c.word for c in CANARIES if c.national]
    for name in FOREIGN:
        for channel, query, received in world.received(name, national):
            leaked = [w for w in national if w in received]
            assert not leaked, (name, channel, query, leaked)


def test_the_demo_liaison_officer_never_reads_the_special_france_note(world: World) -> None:
    """Finding 1 as found in `egide demo`: NATO SECRET NAT DEU asks where the battalion is."""
    platform = world.platform
    admin = platform.identity.principal("admin")
    k = platform.knowledge
    k.create_collection(admin, "demo")
    for filename, data in corpus_files():
        k.ingest(admin, "demo", filename, data)
    question = "Où se regroupe le bataillon blindé adverse ?"
    for name in ("ns_deu", "ns_gbr"):
        reader = world.readers[name]
        for mode in ("fulltext", "dense", "hybrid"):
            hits = k.search(reader, question, collection="demo", k=10, mode=mode)
            assert not [h for h in hits if "SPÉCIAL FRANCE" in h.label], (name, mode)
            assert "sources humaines" not in repr(hits) and "réseaux sociaux" not in repr(hits)
        answer = k.ask(reader, question, reader.clearance.as_label(), collection="demo")
        assert "sources humaines" not in repr(answer) and "réseaux sociaux" not in repr(answer)
    french = world.readers["s_fra"]
    hits = k.search(french, question, collection="demo", k=10)
    assert any("sources humaines" in h.text for h in hits)
