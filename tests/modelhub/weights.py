"""Tiny, valid model files and publisher keys that the model registry tests build on."""

from __future__ import annotations

import json
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

from egide.modelhub import generate_publisher_key


def write_gguf(path: Path, payload: bytes = b"") -> Path:
    """A minimal GGUF v3 file: magic, version, no tensors, no metadata (plus ``payload``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 0) + payload)
    return path


def write_safetensors(path: Path, values: int = 2) -> Path:
    """A valid safetensors file holding one float32 tensor of ``values`` elements."""
    data = struct.pack(f"<{values}f", *range(values))
    header = {
        "__metadata__": {"format": "pt"},
        "weight": {"dtype": "F32", "shape": [values], "data_offsets": [0, len(data)]},
    }
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)  # the format pads the header to 8 bytes
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


def write_pickle(path: Path) -> Path:
    """A pickle, as a malicious or careless publisher would ship it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps({"weight": [1.0, 2.0]}, protocol=4))
    return path


def safetensors_dir(root: Path) -> Path:
    """A model directory: two shards, a config and a tokenizer."""
    write_safetensors(root / "model-00001-of-00002.safetensors", 4)
    write_safetensors(root / "model-00002-of-00002.safetensors", 2)
    (root / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}')
    (root / "tokenizer.json").write_text('{"version": "1.0"}')
    return root


@dataclass(frozen=True)
class Publisher:
    """A publisher key pair; ``trusted`` is the directory of trusted public keys."""

    private: Path
    public: Path
    fingerprint: str
    trusted: Path


def make_publisher(root: Path, name: str) -> Publisher:
    """Create a key pair under ``root``, its public half in ``root/trusted``."""
    fingerprint = generate_publisher_key(root / f"{name}.key", root / "trusted" / f"{name}.pem")
    return Publisher(
        root / f"{name}.key", root / "trusted" / f"{name}.pem", fingerprint, root / "trusted"
    )
