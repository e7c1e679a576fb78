"""Digests are checked again whenever a model is loaded or verified."""

from __future__ import annotations

from pathlib import Path

import pytest

from egide.errors import IntegrityError, ModelDisabled, NotFound
from egide.modelhub import ModelInfo, ModelRegistry
from tests.modelhub.weights import safetensors_dir, write_gguf

ACTOR = "local:operator"


def _tamper(path: Path, data: bytes) -> None:
    path.chmod(0o644)  # imported copies are read-only on purpose
    path.write_bytes(data)


@pytest.fixture
def tiny(registry: ModelRegistry, medium: Path) -> ModelInfo:
    return registry.import_model(
        ACTOR, write_gguf(medium / "tiny.gguf", b"weights"), name="tiny", label="NP"
    )


def test_verified_path_returns_the_weights(registry: ModelRegistry, tiny: ModelInfo) -> None:
    assert registry.verified_path("tiny") == tiny.weights_path


def test_modified_file_refuses_to_load_naming_it_and_both_digests(
    registry: ModelRegistry, tiny: ModelInfo
) -> None:
    expected = tiny.files[0].sha256
    _tamper(tiny.weights_path, b"GGUF\x03\x00\x00\x00 backdoor")
    with pytest.raises(IntegrityError) as caught:
        registry.verified_path("tiny")
    message = caught.value.message
    assert str(tiny.weights_path) in message
    assert f"expected sha256 {expected[:12]}" in message
    assert "found " in message and "will not be loaded" in message


def test_missing_file_refuses_to_load(registry: ModelRegistry, medium: Path) -> None:
    info = registry.import_model(ACTOR, safetensors_dir(medium), name="st", label="NP")
    (info.root / "tokenizer.json").unlink()
    with pytest.raises(IntegrityError, match=r"tokenizer\.json is unreadable"):
        registry.verified_path("st")


def test_verify_reports_every_model(registry: ModelRegistry, tiny: ModelInfo, medium: Path) -> None:
    registry.import_model(ACTOR, write_gguf(medium / "other.gguf"), name="other", label="NP")
    _tamper(tiny.weights_path, b"GGUF changed")
    results = {r.name: r for r in registry.verify()}
    assert results["other"].ok and results["other"].problem == ""
    assert not results["tiny"].ok and "tiny.gguf was modified" in results["tiny"].problem
    assert [r.ok for r in registry.verify("other")] == [True]


def test_disabled_model_refuses_to_load(registry: ModelRegistry, tiny: ModelInfo) -> None:
    registry.disable(ACTOR, "tiny", reason="suspected poisoning")
    with pytest.raises(ModelDisabled, match="suspected poisoning"):
        registry.verified_path("tiny")


def test_unknown_model(registry: ModelRegistry) -> None:
    with pytest.raises(NotFound, match="no model named 'nope'"):
        registry.verified_path("nope")
