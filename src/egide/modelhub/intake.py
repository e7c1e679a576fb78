"""The file side of an import: check the medium, verify the manifest, copy and hash.

Nothing here touches the database. :func:`prepare` leaves either a staging
directory holding verified copies (or nothing, for an in-place import) or
nothing at all: a refused import writes no file.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from egide.errors import Conflict, InvalidInput
from egide.modelhub.digests import FileDigest, copy_and_hash, hash_file
from egide.modelhub.formats import SourceFile, WeightFormat, scan
from egide.modelhub.manifest import MANIFEST_NAME, SIGNATURE_SUFFIX, Manifest
from egide.modelhub.signing import TrustedKey, read_signature, verify_manifest_signature

STAGING_DIR = ".staging"


@dataclass(frozen=True)
class SignedManifest:
    """A manifest whose signature verified, and the key that signed it."""

    manifest: Manifest
    signer: TrustedKey
    paths: frozenset[Path]


@dataclass(frozen=True)
class Prepared:
    """Files checked and hashed, ready to be registered."""

    format: WeightFormat
    digests: tuple[FileDigest, ...]
    root: Path
    """Staging directory of the copies, or the source directory when in place."""
    staged: bool
    signed: SignedManifest | None


def find_manifest(
    source: Path, manifest: Path | None, signature: Path | None
) -> tuple[Path, Path] | None:
    """The manifest and signature to verify: those given, or those inside ``source``.

    Raises:
        InvalidInput: a signature without a manifest, or a manifest without a signature.
    """
    if manifest is None:
        if signature is not None:
            raise InvalidInput("a signature was given without its manifest; give --manifest too")
        found = source / MANIFEST_NAME
        if not (source.is_dir() and found.is_file()):
            return None
        manifest = found
    if signature is None:
        signature = manifest.with_name(manifest.name + SIGNATURE_SUFFIX)
        if not signature.is_file():
            raise InvalidInput(
                f"manifest {manifest} has no signature ({signature.name} not found); an unsigned "
                "manifest proves nothing: give --signature, or ask the publisher to sign it"
            )
    return manifest, signature


def verify_manifest(
    manifest_path: Path, signature_path: Path, trusted: list[TrustedKey]
) -> SignedManifest:
    """Read the manifest and check its detached signature against the trusted keys.

    Raises:
        InvalidInput: the manifest or signature is malformed.
        IntegrityError: no trusted key verifies the signature.
    """
    manifest, data = Manifest.read(manifest_path)
    signature = read_signature(signature_path)
    signer = verify_manifest_signature(data, signature, trusted, str(manifest_path))
    return SignedManifest(
        manifest, signer, frozenset({manifest_path.resolve(), signature_path.resolve()})
    )


def prepare(
    source: Path, models_dir: Path, signed: SignedManifest | None, *, in_place: bool
) -> Prepared:
    """Check, hash and (unless ``in_place``) copy the model at ``source``.

    Raises:
        InvalidInput: a file is refused (see `egide.modelhub.formats`).
        IntegrityError: the files do not match the signed manifest.
    """
    fmt, sources = scan(source, exclude=signed.paths if signed else frozenset())
    if in_place:
        root = source if source.is_dir() else source.parent
        digests = tuple(hash_file(item.source, item.relative) for item in sources)
        _check_against(signed, digests)
        return Prepared(fmt, digests, root, staged=False, signed=signed)
    staging = models_dir / STAGING_DIR / uuid.uuid4().hex
    try:
        digests = _copy_all(sources, staging)
        _check_against(signed, digests)
    except BaseException:
        discard(staging)
        raise
    return Prepared(fmt, digests, staging, staged=True, signed=signed)


def _copy_all(sources: list[SourceFile], staging: Path) -> tuple[FileDigest, ...]:
    staging.mkdir(parents=True)
    return tuple(
        copy_and_hash(item.source, staging / item.relative, item.relative) for item in sources
    )


def _check_against(signed: SignedManifest | None, digests: tuple[FileDigest, ...]) -> None:
    if signed is not None:
        signed.manifest.check_files(digests)


def publish(staging: Path, target: Path) -> None:
    """Move verified copies from staging to their final directory (same file system).

    Raises:
        Conflict: the target exists (a leftover of an interrupted import).
    """
    if target.exists():
        raise Conflict(
            f"{target} already exists but no model is registered there (an interrupted "
            "import?); move it away and import again"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(target)


def discard(directory: Path) -> None:
    """Remove copied files (read-only on purpose) and an emptied parent directory."""
    if directory.exists():
        shutil.rmtree(directory)
    parent = directory.parent
    if parent.name != STAGING_DIR and parent.exists() and not any(parent.iterdir()):
        parent.rmdir()
