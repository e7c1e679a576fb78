"""SHA-256 digests of model files: computed while copying, checked before loading."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from egide.errors import IntegrityError, InvalidInput

_CHUNK = 4 * 1024 * 1024
_PREFIX = 12  # digest characters quoted in messages: enough to tell two files apart


@dataclass(frozen=True)
class FileDigest:
    """One file of a model: its path inside the model, SHA-256 (hex) and size in bytes."""

    path: str
    sha256: str
    size: int

    def to_json(self) -> dict[str, Any]:
        """The JSON object stored in the database and written in manifests."""
        return {"path": self.path, "sha256": self.sha256, "size": self.size}

    @classmethod
    def from_json(cls, value: Any, where: str) -> FileDigest:
        """Read one ``{"path", "sha256", "size"}`` object.

        Raises:
            InvalidInput: the object is malformed; ``where`` says which document.
        """
        try:
            path, sha256, size = value["path"], value["sha256"], value["size"]
        except (KeyError, TypeError):
            raise InvalidInput(f"{where}: each file needs path, sha256 and size") from None
        if not (isinstance(path, str) and isinstance(sha256, str) and isinstance(size, int)):
            raise InvalidInput(f"{where}: file entry {value!r} has the wrong types")
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise InvalidInput(f"{where}: {path}: sha256 must be 64 lowercase hex digits")
        return cls(path, sha256, size)


def hash_file(path: Path, relative: str) -> FileDigest:
    """The digest of ``path``, named ``relative`` inside its model."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return FileDigest(relative, digest.hexdigest(), size)


def copy_and_hash(source: Path, target: Path, relative: str) -> FileDigest:
    """Copy ``source`` to ``target`` and return the digest of the bytes copied.

    Hashing the very bytes written (one read of the medium) means a file that
    changes on the medium during the import cannot get a digest that does not
    match the copy.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as reader, target.open("xb") as writer:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
    shutil.copymode(source, target)
    target.chmod(0o444)  # read-only: a slip of the hand should not edit imported weights
    return FileDigest(relative, digest.hexdigest(), size)


def check_digest(root: Path, expected: FileDigest, model: str) -> None:
    """Re-hash one file of a model and compare it with its recorded digest.

    Raises:
        IntegrityError: the file is missing, has another size or another digest;
            the message names the file and the expected and actual digest prefixes.
    """
    path = root / expected.path
    try:
        actual = hash_file(path, expected.path)
    except OSError as err:
        raise IntegrityError(
            f"model {model!r}: file {path} is unreadable ({err.strerror}); "
            "restore it from the original medium or re-import the model"
        ) from err
    if actual.sha256 != expected.sha256 or actual.size != expected.size:
        raise IntegrityError(
            f"model {model!r}: file {path} was modified: expected sha256 "
            f"{expected.sha256[:_PREFIX]}… ({expected.size} bytes), found "
            f"{actual.sha256[:_PREFIX]}… ({actual.size} bytes); it will not be loaded: "
            "restore it from the original medium or re-import the model"
        )


def check_all(root: Path, files: Iterable[FileDigest], model: str) -> None:
    """Check every file of a model; raises on the first mismatch (see `check_digest`)."""
    for expected in files:
        check_digest(root, expected, model)
