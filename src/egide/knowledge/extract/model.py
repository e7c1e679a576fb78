"""What extraction produces: the document's text, cut into positioned segments."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Segment:
    """A paragraph-sized piece of a document, with its exact place in `ExtractedDocument.text`."""

    text: str
    start: int
    end: int
    page: int | None = None
    section: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExtractedDocument:
    """The text of one file, its segments, metadata and attached documents."""

    kind: str
    filename: str
    title: str
    text: str
    segments: tuple[Segment, ...]
    metadata: dict[str, str] = field(default_factory=dict)
    attachments: tuple[ExtractedDocument, ...] = ()


class DocumentBuilder:
    """Accumulates paragraphs into one text, recording exact offsets."""

    def __init__(self, kind: str, filename: str) -> None:
        self.kind = kind
        self.filename = filename
        self._parts: list[str] = []
        self._segments: list[Segment] = []
        self._length = 0
        self.section: tuple[str, ...] = ()
        self.page: int | None = None

    def add(self, paragraph: str) -> None:
        """Append one paragraph (blank ones are dropped)."""
        text = " ".join(paragraph.split()) if "\n" not in paragraph.strip() else _tidy(paragraph)
        if not text:
            return
        if self._parts:
            self._parts.append("\n\n")
            self._length += 2
        start = self._length
        self._parts.append(text)
        self._length += len(text)
        self._segments.append(Segment(text, start, self._length, self.page, self.section))

    def heading(self, level: int, title: str) -> None:
        """Enter a section: the path keeps the enclosing headings above `level`."""
        title = " ".join(title.split())
        if title:
            self.section = (*self.section[: max(level - 1, 0)], title)
            self.add(title)

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
        )


def _tidy(paragraph: str) -> str:
    # Keep line breaks (banners are whole lines) but drop trailing spaces and blank lines.
    lines = [" ".join(line.split()) for line in paragraph.strip().splitlines()]
    return "\n".join(line for line in lines if line)
