"""PDF rendering of a marked document: the banner at the top and bottom of every page.

fpdf2's built-in fonts only know Latin-1, so the text is set in DejaVu Sans,
shipped (subset) in `fonts/`; a character the font lacks is drawn as "�"
rather than vanishing from a document someone will sign off.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from egide.core.labels import PolicyRegistry
from egide.workflows.document import Block, MarkedDocument

_FONT = "DejaVu"
_MARGIN = 20.0  # mm, left and right
_TOP = 26.0  # mm: where the body starts, below the banner
_BOTTOM = 26.0  # mm kept free above the page's bottom edge for the footer
_LINE = 5.5  # mm, body line height
_RECORD_TITLE = "Décision / Decision"
_BREAKS = frozenset("\t\n\r\f\v\u2028\u2029")


def _font_path(name: str) -> Path:
    return Path(str(files("egide.workflows") / "fonts" / name))


@cache
def _drawable() -> frozenset[int]:
    """The code points the shipped font can draw."""
    from fontTools.ttLib import TTFont

    with TTFont(_font_path("DejaVuSans.ttf"), lazy=True) as font:
        return frozenset(font.getBestCmap())


def _clean(text: str) -> str:
    # Line breaks become spaces (each block is one paragraph); no-break spaces stay,
    # as French typography needs them before « » : ; ! ?
    known = _drawable()
    return "".join(" " if ch in _BREAKS else ch if ord(ch) in known else "\ufffd" for ch in text)


class _Pages(FPDF):
    """An A4 page whose header and footer carry the banner marking."""

    def __init__(self, banner: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.banner = banner
        self.add_font(_FONT, "", _font_path("DejaVuSans.ttf"))
        self.add_font(_FONT, "B", _font_path("DejaVuSans-Bold.ttf"))
        self.set_margins(_MARGIN, _TOP, _MARGIN)
        self.set_auto_page_break(True, margin=_BOTTOM)
        self.alias_nb_pages("{nb}")

    def header(self) -> None:
        self.set_y(9)
        self._banner()
        self.set_draw_color(160, 160, 160)
        self.line(_MARGIN, self.get_y() + 1.5, self.w - _MARGIN, self.get_y() + 1.5)
        self.set_y(_TOP)

    def footer(self) -> None:
        # The page number is written before the banner, so the banner is the last
        # text of every page, as it is the last thing a reader sees.
        self.set_y(-22)
        self.set_draw_color(160, 160, 160)
        self.line(_MARGIN, self.get_y(), self.w - _MARGIN, self.get_y())
        self.set_font(_FONT, "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, f"page {self.page_no()} / {{nb}}", align="R")
        self.set_y(-16)
        self._banner()

    def _banner(self) -> None:
        self.set_font(_FONT, "B", 11)
        self.set_text_color(0, 0, 0)
        self.multi_cell(0, 5.5, self.banner, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def pdf_of(document: MarkedDocument, policies: PolicyRegistry) -> bytes:
    """A4 PDF: banner on every page, title, portion-marked blocks, decision record."""
    banner = _clean(policies.format(document.label))
    pdf = _Pages(banner)
    pdf.set_title(_clean(document.title))
    pdf.set_subject(banner)
    pdf.set_keywords(f"{banner}; {policies.portion(document.label)}")
    pdf.set_creator("Égide")
    pdf.set_author("Égide")
    pdf.set_lang("fr")
    pdf.add_page()
    pdf.set_font(_FONT, "B", 16)
    pdf.multi_cell(0, 8, _clean(document.title), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    for block in document.blocks:
        _block(pdf, block, policies.portion(block.label or document.label))
    _record(pdf, document.record)
    return bytes(pdf.output())


def _block(pdf: _Pages, block: Block, portion: str) -> None:
    if block.kind == "heading":
        _heading(pdf, f"{portion} {block.text}", 13)
        return
    indent = 6.0 if block.kind == "bullet" else 0.0
    if indent:
        pdf.set_font(_FONT, "", 10.5)
        pdf.set_x(_MARGIN + 1.5)
        pdf.write(_LINE, "•")
        pdf.set_left_margin(_MARGIN + indent)
        pdf.set_x(_MARGIN + indent)
    pdf.set_font(_FONT, "B", 10.5)
    pdf.write(_LINE, f"{portion} ")
    pdf.set_font(_FONT, "", 10.5)
    pdf.write(_LINE, _clean(block.text))
    pdf.set_left_margin(_MARGIN)
    pdf.ln(_LINE + 2.0)


def _heading(pdf: _Pages, text: str, size: float) -> None:
    # Keep a heading with at least two lines of what follows it.
    if pdf.will_page_break(size * 0.6 + 3 * _LINE):
        pdf.add_page()
    pdf.ln(2)
    pdf.set_font(_FONT, "B", size)
    pdf.multi_cell(0, size * 0.55, _clean(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)


def _record(pdf: _Pages, record: tuple[str, ...]) -> None:
    pdf.ln(3)
    pdf.set_draw_color(160, 160, 160)
    pdf.line(_MARGIN, pdf.get_y(), pdf.w - _MARGIN, pdf.get_y())
    _heading(pdf, _RECORD_TITLE, 11)
    pdf.set_font(_FONT, "", 9)
    for line in record:
        pdf.multi_cell(0, 4.5, f"– {_clean(line)}", align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
