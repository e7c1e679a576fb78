"""A local sentence-transformers directory as embedder, run by numpy: no PyTorch, no hub.

The directory is what `SentenceTransformer.save()` writes (or a model snapshot
copied from removable media): `modules.json` (Transformer → Pooling →
optional Normalize), `config.json` of a BERT-family encoder, the weights in
`model.safetensors`, `tokenizer.json`, `1_Pooling/config.json` and optionally
`sentence_bert_config.json` / `config_sentence_transformers.json` (prompts).

Why not the `sentence-transformers` library itself: it needs PyTorch (hundreds
of megabytes, and a pickle loader for `.bin` weights) for what is, for these
encoders, a dozen matrix products. The forward pass below reproduces the
library's vectors to within 1e-5 (tests compare with vectors the library
produced), reads only safetensors (data, never code), and never reaches a
model hub: everything comes from the directory given.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from egide.errors import ConfigurationError

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")
_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "I64": np.int64}
_SUPPORTED_MODULES = {
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file as a float32 (or int64) array; data only, no code."""
    with path.open("rb") as handle:
        (size,) = struct.unpack("<Q", handle.read(8))
        if size > 100_000_000:
            raise ConfigurationError(f"{path} is not a safetensors file (header of {size} bytes)")
        header = json.loads(handle.read(size))
    start = 8 + size
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _DTYPES:
            raise ConfigurationError(f"{path}: tensor {name} has unsupported dtype {info['dtype']}")
        begin, end = info["data_offsets"]
        array = np.frombuffer(raw[start + begin : start + end], dtype=_DTYPES[info["dtype"]])
        if info["dtype"] == "BF16":  # the high half of a float32
            array = (array.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = array.reshape(info["shape"]).astype(
            np.int64 if info["dtype"] == "I64" else np.float32
        )
    return tensors


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigurationError(
            f"cannot read {path} ({error}): is the model copied whole?"
        ) from None


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (error below 1.5e-7): numpy has no erf, and the
    # exact GELU of BERT needs one.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf: np.ndarray = sign * (1.0 - poly * np.exp(-a * a))
    return erf


_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))),
    "gelu_new": lambda x: 0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x**3))),
    "gelu_pytorch_tanh": lambda x: 0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x**3))),
    "relu": lambda x: np.maximum(x, 0.0),
}


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    normed: np.ndarray = (x - mean) / np.sqrt(var + eps) * weight + bias
    return normed


