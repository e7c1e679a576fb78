"""Manifests and their Ed25519 signatures, without a database."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from egide.errors import ConfigurationError, IntegrityError, InvalidInput
from egide.modelhub import MANIFEST_NAME, Manifest, build_manifest, load_trusted_keys, sign_model
from egide.modelhub.digests import hash_file
from egide.modelhub.signing import read_signature, verify_manifest_signature
from tests.modelhub.weights import Publisher, make_publisher, safetensors_dir


def _sign(model: Path, publisher: Publisher) -> tuple[Path, Path]:
    return sign_model(
        model,
        publisher.private,
        name="tiny",
        version="2",
        licence="Apache-2.0",
        publisher="DGA model cell",
        provenance="unit test",
    )


def test_signed_manifest_lists_every_file_and_verifies(
    tmp_path: Path, publisher: Publisher
) -> None:
    model = safetensors_dir(tmp_path / "m")
    manifest_path, signature_path = _sign(model, publisher)
    assert manifest_path == model / MANIFEST_NAME
    manifest, data = Manifest.read(manifest_path)
    assert json.loads(data)["format"] == "egide-model-manifest/1"
    assert {f.path for f in manifest.files} == {
        "config.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "tokenizer.json",
    }
    key = verify_manifest_signature(
        data, read_signature(signature_path), load_trusted_keys([publisher.trusted]), "m"
    )
    assert key.fingerprint == publisher.fingerprint
    assert key.name == "dga-model-cell.pem"


def test_a_resigned_directory_does_not_list_its_own_manifest(
    tmp_path: Path, publisher: Publisher
) -> None:
    model = safetensors_dir(tmp_path / "m")
    _sign(model, publisher)
    manifest, _ = Manifest.read(_sign(model, publisher)[0])
    assert MANIFEST_NAME not in {f.path for f in manifest.files}


def test_an_edited_manifest_no_longer_verifies(tmp_path: Path, publisher: Publisher) -> None:
    manifest_path, signature_path = _sign(safetensors_dir(tmp_path / "m"), publisher)
    data = manifest_path.read_bytes().replace(b"Apache-2.0", b"Apache-2.1")
    with pytest.raises(IntegrityError, match="does not verify against any trusted"):
        verify_manifest_signature(
            data, read_signature(signature_path), load_trusted_keys([publisher.trusted]), "m"
        )


def test_a_signature_by_an_untrusted_key_is_refused(tmp_path: Path, publisher: Publisher) -> None:
    stranger = make_publisher(tmp_path / "stranger", "stranger")
    manifest_path, signature_path = _sign(safetensors_dir(tmp_path / "m"), stranger)
    with pytest.raises(IntegrityError, match="untrusted key"):
        verify_manifest_signature(
            manifest_path.read_bytes(),
            read_signature(signature_path),
            load_trusted_keys([publisher.trusted]),
            "m",
        )


def test_no_trusted_key_configured_says_what_to_do(tmp_path: Path, publisher: Publisher) -> None:
    manifest_path, signature_path = _sign(safetensors_dir(tmp_path / "m"), publisher)
    with pytest.raises(IntegrityError, match="no trusted publisher key is configured"):
        verify_manifest_signature(
            manifest_path.read_bytes(), read_signature(signature_path), [], "m"
        )


def test_raw_signature_bytes_are_accepted(tmp_path: Path, publisher: Publisher) -> None:
    _, signature_path = _sign(safetensors_dir(tmp_path / "m"), publisher)
    raw = tmp_path / "raw.sig"
    raw.write_bytes(base64.b64decode(signature_path.read_text()))
    assert read_signature(raw) == read_signature(signature_path)


def test_garbage_signature_is_invalid_input(tmp_path: Path) -> None:
    path = tmp_path / "x.sig"
    path.write_text("not base64!")
    with pytest.raises(InvalidInput, match="not an Ed25519 signature"):
        read_signature(path)


def test_check_files_names_missing_extra_and_altered_files(tmp_path: Path) -> None:
    model = safetensors_dir(tmp_path / "m")
    manifest = build_manifest(model, name="m", version="1", licence="", publisher="", provenance="")
    files = list(manifest.files)
    with pytest.raises(IntegrityError, match=r"missing from the model: tokenizer\.json"):
        manifest.check_files([f for f in files if f.path != "tokenizer.json"])
    extra = hash_file(model / "config.json", "extra.json")
    with pytest.raises(IntegrityError, match=r"not listed in the manifest: extra\.json"):
        manifest.check_files([*files, extra])
    (model / "config.json").write_text('{"architectures": ["Other"]}')
    altered = [hash_file(model / f.path, f.path) for f in files]
    with pytest.raises(IntegrityError, match=r"config\.json: digest does not match"):
        manifest.check_files(altered)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"\xff", "not a UTF-8 JSON"),
        (b'{"format": "other"}', "not a manifest"),
        (b'{"format": "egide-model-manifest/1", "name": "m"}', "'version' is missing"),
    ],
)
def test_malformed_manifests_are_invalid_input(document: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Manifest.parse(document, "m.json")


def test_a_missing_trusted_key_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_trusted_keys([tmp_path / "nowhere.pem"])
