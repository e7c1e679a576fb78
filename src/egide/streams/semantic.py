"""Semantic alerts: how close each message is to each alert description, in embedding space.

The platform's one embedder (`egide.knowledge.embedder`, multilingual-e5-small
by default) embeds a batch of messages at once as e5 *passages*, and each
description once as an e5 *query* (kept by text: descriptions do not change).
Vectors are L2-normalised, so cosine similarity is a dot product. The prefix
choice was measured on the hand-made French/English set of
tests/streams/test_semantic.py: a description as a query against messages as
passages separates related from unrelated messages better than both as
queries or both as passages (docs/streams.md gives the figures).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from egide.knowledge.embedder import Embedder

MAX_CACHED_DESCRIPTIONS = 1024
MAX_EMBEDDED_CHARS = 2000
"""The start of a message that is embedded: about the model's 512 tokens.

The engine's cost grows with the whole text, not only the 512 tokens it
reads: a 60 KB message took over a minute on two busy cores, stalling its
worker's flow. A message's meaning for an alert is in its first lines.
"""


class SemanticScorer:
    """Cosine similarities of messages to descriptions, embedding each description once.

    Args:
        embedder: Builds the embedder on first use (loading a model takes a moment).
    """

    def __init__(self, embedder: Callable[[], Embedder]) -> None:
        self._factory = embedder
        self._embedder: Embedder | None = None
        self._descriptions: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        """The embedder, built on first use."""
        with self._lock:
            if self._embedder is None:
                self._embedder = self._factory()
            return self._embedder

    def description(self, text: str) -> np.ndarray:
        """The vector of one description (computed once per text)."""
        vector = self._descriptions.get(text)
        if vector is None:
            vector = np.asarray(self.embedder.query(text), dtype=np.float32)
            if len(self._descriptions) >= MAX_CACHED_DESCRIPTIONS:
                self._descriptions.clear()
            self._descriptions[text] = vector
        return vector

    def similarities(
        self, texts: Sequence[str], descriptions: Sequence[str]
    ) -> list[dict[str, float]]:
        """For each text, its cosine similarity to each description (one batch of embeddings)."""
        if not texts or not descriptions:
            return [{} for _ in texts]
        wanted = list(dict.fromkeys(descriptions))
        matrix = np.vstack([self.description(d) for d in wanted])
        clipped = [text[:MAX_EMBEDDED_CHARS] for text in texts]
        messages = np.asarray(self.embedder.passages(clipped), dtype=np.float32)
        scores = messages @ matrix.T
        return [{d: float(s) for d, s in zip(wanted, row, strict=True)} for row in scores.tolist()]
