"""Which files a model import accepts, decided by their content, not only their name.

Only two weight formats are accepted, because neither can run code when
loaded: GGUF (llama.cpp) and safetensors (vLLM, TGI, transformers). Pickle
based checkpoints (``.bin``, ``.pt``, ``.pth``, ``.ckpt``) execute arbitrary
code on load, and ``*.py`` files are "remote code" a runtime might import;
both are refused with a message naming the file. Small tokenizer and
configuration files (JSON, text, SentencePiece models, chat templates) may sit
beside the weights.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from egide.errors import InvalidInput


class WeightFormat(StrEnum):
    """A weight format Égide accepts."""

    GGUF = "gguf"
    SAFETENSORS = "safetensors"


# The runtime that serves each format (names of egide.inference.registry.RUNTIMES):
# GGUF runs in-process on llama.cpp; safetensors are served by an
# OpenAI-compatible engine (vLLM, TGI) on the enclave network.
RUNTIME_FOR_FORMAT = {WeightFormat.GGUF: "llamacpp", WeightFormat.SAFETENSORS: "openai"}

GGUF_MAGIC = b"GGUF"
_GGUF_VERSIONS = frozenset({1, 2, 3})
# A safetensors header describes tensors, not data; 100 MB is far above any real one
# and stops a hostile length field from making us read a whole disk into memory.
_MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024

_REFUSED_SUFFIXES = {
    ".bin": "a pickle-based PyTorch checkpoint, which runs code when loaded",
    ".pt": "a pickle-based PyTorch checkpoint, which runs code when loaded",
    ".pth": "a pickle-based PyTorch checkpoint, which runs code when loaded",
    ".ckpt": "a pickle-based checkpoint, which runs code when loaded",
    ".pkl": "a Python pickle, which runs code when loaded",
    ".pickle": "a Python pickle, which runs code when loaded",
    ".joblib": "a joblib pickle, which runs code when loaded",
    ".npy": "a NumPy array file, which may hold pickled objects",
    ".npz": "a NumPy archive, which may hold pickled objects",
    ".h5": "a Keras/HDF5 file, which may hold serialised code",
    ".py": "Python source (remote code a runtime could import and run)",
    ".pyc": "compiled Python (remote code a runtime could import and run)",
    ".so": "a native library (code)",
    ".sh": "a shell script (code)",
}
# Files allowed beside the weights: tokenizers, configurations, chat templates, notes.
_AUXILIARY_SUFFIXES = frozenset({".json", ".txt", ".model", ".jinja", ".tiktoken", ".md"})
_AUXILIARY_NAMES = frozenset({"LICENSE", "LICENCE", "NOTICE", "README"})
_FIX = "convert the weights to safetensors or GGUF on a trusted machine and import those"


@dataclass(frozen=True)
class SourceFile:
    """One file of a model being imported: its path on the medium and in the model."""

    source: Path
    relative: str
    format: WeightFormat | None
    """The weight format, or ``None`` for a tokenizer/config file."""


def detect_format(path: Path) -> WeightFormat:
    """The weight format of ``path``, read from its first bytes.

    Raises:
        InvalidInput: naming the file and why it is not GGUF or safetensors.
    """
    suffix = path.suffix.lower()
    if suffix == ".gguf":
        _check_gguf(path)
        return WeightFormat.GGUF
    if suffix == ".safetensors":
        _check_safetensors(path)
        return WeightFormat.SAFETENSORS
    raise InvalidInput(f"{path}: not a weight file (expected .gguf or .safetensors); {_FIX}")


def _check_gguf(path: Path) -> None:
    with path.open("rb") as handle:
        head = handle.read(8)
    if len(head) < 8 or head[:4] != GGUF_MAGIC:
        raise InvalidInput(f"{path}: named .gguf but does not start with the GGUF magic bytes")
    (version,) = struct.unpack("<I", head[4:8])
    if version not in _GGUF_VERSIONS:
        raise InvalidInput(f"{path}: unsupported GGUF version {version}")


def _check_safetensors(path: Path) -> None:
    size = path.stat().st_size
    with path.open("rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise InvalidInput(f"{path}: too short to be a safetensors file")
        (length,) = struct.unpack("<Q", prefix)
        if length > min(_MAX_SAFETENSORS_HEADER, size - 8):
            raise InvalidInput(f"{path}: not a safetensors file (header length {length} is wrong)")
        raw = handle.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput(f"{path}: not a safetensors file (header is not JSON)") from None
    if not isinstance(header, dict):
        raise InvalidInput(f"{path}: not a safetensors file (header is not a JSON object)")
    end = 0
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and "dtype" in entry):
            raise InvalidInput(f"{path}: not a safetensors file (tensor {key!r} is malformed)")
        end = max(end, int(offsets[1]))
    # The format requires the tensors to cover the data exactly: trailing bytes
    # would be a place to smuggle a payload past the header check.
    if end != size - 8 - length:
        raise InvalidInput(
            f"{path}: not a valid safetensors file (tensors cover {end} bytes, "
            f"the file holds {size - 8 - length})"
        )


def _check_auxiliary(path: Path) -> None:
    with path.open("rb") as handle:
        head = handle.read(4)
    # Pickles start with PROTO (0x80) then a protocol number; torch.save writes a zip.
    if (len(head) >= 2 and head[0] == 0x80 and head[1] <= 5) or head.startswith(b"PK\x03\x04"):
        raise InvalidInput(f"{path}: looks like a pickle or a zipped checkpoint; {_FIX}")
    if path.suffix.lower() == ".json":
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise InvalidInput(f"{path}: not valid UTF-8 JSON") from None


def classify(path: Path, relative: str) -> SourceFile:
    """Accept ``path`` as weights or as an auxiliary file, or refuse it saying why.

    Raises:
        InvalidInput: the file is refused (pickle, code, unknown type).
    """
    if path.is_symlink():
        raise InvalidInput(
            f"{path}: symbolic links are refused; copy the real file onto the medium"
        )
    suffix = path.suffix.lower()
    if suffix in _REFUSED_SUFFIXES:
        raise InvalidInput(f"{path}: refused, {_REFUSED_SUFFIXES[suffix]}; {_FIX}")
    if suffix in {".gguf", ".safetensors"}:
        return SourceFile(path, relative, detect_format(path))
    if suffix in _AUXILIARY_SUFFIXES or path.name.split(".")[0].upper() in _AUXILIARY_NAMES:
        _check_auxiliary(path)
        return SourceFile(path, relative, None)
    raise InvalidInput(
        f"{path}: unexpected file type; a model holds .gguf or .safetensors weights plus "
        "tokenizer/config files (.json, .txt, .model, .jinja); remove it from the medium"
    )


def scan(
    path: Path, *, exclude: frozenset[Path] = frozenset()
) -> tuple[WeightFormat, list[SourceFile]]:
    """Every file of the model at ``path`` (a file or a directory), checked.

    Args:
        path: A single weight file, or a directory holding one model.
        exclude: Files to leave out (the manifest and its signature).

    Raises:
        InvalidInput: a file is refused, there are no weights, or formats are mixed.
    """
    if not path.exists():
        raise InvalidInput(f"{path} does not exist; give the path of a model file or directory")
    if path.is_file() and not path.is_symlink():
        entries = [classify(path, path.name)]
    elif path.is_dir():
        entries = [
            classify(item, item.relative_to(path).as_posix())
            for item in sorted(path.rglob("*"))
            if item.resolve() not in exclude and not (item.is_dir() and not item.is_symlink())
        ]
    else:
        raise InvalidInput(f"{path}: not a regular file or a directory")
    formats = {item.format for item in entries if item.format is not None}
    if not formats:
        raise InvalidInput(f"{path}: no .gguf or .safetensors weights found")
    if len(formats) > 1:
        raise InvalidInput(f"{path}: mixes GGUF and safetensors weights; import them separately")
    return formats.pop(), entries
