"""What extraction produces: the document's text, cut into positioned segments."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Segment:
    """A paragraph-sized piece of a document, with its exact place in `ExtractedDocument.text`.

    `section` is the path of enclosing headings and `headings` the indices of
    the segments holding them (the same length), so that a heading's own label
    can be checked before it is shown beside a passage.
    """

    text: str
    start: int
    end: int
    page: int | None = None
    section: tuple[str, ...] = ()
    headings: tuple[int, ...] = ()


@dataclass(frozen=True)
class Carried:
    """Text a format carries outside the body where a marking may be written.

    Attributes:
        source: Where it was found, for messages ("DOCX first-page header").
        text: The text as found (may hold several lines).
        explicit: A field whose purpose is the classification (`X-Classification:`,
            `<meta name="classification">`): it must parse as a marking, or the
            document is refused.
    """

    source: str
    text: str
    explicit: bool = False


@dataclass(frozen=True)
class ExtractedDocument:
    """The text of one file, its segments, metadata and attached documents.

    `carried` holds the headers, footers, properties and metadata fields that
    are not body text but may carry the document's marking.
    """

    kind: str
    filename: str
    title: str
    text: str
    segments: tuple[Segment, ...]
    metadata: dict[str, str] = field(default_factory=dict)
    attachments: tuple[ExtractedDocument, ...] = ()
    carried: tuple[Carried, ...] = ()


class DocumentBuilder:
    """Accumulates paragraphs into one text, recording exact offsets."""

    def __init__(self, kind: str, filename: str) -> None:
        self.kind = kind
        self.filename = filename
        self._parts: list[str] = []
        self._segments: list[Segment] = []
        self._length = 0
        self.section: tuple[str, ...] = ()
        self._headings: tuple[int, ...] = ()
        self.page: int | None = None
        self.carried: list[Carried] = []

    def add(self, paragraph: str) -> None:
        """Append one paragraph (blank ones are dropped); its line breaks are kept."""
        text = _tidy(paragraph)
        if not text:
            return
        if self._parts:
            self._parts.append("\n\n")
            self._length += 2
        start = self._length
        self._parts.append(text)
        self._length += len(text)
        self._segments.append(
            Segment(text, start, self._length, self.page, self.section, self._headings)
        )

    def heading(self, level: int, title: str) -> None:
        """Enter a section: the path keeps the enclosing headings above `level`."""
        title = " ".join(title.split())
        if title:
            keep = max(level - 1, 0)
            self.section = (*self.section[:keep], title)
            self._headings = (*self._headings[:keep], len(self._segments))
            self.add(title)

    def carry(self, source: str, text: str | None, *, explicit: bool = False) -> None:
        """Record a header, footer, property or metadata field that may hold a marking."""
        if text and text.strip():
            self.carried.append(Carried(source, text.strip(), explicit))

    def build(
        self,
        title: str,
        metadata: dict[str, str] | None = None,
        attachments: tuple[ExtractedDocument, ...] = (),
    ) -> ExtractedDocument:
        """The finished document."""
        return ExtractedDocument(
            kind=self.kind,
            filename=self.filename,
            title=title,
            text="".join(self._parts),
            segments=tuple(self._segments),
            metadata=metadata or {},
            attachments=attachments,
            carried=tuple(self.carried),
        )


def _tidy(paragraph: str) -> str:
    # Keep line breaks: every line is a portion boundary (a banner or a portion mark
    # opens a line), so joining lines would let one mark label its neighbours.
    lines = [" ".join(line.split()) for line in paragraph.strip().splitlines()]
    return "\n".join(line for line in lines if line)
