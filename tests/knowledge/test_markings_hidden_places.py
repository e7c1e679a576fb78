"""Markings written where no body text is: attached messages' attachments, alt texts,
comments and document identifiers (issue 11: fail-secure reading).

Each document below carries a low marking in plain sight (DIFFUSION RESTREINTE)
and a higher one in a place a reader of the file sees but body extraction
skips: the higher one must label the document, for search and for ask. An
attachment of an attached message is ingested, at least at the label of every
message that encloses it. The expectations are written by hand.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from docx.document import Document as DocumentObject
from sqlalchemy import text

from egide.app import Platform
from egide.core.principals import Principal, Role
from egide.errors import InvalidLabel
from egide.settings import Settings
from tests.knowledge import formats

READERS = {
    "dr_fra": "DR NAT FRA",
    "s_fra": "SECRET NAT FRA",
    "ts_fra": "TS NAT FRA",
    "nr_deu": "NATO RESTRICTED NAT DEU",
    "ns_deu": "NATO SECRET NAT DEU",
}
DR_BANNER = "DIFFUSION RESTREINTE"
SECRET_READERS = {"s_fra", "ts_fra"}
TS_READERS = {"ts_fra"}
# word -> (label it must carry, readers who must find it); everyone else must never see it.
EXPECTED = {
    "enveloppecorps": ("TRÈS SECRET", TS_READERS),
    "messageinterne": ("TRÈS SECRET", TS_READERS),
    "pjimbriquee": ("TRÈS SECRET", TS_READERS),
    "pjimbriqueedr": ("TRÈS SECRET", TS_READERS),
    "imgcorps": ("SECRET", SECRET_READERS),
    "commentcorps": ("TRÈS SECRET", TS_READERS),
    "docxrevue": ("TRÈS SECRET", TS_READERS),
    "docxident": ("SECRET", SECRET_READERS),
}


def _inner_message() -> bytes:
    """A DR message whose own attachments are unmarked and DR-bannered."""
    return formats.eml(
        "messageinterne : relais du dossier",
        subject=f"[{DR_BANNER}] Annexe",
        attachments=[
            ("cibles.txt", b"pjimbriquee : liste des cibles"),
            ("horaires.txt", f"{DR_BANNER}\n\npjimbriqueedr : horaires".encode()),
        ],
    )


def _html(extra: str, body: str) -> bytes:
    return (
        f'<html><head><meta name="classification" content="{DR_BANNER}"><title>Note</title>'
        f"</head><body><!-- page générée par l'outil -->{extra}<p>{body}</p>"
        '<img src="logo.png" alt="logo du service"></body></html>'
    ).encode()


def _docx(body: str, *, identifier: str | None = None) -> bytes:
    def build(document: DocumentObject) -> None:
        document.sections[0].header.paragraphs[0].text = DR_BANNER
        if identifier is not None:
            document.core_properties.identifier = identifier
        document.add_paragraph(body)

    return formats.docx(build)


def corpus() -> list[tuple[str, bytes]]:
    return [
        (
            "transfert.eml",
            formats.eml(
                "enveloppecorps : transfert du dossier",
                subject="[TRÈS SECRET] Transfert",
                attachments=[("fwd.eml", _inner_message())],
            ),
        ),
        (
            "carte.html",
            _html('<img src="carte.png" alt="SECRET - carte du dispositif">', "imgcorps : secteur"),
        ),
        ("commentaire.html", _html("<!-- TRES SECRET -->", "commentcorps : ordre de mouvement")),
        ("revue.docx", formats.with_comments(_docx("docxrevue : plan de relève"), "TRÈS SECRET")),
        ("identifiant.docx", _docx("docxident : inventaire", identifier="SECRET")),
    ]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Platform, dict[str, Principal]]]:
    data_dir = tmp_path_factory.mktemp("hidden-places")
    url = f"sqlite:///{data_dir / 'egide.db'}"
    name = f"egide_hidden_{uuid.uuid4().hex[:12]}"
    admin_engine = None
    if request.param == "postgres":
        admin_engine = request.getfixturevalue("postgres_admin")
        with admin_engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin_engine.url.set(database=name).render_as_string(hide_password=False)
    platform = Platform(Settings(data_dir=data_dir, database_url=url))
    platform.initialise()
    try:
        r, identity = platform.policies, platform.identity
        identity.add_user(
            "t",
            "admin",
            clearance=r.parse_clearance("TS NAT FRA"),
            roles=[Role.ADMIN, Role.ANALYST],
        )
        for reader, clearance in READERS.items():
            identity.add_user(
                "t", reader, clearance=r.parse_clearance(clearance), roles=[Role.ANALYST]
            )
        admin = identity.principal("admin")
        platform.knowledge.create_collection(admin, "h")
        for filename, data in corpus():
            platform.knowledge.ingest(admin, "h", filename, data)
        yield platform, {n: identity.principal(n) for n in [*READERS, "admin"]}
    finally:
        platform.close()
        if admin_engine is not None:
            with admin_engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_each_passage_carries_the_marking_of_its_hidden_place(
    world: tuple[Platform, dict[str, Principal]],
) -> None:
    platform, people = world
    for word, (label, _) in EXPECTED.items():
        hits = platform.knowledge.search(people["admin"], word, collection="h", mode="fulltext")
        assert [h.label for h in hits if word in h.text] == [label], (word, hits)


def test_no_reader_sees_a_passage_above_them_and_entitled_readers_find_it(
    world: tuple[Platform, dict[str, Principal]],
) -> None:
    platform, people = world
    k = platform.knowledge
    for name in READERS:
        reader = people[name]
        for word, (_, entitled) in EXPECTED.items():
            received = []
            for mode in ("fulltext", "dense", "hybrid"):
                hits = k.search(reader, word, collection="h", k=10, mode=mode)
                received.append(repr(hits))
                if name in entitled and mode == "fulltext":
                    assert any(word in h.text for h in hits), (name, word)
            answer = k.ask(reader, word, reader.clearance.as_label(), collection="h")
            received.append(repr(answer))
            if name not in entitled:
                leaked = [w for w in EXPECTED if w in "".join(received)]
                leaked = [w for w in leaked if name not in EXPECTED[w][1]]
                assert not leaked, (name, word, leaked)


REFUSED = [
    ("img.html", _html('<img src="c.png" alt="SECRET DÉFENSE">', "texte"), "HTML <img alt>"),
    ("comment.html", _html("<!-- SECRET DEFENSE -->", "texte"), "HTML comment"),
    ("c.docx", formats.with_comments(_docx("texte"), "SECRET DÉFENSE"), "DOCX comment 1"),
    ("i.docx", _docx("texte", identifier="SECRET DÉFENSE"), "DOCX property identifier"),
    (
        "nested.eml",
        formats.eml(
            "enveloppe refusee",
            subject="[SECRET] Transfert",
            attachments=[
                (
                    "fwd.eml",
                    formats.eml(
                        "interne", attachments=[("x.txt", b"SECRET DEFENSE\n\nrefuseeprofonde")]
                    ),
                )
            ],
        ),
        "body",
    ),
]


@pytest.mark.parametrize(("filename", "data", "source"), REFUSED, ids=[r[0] for r in REFUSED])
def test_an_unreadable_marking_in_a_hidden_place_refuses_the_whole_file(
    world: tuple[Platform, dict[str, Principal]], filename: str, data: bytes, source: str
) -> None:
    platform, people = world
    admin = people["admin"]
    with pytest.raises(InvalidLabel, match="SECRET D") as refused:
        platform.knowledge.ingest(admin, "h", filename, data)
    assert refused.value.message.startswith(f"{source}:")
    # Nothing of the file was kept: not the message, not its other attachments.
    for word in ("refusee", "texte"):
        assert not [
            h
            for h in platform.knowledge.search(admin, word, collection="h", mode="fulltext")
            if word in h.text
        ]
