"""Export the journal as JSON lines that verify offline with only the public key.

Line 1 is a header (format version, export time, signer public keys); then
one line per entry in ``seq`` order, each checkpoint right after the entry
it signs. See docs/audit.md for every field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from egide.audit.chain import FORMAT_VERSION, format_time
from egide.audit.reading import iter_entries, read_checkpoints
from egide.audit.signing import fingerprint, public_key_to_text
from egide.store.models import utcnow


def export_journal(session: Session, out: IO[str], public_keys: Iterable[Ed25519PublicKey]) -> int:
    """Write the whole journal to ``out``; returns the number of entries written.

    Args:
        session: Any session. Checkpoints are read before the entries, so every
            checkpoint written names an entry that is in the export.
        out: A text stream (opened with ``encoding="utf-8"``).
        public_keys: The checkpoint signer keys to name in the header.
    """
    _write(
        out,
        {
            "type": "header",
            "format": FORMAT_VERSION,
            "exported_at": format_time(utcnow()),
            "public_keys": [
                {"fingerprint": fingerprint(key), "key": public_key_to_text(key)}
                for key in public_keys
            ],
        },
    )
    pending = read_checkpoints(session)
    position = count = 0
    for entry in iter_entries(session):
        _write(out, entry.to_json())
        count += 1
        while position < len(pending) and pending[position].seq <= entry.seq:
            _write(out, pending[position].to_json())
            position += 1
    for checkpoint in pending[position:]:
        _write(out, checkpoint.to_json())
    return count


def _write(out: IO[str], record: dict[str, Any]) -> None:
    out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
