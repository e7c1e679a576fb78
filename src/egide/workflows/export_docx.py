"""DOCX rendering of a marked document: the banner in the header and footer of every page.

Word repeats a section's header and footer on every page; the document has
one section, no distinct first page and no distinct even pages, so the banner
is on all of them. The marking is also in the core properties (subject,
category, keywords) and in custom properties, where records-management tools
look for it, with the STANAG 4774 label in XML.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from io import BytesIO
from xml.sax.saxutils import escape

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import CONTENT_TYPE, RELATIONSHIP_TYPE
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph

from egide.core.labels import PolicyRegistry
from egide.core.stanag4774 import to_xml
from egide.workflows.document import MarkedDocument

_RECORD_TITLE = "Décision / Decision"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_CUSTOM_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
_VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
# Custom properties must carry this format identifier (ECMA-376 part 1, 22.3.2.2).
_FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"


def docx_of(document: MarkedDocument, policies: PolicyRegistry) -> bytes:
    """A4 DOCX: banner in header and footer, title, portion-marked blocks, decision record."""
    banner = policies.format(document.label)
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(20)
    section.different_first_page_header_footer = False
    _banner(section.header.paragraphs[0], banner)
    _page_number(section.footer.paragraphs[0])
    _banner(section.footer.add_paragraph(), banner)

    doc.add_heading(_safe(document.title), level=0)
    for block in document.blocks:
        if block.kind == "heading":
            portion = policies.portion(block.label or document.label)
            doc.add_heading(f"{portion} {_safe(block.text)}", level=1)
            continue
        style = "List Bullet" if block.kind == "bullet" else None
        paragraph = doc.add_paragraph(style=style)
        paragraph.add_run(f"{policies.portion(block.label or document.label)} ").bold = True
        paragraph.add_run(_safe(block.text))
    doc.add_heading(_RECORD_TITLE, level=2)
    for line in document.record:
        doc.add_paragraph().add_run(f"– {_safe(line)}").font.size = Pt(9)

    now = datetime.now(UTC).replace(microsecond=0)
    props = doc.core_properties
    props.title = _property(document.title)
    props.subject = props.category = _property(banner)
    props.keywords = _property(f"{banner}; {policies.portion(document.label)}")
    props.author = props.last_modified_by = "Égide"
    # The content hash ties the file to the approval in the journal.
    props.comments = _property(document.record[-1] if document.record else "")
    props.language = "fr-FR"
    props.revision = 1
    props.created = props.modified = now
    _custom_properties(doc, {"Marking": banner, "STANAG4774": to_xml(document.label, policies)})
    out = BytesIO()
    doc.save(out)
    return out.getvalue()


def _safe(text: str) -> str:
    """Text XML can hold: control characters would make python-docx refuse the document."""
    return _CONTROL.sub("\ufffd", text)


def _property(text: str) -> str:
    """A core property value: python-docx refuses more than 255 characters."""
    text = _safe(text)
    return text if len(text) <= 255 else text[:254] + "…"


def _banner(paragraph: Paragraph, banner: str) -> None:
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run(banner)
    run.bold = True
    run.font.size = Pt(11)
    run.font.color.rgb = RGBColor(0, 0, 0)


def _page_number(paragraph: Paragraph) -> None:
    """`page n / N` with Word fields, which Word fills in on every page."""
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    paragraph.add_run("page ").font.size = Pt(8)
    _field(paragraph, "PAGE")
    paragraph.add_run(" / ").font.size = Pt(8)
    _field(paragraph, "NUMPAGES")


def _field(paragraph: Paragraph, instruction: str) -> None:
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _custom_properties(doc: DocxDocument, values: dict[str, str]) -> None:
    """Add `docProps/custom.xml` (python-docx reads and writes only the core ones)."""
    entries = "".join(
        f'<property fmtid="{_FMTID}" pid="{pid}" name="{escape(name)}">'
        f"<vt:lpwstr>{escape(value)}</vt:lpwstr></property>"
        for pid, (name, value) in enumerate(values.items(), start=2)
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Properties xmlns="{_CUSTOM_NS}" xmlns:vt="{_VT_NS}">{entries}</Properties>'
    )
    package = doc.part.package
    part = Part(
        PackURI("/docProps/custom.xml"),
        CONTENT_TYPE.OFC_CUSTOM_PROPERTIES,
        xml.encode("utf-8"),
        package,
    )
    package.relate_to(part, RELATIONSHIP_TYPE.CUSTOM_PROPERTIES)