class SentenceTransformerEmbedder:
    """A BERT-family sentence-transformers model from a local directory, L2-normalised."""

    def __init__(self, directory: Path | str, *, batch_size: int = 16) -> None:
        self.directory = Path(directory).expanduser()
        root = self.directory
        if not (root / "modules.json").is_file():
            raise ConfigurationError(
                f"{root} is not a sentence-transformers model directory (no modules.json); "
                "give the directory SentenceTransformer.save() wrote"
            )
        modules = _json(root / "modules.json")
        kinds = {m.get("type") for m in modules}
        if not kinds <= _SUPPORTED_MODULES:
            raise ConfigurationError(
                f"{root} uses modules {sorted(str(k) for k in kinds - _SUPPORTED_MODULES)}: only "
                "Transformer, Pooling and Normalize are supported, and custom code is never run"
            )
        transformer = next(
            m for m in modules if m["type"] == "sentence_transformers.models.Transformer"
        )
        pooling = next(m for m in modules if m["type"] == "sentence_transformers.models.Pooling")
        model_dir = root / transformer.get("path", "")
        weights = model_dir / "model.safetensors"
        if not weights.is_file():
            pickled = sorted(p.name for p in model_dir.iterdir() if p.suffix in PICKLE_SUFFIXES)
            if pickled:
                raise ConfigurationError(
                    f"{model_dir} holds only pickle weights ({', '.join(pickled)}), which can run "
                    "code when loaded; convert them to model.safetensors on a trusted machine"
                )
            raise ConfigurationError(f"{model_dir} has no model.safetensors")
        config = _json(model_dir / "config.json")
        if config.get("auto_map") or config.get("trust_remote_code"):
            raise ConfigurationError(
                f"{model_dir} needs custom model code (trust_remote_code), which Égide never "
                "runs; choose a standard BERT-family model"
            )
        if config.get("model_type") != "bert":
            raise ConfigurationError(
                f"{model_dir} is a {config.get('model_type')!r} model; only BERT-family encoders "
                "(MiniLM, BGE, E5, GTE…) are supported"
            )
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise ConfigurationError(
                f"{model_dir}: only absolute position embeddings are supported"
            )
        activation = config.get("hidden_act", "gelu")
        if activation not in _ACTIVATIONS:
            raise ConfigurationError(f"{model_dir}: activation {activation!r} is not supported")
        self._act = _ACTIVATIONS[activation]
        self._heads = int(config["num_attention_heads"])
        self._layers = int(config["num_hidden_layers"])
        self._eps = float(config.get("layer_norm_eps", 1e-12))
        pool = _json(root / pooling.get("path", "1_Pooling") / "config.json")
        self._pool_modes = [
            mode
            for mode in ("cls_token", "max_tokens", "mean_tokens", "mean_sqrt_len_tokens")
            if pool.get(f"pooling_mode_{mode}")
        ] or ["mean_tokens"]
        hidden = int(config["hidden_size"])
        self.dimension = hidden * len(self._pool_modes)
        st_config = root / "sentence_bert_config.json"
        max_length = (
            int(_json(st_config).get("max_seq_length", 256)) if st_config.is_file() else 256
        )
        max_length = min(max_length, int(config.get("max_position_embeddings", 512)))
        prompts: dict[str, str] = {}
        if (root / "config_sentence_transformers.json").is_file():
            prompts = _json(root / "config_sentence_transformers.json").get("prompts") or {}
        self._query_prefix = prompts.get("query", "")
        self._passage_prefix = prompts.get("passage", prompts.get("document", ""))

        from tokenizers import Tokenizer  # Rust tokenizer: reads tokenizer.json, runs no code

        tokenizer_file = model_dir / "tokenizer.json"
        if not tokenizer_file.is_file():
            raise ConfigurationError(f"{model_dir} has no tokenizer.json")
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length)
        tensors = read_safetensors(weights)
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in tensors else ""
        self._w = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        if "embeddings.word_embeddings.weight" not in self._w:
            raise ConfigurationError(f"{weights} does not hold BERT weights")
        digest = hashlib.sha256()
        with weights.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        # Part of the embedding cache key: another model (or other weights) never reuses vectors.
        self.id = f"st:{root.name[:60]}:{digest.hexdigest()[:16]}"
        self._batch = batch_size
        self._lock = threading.Lock()

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages (with the model's passage prompt, if it declares one)."""
        return self.encode([self._passage_prefix + t for t in texts])

    def query(self, text: str) -> np.ndarray:
        """Embed one query (with the model's query prompt, if it declares one)."""
        vector: np.ndarray = self.encode([self._query_prefix + text])[0]
        return vector

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised sentence vectors, one row per text."""
        rows = []
        with self._lock:
            for start in range(0, len(texts), self._batch):
                rows.append(self._forward(list(texts[start : start + self._batch])))
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        matrix = np.vstack(rows)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return (matrix / np.where(norms == 0, 1, norms)).astype(np.float32)

    def _forward(self, texts: list[str]) -> np.ndarray:
        w = self._w
        encodings = self._tokenizer.encode_batch(texts)
        length = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), length), dtype=np.int64)
        mask = np.zeros((len(texts), length), dtype=np.float32)
        types = np.zeros((len(texts), length), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            ids[row, :n] = encoding.ids
            types[row, :n] = encoding.type_ids
            mask[row, :n] = 1.0
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][np.arange(length)][None]
            + w["embeddings.token_type_embeddings.weight"][types]
        )
        x = _layer_norm(
            x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self._eps
        )
        batch, _, hidden = x.shape
        head = hidden // self._heads
        blocked = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for i in range(self._layers):
            p = f"encoder.layer.{i}."

            def dense(v: np.ndarray, name: str, p: str = p) -> np.ndarray:
                out: np.ndarray = v @ w[p + name + ".weight"].T + w[p + name + ".bias"]
                return out

            def split(v: np.ndarray) -> np.ndarray:
                return v.reshape(batch, length, self._heads, head).transpose(0, 2, 1, 3)

            q = split(dense(x, "attention.self.query"))
            k = split(dense(x, "attention.self.key"))
            v = split(dense(x, "attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(head)) + blocked
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
            x = _layer_norm(
                x + dense(context, "attention.output.dense"),
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                self._eps,
            )
            inner = self._act(dense(x, "intermediate.dense"))
            x = _layer_norm(
                x + dense(inner, "output.dense"),
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
                self._eps,
            )
        return self._pool(x.astype(np.float32), mask)

    def _pool(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        counts = np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        summed = (x * mask[..., None]).sum(axis=1)
        parts = []
        for mode in self._pool_modes:
            if mode == "cls_token":
                parts.append(x[:, 0])
            elif mode == "max_tokens":
                parts.append(np.where(mask[..., None] > 0, x, -1e9).max(axis=1))
            elif mode == "mean_tokens":
                parts.append(summed / counts)
            else:
                parts.append(summed / np.sqrt(counts))
        return np.concatenate(parts, axis=1)
