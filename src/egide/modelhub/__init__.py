"""The model registry: weights imported from removable media, verified, labelled, switchable.

- `ModelRegistry` (``service``): import, list, verify, enable/disable (kill
  switch), and `verified_path` that the inference layer calls before loading.
- `sign_model`, `generate_publisher_key` (``signing``): what a publisher runs
  to produce a signed manifest.
- `register_demo_model` (``demo``): the SmolLM2-135M demo shipped with Égide.

See docs/models.md.
"""

from egide.modelhub.demo import DEMO_MODEL_NAME, demo_weights_path, register_demo_model
from egide.modelhub.digests import FileDigest
from egide.modelhub.formats import WeightFormat
from egide.modelhub.info import ModelInfo, VerifyResult
from egide.modelhub.manifest import MANIFEST_FORMAT, MANIFEST_NAME, Manifest, build_manifest
from egide.modelhub.service import ModelRegistry
from egide.modelhub.signing import (
    TrustedKey,
    generate_publisher_key,
    load_trusted_keys,
    sign_model,
    write_signed_manifest,
)

__all__ = [
    "DEMO_MODEL_NAME",
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "FileDigest",
    "Manifest",
    "ModelInfo",
    "ModelRegistry",
    "TrustedKey",
    "VerifyResult",
    "WeightFormat",
    "build_manifest",
    "demo_weights_path",
    "generate_publisher_key",
    "load_trusted_keys",
    "register_demo_model",
    "sign_model",
    "write_signed_manifest",
]
