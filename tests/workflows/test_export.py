"""Marked exports: the banner on every page of every format, a portion mark on every paragraph."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from io import BytesIO
from pathlib import Path
from typing import Any

import docx
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from egide.app import Platform
from egide.core.labels import Label, PolicyRegistry
from egide.core.principals import Principal, Role
from egide.core.stanag4774 import from_xml
from egide.errors import Forbidden, InvalidInput
from egide.settings import Settings
from egide.store import AuditEntryRecord
from egide.workflows.document import Block, MarkedDocument, document_of
from egide.workflows.export import FORMATS, export_proposal, render

R = PolicyRegistry.builtin()
DOC_LABEL = "SECRET SPÉCIAL FRANCE"
# French SECRET is national by itself: its banner is written SECRET.
BANNER = R.format(R.parse(DOC_LABEL))
PORTIONS = ["NON PROTÉGÉ", "DIFFUSION RESTREINTE", "SECRET SPÉCIAL FRANCE", "SECRET"]
ACCENTED = "Évaluation « Osna » — l’état-major s’inquiète ; Łódź, Straße, Ωmega, Москва, 12 €"
PARAGRAPHS = 60


def _text(i: int) -> str:
    return (
        f"P{i:02d} Le bataillon blindé adverse poursuit son regroupement au nord de la ville, "
        "sous couvert de la forêt, avec des mouvements logistiques de nuit observés "
        "par plusieurs capteurs indépendants. "
    ) * (1 + i % 3)


def _portion(i: int) -> Label:
    return R.parse(PORTIONS[i % len(PORTIONS)])


@pytest.fixture(scope="module")
def document() -> MarkedDocument:
    blocks: list[Block] = [Block("paragraph", ACCENTED, R.parse("DR"))]
    for i in range(PARAGRAPHS):
        if i % 10 == 0:
            blocks.append(Block("heading", f"Partie {i // 10 + 1} — éléments"))
        kind = "bullet" if i % 7 == 3 else "paragraph"
        blocks.append(Block(kind, _text(i), _portion(i)))
    return MarkedDocument(
        title="Synthèse « Osna » — été",
        label=R.parse(DOC_LABEL),
        blocks=tuple(blocks),
        record=("approve by chef at 2026-11-20 10:00 UTC — recoupé", "Content SHA-256: ab12"),
    )


@pytest.fixture(scope="module")
def pdf(document: MarkedDocument) -> PdfReader:
    return PdfReader(BytesIO(render(document, R, "pdf")))


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_every_pdf_page_starts_and_ends_with_the_banner(pdf: PdfReader) -> None:
    pages = [page.extract_text() for page in pdf.pages]
    assert len(pages) >= 3
    for n, text in enumerate(pages, start=1):
        flat = _flat(text)
        assert flat.startswith(BANNER), (n, flat[:80])
        assert flat.endswith(BANNER), (n, flat[-80:])
        assert f"page {n} / {len(pages)}" in flat


def test_every_pdf_paragraph_has_its_portion_mark(pdf: PdfReader) -> None:
    flat = _flat(" ".join(page.extract_text() for page in pdf.pages))
    for i in range(PARAGRAPHS):
        assert f"{R.portion(_portion(i))} P{i:02d} " in flat, i
    assert f"(DR) {ACCENTED}" in flat
    assert "Synthèse « Osna » — été" in flat
    assert "approve by chef at 2026-11-20 10:00 UTC — recoupé" in flat
    # The decision record comes after the last paragraph.
    assert flat.index("Décision / Decision") > flat.index(f"P{PARAGRAPHS - 1:02d}")


def test_pdf_metadata(pdf: PdfReader) -> None:
    meta = pdf.metadata
    assert meta is not None
    assert meta.title == "Synthèse « Osna » — été"
    assert meta.subject == BANNER
    assert meta.creator == "Égide"


def test_characters_that_cannot_be_drawn_are_shown_not_dropped() -> None:
    text = "avant 中 après\x00\x0bfin"
    doc = MarkedDocument("T", R.parse("DR"), (Block("paragraph", text, R.parse("DR")),))
    drawn = _flat(PdfReader(BytesIO(render(doc, R, "pdf"))).pages[0].extract_text())
    assert "(DR) avant \ufffd après\ufffd fin" in drawn
    word = docx.Document(BytesIO(render(doc, R, "docx")))
    assert "(DR) avant 中 après\ufffd\ufffdfin" in [p.text for p in word.paragraphs]


def test_long_title_and_record_fit_docx_properties() -> None:
    title = "Synthèse " * 40
    record = ("approve by chef — " + "recoupé " * 40, "Content SHA-256: " + "ab" * 32)
    doc = MarkedDocument(title, R.parse("DR"), (Block("paragraph", "x", R.parse("DR")),), record)
    props = docx.Document(BytesIO(render(doc, R, "docx"))).core_properties
    assert len(props.title) == 255 and props.title.endswith("…")
    assert props.comments == record[-1]


def test_docx_banner_in_header_and_footer_of_every_page(document: MarkedDocument) -> None:
    word = docx.Document(BytesIO(render(document, R, "docx")))
    assert len(word.sections) == 1
    section = word.sections[0]
    assert not section.different_first_page_header_footer
    assert not word.settings.odd_and_even_pages_header_footer
    assert [p.text for p in section.header.paragraphs] == [BANNER]
    footer = [p.text for p in section.footer.paragraphs]
    assert footer[-1] == BANNER and footer[0].startswith("page ")
    assert {"PAGE", "NUMPAGES"} <= set(re.findall(r'w:instr="(\w+)"', section.footer._element.xml))


def test_docx_portion_marks_and_properties(document: MarkedDocument) -> None:
    data = render(document, R, "docx")
    word = docx.Document(BytesIO(data))
    texts = [p.text for p in word.paragraphs]
    assert texts[0] == "Synthèse « Osna » — été"
    for i in range(PARAGRAPHS):
        mark = f"{R.portion(_portion(i))} P{i:02d} "
        assert any(t.startswith(mark) for t in texts), i
    assert f"(DR) {ACCENTED}" in texts
    assert texts[-1] == "– Content SHA-256: ab12"
    props = word.core_properties
    assert (props.title, props.subject, props.category) == (
        "Synthèse « Osna » — été",
        BANNER,
        BANNER,
    )
    assert BANNER in props.keywords
    with zipfile.ZipFile(BytesIO(data)) as package:
        custom = package.read("docProps/custom.xml").decode("utf-8")
    assert f"<vt:lpwstr>{BANNER}</vt:lpwstr>" in custom
    stanag = re.search(r'name="STANAG4774"><vt:lpwstr>(.*?)</vt:lpwstr>', custom, re.S)
    assert stanag is not None
    unescaped = stanag.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert from_xml(unescaped, R).label == document.label


def test_markdown_and_format_registry(document: MarkedDocument) -> None:
    lines = render(document, R).decode("utf-8").strip().splitlines()
    assert lines[0] == BANNER and lines[-1] == BANNER
    assert f"(DR) {ACCENTED}" in lines
    assert set(FORMATS) == {"markdown", "pdf", "docx"}
    with pytest.raises(InvalidInput, match="choose one of markdown, pdf, docx"):
        render(document, R, "odt")


# Through the proposal service: only an approved proposal leaves, and it is journaled.


@pytest.fixture
def platform(data_dir: Path) -> Iterator[Platform]:
    current = Platform(Settings(data_dir=data_dir))
    current.initialise()
    yield current
    current.close()


@pytest.fixture
def people(platform: Platform) -> dict[str, Principal]:
    specs = {
        "analyst": ("SECRET", [Role.ANALYST]),
        "chef": ("SECRET", [Role.APPROVER]),
        "adjoint": ("SECRET", [Role.APPROVER]),
    }
    for name, (clearance, roles) in specs.items():
        platform.identity.add_user("t", name, clearance=R.parse_clearance(clearance), roles=roles)
    return {name: platform.identity.principal(name) for name in specs}


def _propose(platform: Platform, who: Principal, label: str, blocks: list[dict[str, Any]]) -> int:
    created = platform.proposals.create(
        who,
        kind="report",
        title="Point de situation",
        content={"blocks": blocks},
        label=R.parse(label),
    )
    return created.id


def _releases(platform: Platform) -> list[str]:
    with platform.database.transaction() as session:
        rows = session.scalars(
            select(AuditEntryRecord).where(AuditEntryRecord.action == "proposal.release")
        ).all()
        return [str(row.details) for row in rows if not row.details.get("refused")]


def test_export_only_after_approval(platform: Platform, people: dict[str, Principal]) -> None:
    blocks = [
        {"kind": "heading", "text": "Situation"},
        {"kind": "paragraph", "text": "Convoi arrivé à Marsk.", "marking": "DR"},
        {"kind": "bullet", "text": "Dépôt repéré.", "marking": "SECRET"},
    ]
    pid = _propose(platform, people["analyst"], "SECRET", blocks)
    for name in FORMATS:
        with pytest.raises(Forbidden, match="not approved"):
            export_proposal(platform.proposals, R, people["analyst"], pid, name)
    assert _releases(platform) == []
    platform.proposals.approve(people["chef"], pid, rationale="recoupé")
    # SECRET: a second approver is needed before anything leaves.
    with pytest.raises(Forbidden, match="not approved"):
        export_proposal(platform.proposals, R, people["analyst"], pid, "pdf")
    platform.proposals.approve(people["adjoint"], pid, rationale="d'accord")
    done = export_proposal(platform.proposals, R, people["analyst"], pid, "pdf")
    assert done.filename == f"proposal-{pid}.pdf"
    text = _flat(PdfReader(BytesIO(done.data)).pages[0].extract_text())
    assert text.startswith("SECRET") and text.endswith("SECRET")
    assert "(DR) Convoi arrivé à Marsk." in text and "(S) Dépôt repéré." in text
    assert "approve by chef" in text and "recoupé" in text
    assert len(_releases(platform)) == 1 and "export pdf" in _releases(platform)[0]


def test_paragraph_above_the_document_label_is_refused(
    platform: Platform, people: dict[str, Principal]
) -> None:
    blocks = [{"kind": "paragraph", "text": "Source sensible.", "marking": "SECRET"}]
    pid = _propose(platform, people["analyst"], "DR", blocks)
    # The block raised the proposal's label: its banner covers the paragraph.
    proposal = platform.proposals.get(people["analyst"], pid)
    assert proposal.marking == "SECRET"
    # A document whose banner is below a block (a record from before the check) is refused.
    with pytest.raises(InvalidInput, match="block 1 is marked above the document's own label"):
        document_of(replace(proposal, label=R.parse("DR")), R)
    assert _releases(platform) == []
