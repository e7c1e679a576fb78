"""The one canonical JSON encoding, and the SHA-256 digests built on it.

The audit journal hashes its entries in this encoding and stores their
payloads in it; a proposal's approval binds to the digest of its content in
it; the serving gateway fingerprints prompts with it. One definition keeps
them from drifting apart. Changing a byte of what these functions produce
changes every hash already stored: existing journals would stop verifying
and existing approvals would no longer match their proposals.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no whitespace, non-ASCII text kept as is.

    Raises:
        TypeError: `value` is not plain JSON data.
        ValueError: it holds NaN or an infinity, which JSON cannot express.
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def canonical_bytes(value: Any) -> bytes:
    """The UTF-8 bytes of :func:`canonical_json`: what is hashed and signed."""
    return canonical_json(value).encode("utf-8")


def sha256_bytes(data: bytes) -> str:
    """SHA-256 of `data`, as 64 lowercase hex digits."""
    return hashlib.sha256(data).hexdigest()


def sha256_text(text: str) -> str:
    """SHA-256 of the UTF-8 bytes of `text`."""
    return sha256_bytes(text.encode("utf-8"))


def sha256_json(value: Any) -> str:
    """SHA-256 of the canonical JSON of `value`."""
    return sha256_bytes(canonical_bytes(value))


def storage_json(value: Any) -> str:
    """How JSON columns are written to the database: Python's default ``json.dumps``.

    Non-ASCII text escaped, ``", "`` and ``": "`` separators, key order kept.
    It is what the database layer wrote before it was pinned here, and
    ``egide audit verify`` checks that every stored journal payload is
    exactly this encoding of its parsed value (a payload re-encoded another
    way would still hash the same but hide from searches), so it must not
    change.
    """
    return json.dumps(value)
