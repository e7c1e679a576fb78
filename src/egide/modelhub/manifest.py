"""The model manifest: what a publisher vouches for, file by file.

A manifest is a JSON document (see docs/models.md)::

    {
      "format": "egide-model-manifest/1",
      "name": "mistral-7b-instruct",
      "version": "0.3",
      "files": [{"path": "model.gguf", "sha256": "<64 hex>", "size": 4368439584}],
      "licence": "Apache-2.0",
      "publisher": "DGA/MI model cell",
      "provenance": "mistralai/Mistral-7B-Instruct-v0.3, converted with llama.cpp b4000",
      "created": "2025-01-31T12:00:00+00:00"
    }

It is signed *detached*: the ``.sig`` file holds the base64 Ed25519 signature
of the manifest file's exact bytes, so the manifest can be read, diffed and
archived as is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from egide.errors import IntegrityError, InvalidInput
from egide.modelhub.digests import FileDigest, hash_file
from egide.modelhub.formats import scan

MANIFEST_FORMAT = "egide-model-manifest/1"
MANIFEST_NAME = "egide-manifest.json"
"""File name of a manifest inside a model directory (found without ``--manifest``)."""
SIGNATURE_SUFFIX = ".sig"
_MAX_MANIFEST_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Manifest:
    """A publisher's statement of a model's files, licence and origin."""

    name: str
    version: str
    files: tuple[FileDigest, ...]
    licence: str
    publisher: str
    provenance: str
    created: str

    def to_json(self) -> dict[str, Any]:
        """The manifest as a JSON object (field order as documented)."""
        return {
            "format": MANIFEST_FORMAT,
            "name": self.name,
            "version": self.version,
            "files": [item.to_json() for item in self.files],
            "licence": self.licence,
            "publisher": self.publisher,
            "provenance": self.provenance,
            "created": self.created,
        }

    def to_bytes(self) -> bytes:
        """The bytes written to disk, and signed."""
        return (json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    @classmethod
    def parse(cls, data: bytes, where: str) -> Manifest:
        """Read a manifest; ``where`` names it in error messages.

        Raises:
            InvalidInput: not a manifest, or a field is missing or malformed.
        """
        try:
            value = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise InvalidInput(f"{where}: not a UTF-8 JSON model manifest") from None
        if not isinstance(value, dict) or value.get("format") != MANIFEST_FORMAT:
            raise InvalidInput(f"{where}: not a manifest (expected format {MANIFEST_FORMAT!r})")
        texts = {}
        for key in ("name", "version", "licence", "publisher", "provenance", "created"):
            if not isinstance(value.get(key), str):
                raise InvalidInput(f"{where}: field {key!r} is missing or not a string")
            texts[key] = value[key]
        files = value.get("files")
        if not isinstance(files, list) or not files:
            raise InvalidInput(f"{where}: 'files' must be a non-empty list")
        return cls(files=tuple(FileDigest.from_json(item, where) for item in files), **texts)

    @classmethod
    def read(cls, path: Path) -> tuple[Manifest, bytes]:
        """Read the manifest at ``path``; returns it with the exact bytes that were signed."""
        try:
            if path.stat().st_size > _MAX_MANIFEST_BYTES:
                raise InvalidInput(f"{path}: too large to be a model manifest")
            data = path.read_bytes()
        except OSError as err:
            raise InvalidInput(f"cannot read the manifest {path} ({err.strerror})") from err
        return cls.parse(data, str(path)), data

    def check_files(self, actual: Sequence[FileDigest]) -> None:
        """Check that ``actual`` is exactly the set of files this manifest lists.

        Raises:
            IntegrityError: a digest or size differs, or a file is missing or extra.
        """
        listed = {item.path: item for item in self.files}
        found = {item.path: item for item in actual}
        if missing := sorted(listed.keys() - found.keys()):
            raise IntegrityError(
                f"files listed in the manifest are missing from the model: {', '.join(missing)}; "
                "the medium is incomplete, ask the publisher for a complete copy"
            )
        if extra := sorted(found.keys() - listed.keys()):
            raise IntegrityError(
                f"files not listed in the manifest: {', '.join(extra)}; remove them from the "
                "medium or ask the publisher for a manifest that covers them"
            )
        for path, item in sorted(found.items()):
            expected = listed[path]
            if (item.sha256, item.size) != (expected.sha256, expected.size):
                raise IntegrityError(
                    f"{path}: digest does not match the manifest (expected sha256 "
                    f"{expected.sha256[:12]}…, found {item.sha256[:12]}…); the file was "
                    "altered after signing: do not import it, report it to the publisher"
                )


def build_manifest(
    path: Path,
    *,
    name: str,
    version: str,
    licence: str,
    publisher: str,
    provenance: str,
    created: datetime | None = None,
) -> Manifest:
    """Hash the model at ``path`` (a file or directory) and describe it.

    The same checks as an import apply, so a publisher cannot sign a model
    that Égide would refuse. A manifest already in the directory is skipped.
    """
    skip = frozenset(
        p.resolve() for p in (path / MANIFEST_NAME, path / (MANIFEST_NAME + SIGNATURE_SUFFIX))
    )
    _, sources = scan(path, exclude=skip)
    return Manifest(
        name=name,
        version=version,
        files=tuple(hash_file(item.source, item.relative) for item in sources),
        licence=licence,
        publisher=publisher,
        provenance=provenance,
        created=(created or datetime.now(UTC)).isoformat(timespec="seconds"),
    )
