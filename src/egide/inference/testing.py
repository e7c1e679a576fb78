"""Test doubles for other engines' unit tests: deterministic, instant, no model file.

`EchoBackend` answers "echo: <last user message>", streams it word by word,
counts one token per whitespace-separated word, honours `max_tokens` and
`stop`, returns a valid JSON object for structured requests, and records every
request it receives. It is a full :class:`~egide.inference.protocol.Backend`,
so API and workflow tests exercise the same code paths as production.

Never use it in the end-to-end test set: those run the real llama.cpp model.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from egide.errors import ContextOverflow
from egide.inference.guard import ALLOW_ENV
from egide.inference.protocol import (
    BackendInfo,
    ChatMessage,
    ChatRequest,
    ChatResult,
    FinishReason,
    JsonObjectFormat,
    JsonSchemaFormat,
    StreamChunk,
)

RUNTIME = "echo"


@contextmanager
def forbid_model_requests() -> Iterator[None]:
    """Within the block, real runtimes refuse to generate; test doubles still work."""
    previous = os.environ.get(ALLOW_ENV)
    os.environ[ALLOW_ENV] = "0"
    try:
        yield
    finally:
        if previous is None:
            del os.environ[ALLOW_ENV]
        else:
            os.environ[ALLOW_ENV] = previous


@dataclass
class EchoBackend:
    """A deterministic backend that repeats the last user message.

    Attributes:
        name: Model name reported by `describe`.
        context_size: Context window in "tokens" (words), enforced like the real runtime.
        delay: Seconds to sleep between streamed words, to test cancellation and timeouts.
        embedding_size: Length of the vectors `embed` returns.
        words_per_chunk: Words sent in each streamed chunk (an engine may send several
            tokens per chunk: what is counted must be tokens, never chunks).
        ignores_formats: Answer plain text whatever `response_format` asks (as an
            engine that does not honour JSON formats would).
        requests: Every request received, oldest first.
    """

    name: str = "echo"
    context_size: int = 4096
    delay: float = 0.0
    embedding_size: int = 8
    words_per_chunk: int = 1
    ignores_formats: bool = False
    requests: list[ChatRequest] = field(default_factory=list)
    _in_flight: int = 0
    _closed: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EchoBackend:
        """Build from a plain mapping of the attributes above, each optional."""
        return cls(
            name=str(config.get("name", "echo")),
            context_size=int(config.get("context_size", 4096)),
            delay=float(config.get("delay", 0.0)),
            words_per_chunk=max(1, int(config.get("words_per_chunk", 1))),
            ignores_formats=bool(config.get("ignores_formats", False)),
        )

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """One token per word, plus one per message for the template."""
        return sum(len(m.content.split()) + 1 for m in messages)

    def answer_words(self, request: ChatRequest) -> tuple[list[str], FinishReason]:
        """The words the answer consists of, and why it stops."""
        fmt = request.response_format
        if isinstance(fmt, JsonSchemaFormat | JsonObjectFormat) and not self.ignores_formats:
            return [json.dumps(_example(fmt))], "stop"
        last_user = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        words = ["echo:", *last_user.split()]
        text = " ".join(words)
        for stop in request.stop:
            if stop and stop in text:
                words = text[: text.index(stop)].split()
        if len(words) > request.max_tokens:
            return words[: request.max_tokens], "length"
        return words, "stop"

    async def chat(self, request: ChatRequest) -> ChatResult:
        """The echo answer, whole."""
        parts = [chunk async for chunk in self.stream(request)]
        text = "".join(c.text for c in parts)
        finish = parts[-1].finish_reason or "stop"
        words, _ = self.answer_words(request)
        return ChatResult(text, finish, self.count_tokens(request.messages), len(words))

    async def stream(self, request: ChatRequest) -> AsyncGenerator[StreamChunk, None]:
        """The echo answer, word by word, then an empty chunk with the finish reason."""
        prompt = self.count_tokens(request.messages)
        if prompt + request.max_tokens > self.context_size:
            raise ContextOverflow(
                f"the prompt is {prompt} tokens and max_tokens asks for {request.max_tokens} "
                f"more, but model {self.name!r} has a context of {self.context_size} tokens"
            )
        self.requests.append(request)
        words, finish = self.answer_words(request)
        self._in_flight += 1
        try:
            step = self.words_per_chunk
            for i in range(0, len(words), step):
                if self.delay:
                    await asyncio.sleep(self.delay)
                piece = " ".join(words[i : i + step])
                yield StreamChunk(piece if i == 0 else " " + piece)
            # One "token" per word, as `count_tokens` counts them.
            yield StreamChunk("", finish, completion_tokens=len(words))
        finally:
            self._in_flight -= 1

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Deterministic vectors derived from each text's bytes."""
        vectors = []
        for text in texts:
            data = text.encode("utf-8") or b"\0"
            vectors.append([data[i % len(data)] / 255.0 for i in range(self.embedding_size)])
        return vectors

    def describe(self) -> BackendInfo:
        """Metadata; `demo` is true because this is not a real model."""
        return BackendInfo(
            name=self.name,
            runtime=RUNTIME,
            context_size=self.context_size,
            in_flight=self._in_flight,
            queue_depth=0,
            healthy=not self._closed,
            demo=True,
        )

    async def close(self) -> None:
        """Nothing to release."""
        self._closed = True


def _example(fmt: JsonSchemaFormat | JsonObjectFormat) -> Any:
    """A small value satisfying a simple schema (objects, arrays, scalars, enums, the first
    branch of anyOf/oneOf)."""
    schema = fmt.schema if isinstance(fmt, JsonSchemaFormat) else {"type": "object"}
    return _example_for(schema)


def _example_for(schema: Mapping[str, Any]) -> Any:
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for choice in ("anyOf", "oneOf"):
        if schema.get(choice):
            return _example_for(schema[choice][0])
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object":
        properties = schema.get("properties", {})
        return {key: _example_for(sub) for key, sub in properties.items()}
    if kind == "array":
        return [_example_for(schema.get("items", {"type": "string"}))]
    return {"string": "echo", "integer": 0, "number": 0.0, "boolean": True, "null": None}.get(
        kind, "echo"
    )
