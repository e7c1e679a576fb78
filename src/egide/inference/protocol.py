"""The one small protocol every model runtime implements, and its value types.

A runtime (llama.cpp in-process, a pool of OpenAI-compatible engines, the test
double) is reached only through :class:`Backend`. Requests and results are
frozen dataclasses so they can be logged, hashed and compared; nothing here
does I/O.

Cancellation is part of the contract: cancelling the task that awaits
:meth:`Backend.chat`, or closing the iterator returned by
:meth:`Backend.stream`, stops the generation (an embedded runtime stops at the
next token, a remote one closes its HTTP stream).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from egide.errors import InvalidInput

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length"]

_ROLES: frozenset[str] = frozenset({"system", "user", "assistant", "tool"})


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One turn of a conversation."""

    role: Role
    content: str

    def __post_init__(self) -> None:
        if self.role not in _ROLES:
            raise InvalidInput(
                f"unknown chat role {self.role!r}; use one of {', '.join(sorted(_ROLES))}"
            )

    def as_dict(self) -> dict[str, str]:
        """The OpenAI wire form `{"role": ..., "content": ...}`."""
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True, slots=True)
class JsonObjectFormat:
    """Constrain the answer to be any JSON object."""


@dataclass(frozen=True, slots=True)
class JsonSchemaFormat:
    """Constrain the answer to a JSON document valid against `schema`."""

    schema: Mapping[str, Any]
    name: str = "response"


ResponseFormat = JsonObjectFormat | JsonSchemaFormat


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A chat completion request, independent of any runtime.

    Attributes:
        messages: The conversation, oldest first.
        max_tokens: Most tokens the model may generate.
        temperature: Sampling temperature; 0 is greedy (deterministic).
        top_p: Nucleus-sampling mass.
        stop: Strings that end the generation when produced.
        seed: Sampling seed, for reproducible answers where the runtime allows.
        response_format: Structured-output constraint, or None for free text.
        priority: Higher is served first when requests queue up; FIFO within one priority.
    """

    messages: Sequence[ChatMessage]
    max_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 1.0
    stop: Sequence[str] = ()
    seed: int | None = None
    response_format: ResponseFormat | None = None
    priority: int = 0

    def __post_init__(self) -> None:
        # Tuples keep the frozen request truly immutable even if a caller passed lists.
        object.__setattr__(self, "messages", tuple(self.messages))
        object.__setattr__(self, "stop", tuple(self.stop))
        if not self.messages:
            raise InvalidInput("a chat request needs at least one message")
        if self.max_tokens < 1:
            raise InvalidInput(f"max_tokens must be at least 1, got {self.max_tokens}")
        if not 0.0 <= self.temperature <= 2.0:
            raise InvalidInput(f"temperature must be between 0 and 2, got {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise InvalidInput(f"top_p must be in (0, 1], got {self.top_p}")


@dataclass(frozen=True, slots=True)
class Usage:
    """Token accounting of one completion."""

    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        """Prompt and completion together."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class ChatResult:
    """A finished chat completion."""

    text: str
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int

    @property
    def usage(self) -> Usage:
        """The token counts as one value."""
        return Usage(self.prompt_tokens, self.completion_tokens)


@dataclass(frozen=True, slots=True)
class StreamChunk:
    """A piece of a streamed answer; the last chunk carries the finish reason.

    The last chunk also carries the answer's token counts when the runtime
    knows them (its tokenizer, or the engine's `usage`); quotas and the
    journal count tokens, never chunks.
    """

    text: str
    finish_reason: FinishReason | None = None
    completion_tokens: int | None = None
    prompt_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class BackendInfo:
    """What a backend says about itself, for health checks and model listings.

    Attributes:
        name: The model name clients use.
        runtime: Registry key of the runtime ("llamacpp", "openai", "echo").
        context_size: Context window in tokens, or None when unknown.
        in_flight: Requests being generated now.
        queue_depth: Requests waiting for their turn.
        healthy: Whether the backend can serve a request now.
        demo: True for the small demonstration model that ships with Égide.
        details: Runtime-specific facts (replica states, model file, threads).
    """

    name: str
    runtime: str
    context_size: int | None
    in_flight: int
    queue_depth: int
    healthy: bool = True
    demo: bool = False
    details: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    """A model runtime: the only surface the rest of Égide sees."""

    async def chat(self, request: ChatRequest) -> ChatResult:
        """Generate a whole answer."""
        ...

    def stream(self, request: ChatRequest) -> AsyncGenerator[StreamChunk, None]:
        """Generate an answer piece by piece; close the iterator to stop early."""
        ...

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed each text; runtimes without embeddings raise a clear error."""
        ...

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Tokens the conversation takes once the chat template is applied."""
        ...

    def describe(self) -> BackendInfo:
        """Health and metadata, cheap enough to call on every health probe."""
        ...

    async def close(self) -> None:
        """Release the model, threads and connections."""
        ...


def embeddings_unsupported(runtime: str, name: str) -> InvalidInput:
    """The error a runtime raises when it has no embeddings.

    Args:
        runtime: Registry key of the runtime.
        name: Model name, so the operator knows which entry to change.
    """
    # InvalidInput (400) rather than NotImplementedError: asking a chat-only model
    # for embeddings is a request the caller can fix, and the API must not turn it
    # into a 500.
    return InvalidInput(
        f"model {name!r} (runtime {runtime!r}) does not provide embeddings; "
        "configure an embedding model and send embedding requests to it instead"
    )
