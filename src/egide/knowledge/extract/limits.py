"""Limits on what a file may expand into, checked before any parser sees it.

A DOCX is a ZIP of XML: a 1 MB file can declare hundreds of megabytes of XML,
and parsing that takes minutes and gigabytes. The ZIP's central directory
states every member's size; Python's `zipfile` never inflates a member past
its stated size (a member that would is a CRC error), so checking the stated
sizes bounds the work.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from egide.errors import InvalidInput, PayloadTooLarge

# Below this size a member's ratio is not checked: small XML parts compress very well.
_RATIO_FLOOR = 1_000_000


@dataclass(frozen=True)
class ExpansionLimits:
    """What one file may expand into (settings `EGIDE_MAX_EXPANDED_BYTES` and siblings).

    Attributes:
        max_bytes: Largest file accepted, as received.
        max_expanded_bytes: Largest total size of a ZIP-based file's members once inflated.
        max_ratio: Largest inflated/compressed ratio of one member over 1 MB.
        max_members: Most members in a ZIP-based file.
        max_depth: Deepest nesting of attachments (an e-mail attached to an e-mail…).
    """

    max_bytes: int = 50_000_000
    max_expanded_bytes: int = 200_000_000
    max_ratio: float = 200.0
    max_members: int = 2_000
    max_depth: int = 3


def check_archive(data: bytes, filename: str, limits: ExpansionLimits) -> None:
    """Refuse a ZIP-based file whose members would expand past `limits`.

    Raises:
        PayloadTooLarge: too many members, or too large once inflated.
        InvalidInput: not a readable ZIP, or a member compressed past `max_ratio`
            (the signature of a decompression bomb).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as error:
        raise InvalidInput(
            f"{filename} is not a readable DOCX ({type(error).__name__}); save it again as .docx"
        ) from None
    if len(members) > limits.max_members:
        raise PayloadTooLarge(
            f"{filename} holds {len(members):,} archive members, over the limit of "
            f"{limits.max_members:,} (EGIDE_MAX_ARCHIVE_MEMBERS); save it again without "
            "embedded objects, or raise the limit"
        )
    total = sum(member.file_size for member in members)
    if total > limits.max_expanded_bytes:
        raise PayloadTooLarge(
            f"{filename} expands to {total:,} bytes, over the limit of "
            f"{limits.max_expanded_bytes:,} (EGIDE_MAX_EXPANDED_BYTES); split the document "
            "or raise the limit"
        )
    for member in members:
        if member.file_size < _RATIO_FLOOR:
            continue
        ratio = member.file_size / max(member.compress_size, 1)
        if ratio > limits.max_ratio:
            raise InvalidInput(
                f"{filename}: its part {member.filename} expands {ratio:,.0f} times "
                f"({member.file_size:,} bytes), over the limit of {limits.max_ratio:,.0f} "
                "(EGIDE_MAX_COMPRESSION_RATIO) — the shape of a decompression bomb; it was not "
                "parsed. Save the document again from its editor, or raise the limit"
            )
