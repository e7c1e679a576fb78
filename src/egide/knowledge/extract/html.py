"""HTML: visible text by block element, headings as sections; scripts and styles dropped.

Banners are also read from `<title>`, from `<meta>` tags naming a
classification (`classification`, `security-classification`, `dc.rights`…),
from every `alt` text (an image's, shown when it is not) and from comments
(`<!-- TRÈS SECRET -->`, seen by whoever opens the source): none is body
text, but a marking written there labels the page.
Inline elements stay on their line: a portion mark inside a `<span>` can
only raise the rest of the line (see `egide.knowledge.markings`).
"""

from __future__ import annotations

import re
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
# <meta name=…> whose content is the page's classification (must parse) or may hold one.
_META_EXPLICIT = re.compile(r"classif|marking|marquage", re.IGNORECASE)
_META_OTHER = {"dc.rights", "dcterms.rights", "dcterms.accessrights", "keywords", "subject"}


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
        if tag == "meta":
            self.meta(dict(attrs))
        for name, value in attrs:
            if name == "alt":
                self.builder.carry(f"HTML <{tag} alt>", value)
        if tag == "title":
            self.in_title = True
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _HEADINGS:
            self.flush()
            self.heading = _HEADINGS[tag]
        elif tag in _BLOCKS:
            self.flush()

    def meta(self, attrs: dict[str, str | None]) -> None:
        name = (attrs.get("name") or attrs.get("http-equiv") or attrs.get("property") or "").lower()
        content = attrs.get("content")
        if _META_EXPLICIT.search(name):
            self.builder.carry(f"HTML <meta name={name!r}>", content, explicit=True)
        elif name in _META_OTHER:
            self.builder.carry(f"HTML <meta name={name!r}>", content)

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

    def handle_comment(self, data: str) -> None:
        self.builder.carry("HTML comment", data)

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
    title = " ".join(collector.title.split())
    builder.carry("HTML <title>", title)
    return builder.build(title=title or filename)
