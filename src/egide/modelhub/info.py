"""What the registry tells its callers about a model: immutable values, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from egide.core.labels import Label
from egide.modelhub.digests import FileDigest
from egide.modelhub.formats import WeightFormat


@dataclass(frozen=True)
class ModelInfo:
    """One registered model.

    Attributes:
        name: Unique name requests use to select the model.
        version: Version given at import (or taken from the manifest).
        format: ``gguf`` or ``safetensors``.
        runtime: The inference runtime that serves it (``llamacpp`` or ``openai``).
        root: Directory holding the files (inside the data directory unless in place).
        in_place: The files were referenced on their medium rather than copied.
        files: Every file with its SHA-256 and size, as recorded at import.
        label: Label of the weights themselves.
        accreditation: Highest working label the deployment may process.
        label_text: ``label`` in its canonical (storage) form.
        accreditation_text: ``accreditation`` in its canonical form.
        licence: Licence of the weights.
        provenance: Where the weights come from.
        publisher: Who signed the manifest's content ("" without a manifest).
        signer_fingerprint: SHA-256 fingerprint of the publisher key that signed, if any.
        signer_key: File name of that trusted key, if any.
        enabled: ``False`` when the kill switch is on.
        disabled_reason: Why it was disabled ("" when enabled).
        demo: A demonstration model, not for operational use.
        created_at: When it was imported.
        importer: Who imported it (journal actor name).
    """

    name: str
    version: str
    format: WeightFormat
    runtime: str
    root: Path
    in_place: bool
    files: tuple[FileDigest, ...]
    label: Label
    accreditation: Label
    label_text: str
    accreditation_text: str
    licence: str
    provenance: str
    publisher: str
    signer_fingerprint: str | None
    signer_key: str | None
    enabled: bool
    disabled_reason: str
    demo: bool
    created_at: datetime
    importer: str

    @property
    def weights_path(self) -> Path:
        """What a runtime loads: the (first) GGUF file, or the safetensors directory."""
        if self.format is WeightFormat.GGUF:
            first = min(item.path for item in self.files if item.path.lower().endswith(".gguf"))
            return self.root / first
        return self.root

    @property
    def signed(self) -> bool:
        """Whether a trusted publisher signature was verified at import."""
        return self.signer_fingerprint is not None


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of re-hashing one model's files."""

    name: str
    ok: bool
    problem: str = ""
