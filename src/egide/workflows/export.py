"""Render an approved proposal for dissemination, marked at top and bottom.

Every format renders the same `MarkedDocument` (see `document.py`) and is one
entry of `FORMATS`; `export_proposal` is the one way out of the platform: it
checks the document can be marked, has the release journaled (refused unless
approved and unexpired), then renders.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from egide.core.labels import PolicyRegistry
from egide.core.principals import Principal
from egide.errors import InvalidInput
from egide.workflows.document import MarkedDocument, document_of
from egide.workflows.proposals import Proposal, ProposalService

Renderer = Callable[[MarkedDocument, PolicyRegistry], bytes]


@dataclass(frozen=True)
class ExportFormat:
    """One way to write a marked document: its name, media type, file suffix and renderer."""

    name: str
    media_type: str
    suffix: str
    render: Renderer


def render_markdown(proposal: Proposal, policies: PolicyRegistry) -> str:
    """Markdown with the banner marking first and last, and the decision record."""
    return markdown_of(document_of(proposal, policies), policies)


def markdown_of(document: MarkedDocument, policies: PolicyRegistry) -> str:
    """Markdown of a marked document: banner, title, portion-marked blocks, record, banner."""
    banner = policies.format(document.label)
    lines = [banner, "", f"# {document.title}", ""]
    for block in document.blocks:
        portion = policies.portion(block.label or document.label)
        if block.kind == "heading":
            lines += ["", f"## {portion} {block.text}", ""]
            continue
        bullet = "- " if block.kind == "bullet" else ""
        lines.append(f"{bullet}{portion} {block.text}")
    lines += ["", "---", "", "Décision / Decision:"]
    lines += [f"- {line}" for line in document.record]
    lines += ["", banner, ""]
    return "\n".join(lines)


def _markdown_bytes(document: MarkedDocument, policies: PolicyRegistry) -> bytes:
    return markdown_of(document, policies).encode("utf-8")


# fpdf2 and python-docx take about a second to import: load them only when asked
# for, so that every `egide` command and the API do not start slower.
def _pdf(document: MarkedDocument, policies: PolicyRegistry) -> bytes:
    from egide.workflows.export_pdf import pdf_of

    return pdf_of(document, policies)


def _docx(document: MarkedDocument, policies: PolicyRegistry) -> bytes:
    from egide.workflows.export_docx import docx_of

    return docx_of(document, policies)


FORMATS: Mapping[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("markdown", "text/markdown; charset=utf-8", "md", _markdown_bytes),
        ExportFormat("pdf", "application/pdf", "pdf", _pdf),
        ExportFormat(
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "docx",
            _docx,
        ),
    )
}


def export_format(name: str) -> ExportFormat:
    """The export format called `name`, or `InvalidInput` listing the ones there are."""
    try:
        return FORMATS[name.strip().lower()]
    except KeyError:
        raise InvalidInput(
            f"unknown export format {name!r}; choose one of {', '.join(FORMATS)}"
        ) from None


def render(document: MarkedDocument, policies: PolicyRegistry, format: str = "markdown") -> bytes:
    """The bytes of `document` in `format` (markdown, pdf or docx)."""
    return export_format(format).render(document, policies)


@dataclass(frozen=True)
class Export:
    """A released proposal rendered in one format, ready to write or send."""

    proposal: Proposal
    format: ExportFormat
    data: bytes

    @property
    def filename(self) -> str:
        """A plain ASCII file name: `proposal-12.pdf`."""
        return f"proposal-{self.proposal.id}.{self.format.suffix}"


def export_proposal(
    proposals: ProposalService,
    policies: PolicyRegistry,
    principal: Principal,
    proposal_id: int,
    format: str,
) -> Export:
    """Release an approved proposal (journaled) and render it in `format`.

    Refused unless approved (`Forbidden`); a document that cannot be marked
    (a block above the document's label) is refused (`InvalidInput`)
    before the release, so the journal never records an export that did not
    happen.
    """
    chosen = export_format(format)
    current = proposals.get(principal, proposal_id)
    if current.state == "approved":
        document_of(current, policies)  # raises before anything is journaled
    released = proposals.release(principal, proposal_id, f"export {chosen.name}")
    return Export(released, chosen, chosen.render(document_of(released, policies), policies))
