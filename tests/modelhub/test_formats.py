"""Only GGUF and safetensors (and their tokenizer/config files) get past the door."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from egide.errors import InvalidInput
from egide.modelhub.formats import WeightFormat, detect_format, scan
from tests.modelhub.weights import safetensors_dir, write_gguf, write_pickle, write_safetensors


def test_gguf_file_is_accepted(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "model.gguf")
    fmt, files = scan(path)
    assert fmt is WeightFormat.GGUF
    assert [(f.relative, f.format) for f in files] == [("model.gguf", WeightFormat.GGUF)]


def test_safetensors_directory_with_tokenizer_is_accepted(tmp_path: Path) -> None:
    fmt, files = scan(safetensors_dir(tmp_path / "m"))
    assert fmt is WeightFormat.SAFETENSORS
    assert sorted(f.relative for f in files if f.format is None) == [
        "config.json",
        "tokenizer.json",
    ]


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("pytorch_model.bin", "pickle"),
        ("model.pt", "pickle"),
        ("model.pth", "pickle"),
        ("model.ckpt", "pickle"),
        ("weights.pkl", "pickle"),
        ("modeling_custom.py", "remote code"),
    ],
)
def test_refused_files_are_named_with_the_reason(tmp_path: Path, name: str, why: str) -> None:
    write_safetensors(tmp_path / "m" / "model.safetensors")
    write_pickle(tmp_path / "m" / name)
    with pytest.raises(InvalidInput, match=why) as caught:
        scan(tmp_path / "m")
    assert name in caught.value.message


def test_pickle_renamed_to_safetensors_is_caught_by_its_bytes(tmp_path: Path) -> None:
    path = write_pickle(tmp_path / "model.safetensors")
    with pytest.raises(InvalidInput, match=r"model\.safetensors: not a safetensors file"):
        scan(path)


def test_pickle_disguised_as_a_tokenizer_is_refused(tmp_path: Path) -> None:
    write_gguf(tmp_path / "m" / "model.gguf")
    write_pickle(tmp_path / "m" / "tokenizer.model")
    with pytest.raises(InvalidInput, match=r"tokenizer\.model: looks like a pickle"):
        scan(tmp_path / "m")


def test_gguf_without_magic_bytes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"NOPE" + bytes(20))
    with pytest.raises(InvalidInput, match="GGUF magic"):
        detect_format(path)


def test_safetensors_with_trailing_bytes_is_refused(tmp_path: Path) -> None:
    path = write_safetensors(tmp_path / "model.safetensors")
    path.write_bytes(path.read_bytes() + b"import os; os.system('x')")
    with pytest.raises(InvalidInput, match="tensors cover"):
        detect_format(path)


def test_safetensors_with_absurd_header_length_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(struct.pack("<Q", 2**40) + b"{}")
    with pytest.raises(InvalidInput, match="header length"):
        detect_format(path)


def test_invalid_json_beside_weights_is_refused(tmp_path: Path) -> None:
    write_gguf(tmp_path / "m" / "model.gguf")
    (tmp_path / "m" / "config.json").write_text("{not json")
    with pytest.raises(InvalidInput, match=r"config\.json: not valid UTF-8 JSON"):
        scan(tmp_path / "m")


def test_unknown_file_type_is_refused(tmp_path: Path) -> None:
    write_gguf(tmp_path / "m" / "model.gguf")
    (tmp_path / "m" / "run.exe").write_bytes(b"MZ")
    with pytest.raises(InvalidInput, match="unexpected file type"):
        scan(tmp_path / "m")


def test_symlinks_are_refused(tmp_path: Path) -> None:
    target = write_gguf(tmp_path / "elsewhere.gguf")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.gguf").symlink_to(target)
    with pytest.raises(InvalidInput, match="symbolic links"):
        scan(tmp_path / "m")


def test_mixed_formats_are_refused(tmp_path: Path) -> None:
    write_gguf(tmp_path / "m" / "model.gguf")
    write_safetensors(tmp_path / "m" / "model.safetensors")
    with pytest.raises(InvalidInput, match="mixes GGUF and safetensors"):
        scan(tmp_path / "m")


def test_directory_without_weights_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    with pytest.raises(InvalidInput, match=r"no \.gguf or \.safetensors weights"):
        scan(tmp_path / "m")
