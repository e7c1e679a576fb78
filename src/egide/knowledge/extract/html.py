"""HTML: visible text by block element, headings as sections; scripts and styles dropped."""

from __future__ import annotations

from html.parser import HTMLParser

from egide.knowledge.extract.model import DocumentBuilder, ExtractedDocument
from egide.knowledge.extract.text import decode

_BLOCKS = {
    "p",
    "div",
    "li",
    "tr",
    "br",
    "section",
    "article",
    "blockquote",
    "pre",
    "td",
    "th",
    "header",
    "footer",
    "table",
    "ul",
    "ol",
    "dd",
    "dt",
}
_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_HIDDEN = {"script", "style", "template", "noscript", "head"}


class _Collector(HTMLParser):
    def __init__(self, builder: DocumentBuilder) -> None:
        super().__init__(convert_charrefs=True)
        self.builder = builder
        self.buffer: list[str] = []
        self.hidden = 0
        self.heading: int | None = None
        self.title = ""
        self.in_title = False

    def flush(self) -> None:
        text = "".join(self.buffer).strip()
        self.buffer = []
        if not text:
            return
        if self.heading is not None:
            self.builder.heading(self.heading, text)
        else:
            self.builder.add(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self.in_title = True
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _HEADINGS:
            self.flush()
            self.heading = _HEADINGS[tag]
        elif tag in _BLOCKS:
            self.flush()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in _HIDDEN:
            self.hidden = max(self.hidden - 1, 0)
        elif tag in _HEADINGS:
            self.flush()
            self.heading = None
        elif tag in _BLOCKS:
            self.flush()

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        elif not self.hidden:
            self.buffer.append(data)


def extract_html(data: bytes, filename: str) -> ExtractedDocument:
    """Extract an HTML page; `<title>` (or the first heading) is the title."""
    builder = DocumentBuilder("html", filename)
    collector = _Collector(builder)
    collector.feed(decode(data, filename))
    collector.close()
    collector.flush()
    document = builder.build(title=" ".join(collector.title.split()) or filename)
    return document
