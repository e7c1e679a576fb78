"""Running an admitted chat request: the answer, its tokens, its quota charge and journal entry.

Every face that runs a model goes through here — the API (whole answers and
server-sent events), `egide chat`, and the workers to come — so each answer
is counted in tokens (the runtime's count, else its tokenizer's; never
chunks), charged to the caller's quotas and journaled the same way: once it
has ended, for a stream after its last token, or when the reader goes away,
with the caller, model and weight digest, SHA-256 of the prompt and of the
answer, token counts, labels and latency. Faces only translate the request in
and the result out.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from typing import Any, NamedTuple

import anyio

from egide.core.digest import sha256_json, sha256_text
from egide.core.labels import Label
from egide.core.principals import Principal
from egide.errors import ContextOverflow, EgideError
from egide.inference import (
    Backend,
    BackendInfo,
    ChatMessage,
    ChatRequest,
    ChatResult,
    StreamChunk,
)
from egide.serving.gateway import Admission, Gateway
from egide.workflows.synthesis import ModelEngine

DEFAULT_MAX_TOKENS = 512
ENDPOINT = "chat"


class Prepared(NamedTuple):
    """A request ready to run: the runtime request, its prompt tokens and prompt hash."""

    request: ChatRequest
    prompt_tokens: int
    prompt_hash: str


class Completed(NamedTuple):
    """A whole answer, and the seconds spent waiting for the model engine."""

    result: ChatResult
    engine_seconds: float


def server_timing(engine_seconds: float, total_seconds: float) -> str:
    """A `Server-Timing` header: time in the engine call, and in Égide around it."""
    egide = max(0.0, total_seconds - engine_seconds)
    return f"engine;dur={engine_seconds * 1000:.3f}, egide;dur={egide * 1000:.3f}"


def text_tokens(backend: Backend, text: str) -> int:
    """Tokens of a generated text by the backend's own count (its template overhead removed)."""
    if not text:
        return 0
    with_text = backend.count_tokens([ChatMessage("assistant", text)])
    return max(1, with_text - backend.count_tokens([ChatMessage("assistant", "")]))


class Cancelled(EgideError):
    """The reader went away before the end of the answer."""

    code = "client_disconnected"

    def __init__(self) -> None:
        super().__init__("the client closed the connection before the end of the answer")


class ChatRunner:
    """Runs admitted chat requests on their deployment, for every face."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    @staticmethod
    def prepare(admission: Admission, request: ChatRequest, *, max_tokens_given: bool) -> Prepared:
        """The runtime request and its prompt size, refused early if it cannot fit.

        Without `max_tokens_given`, the answer may use up to `DEFAULT_MAX_TOKENS`
        within what the context leaves.

        Raises:
            ContextOverflow: before any byte of a stream is sent, so it is a plain 400.
        """
        backend = admission.deployment.backend
        prompt_tokens = backend.count_tokens(request.messages)
        context = backend.describe().context_size
        if not max_tokens_given:
            room = (context - prompt_tokens) if context else DEFAULT_MAX_TOKENS
            request = dataclasses.replace(request, max_tokens=max(1, min(DEFAULT_MAX_TOKENS, room)))
        if context and prompt_tokens + request.max_tokens > context:
            name = admission.deployment.name
            raise ContextOverflow(
                f"the prompt is {prompt_tokens} tokens and max_tokens asks for "
                f"{request.max_tokens} more, {prompt_tokens + request.max_tokens} in all, but "
                f"model {name!r} has a context of {context} tokens; lower max_tokens to at most "
                f"{max(0, context - prompt_tokens)} or shorten the conversation"
            )
        prompt_hash = sha256_json([m.as_dict() for m in request.messages])
        return Prepared(request, prompt_tokens, prompt_hash)

    async def complete(self, admission: Admission, prepared: Prepared, started: float) -> Completed:
        """The whole answer, journaled before it is returned."""
        request, prompt_tokens, prompt_hash = prepared
        engine_started = time.perf_counter()
        try:
            result = await admission.deployment.backend.chat(request)
        except EgideError as error:
            await self._finish(admission, started, prompt_hash, "", prompt_tokens, 0, error, False)
            raise
        engine = time.perf_counter() - engine_started
        await self._finish(
            admission,
            started,
            prompt_hash,
            result.text,
            result.prompt_tokens,
            result.completion_tokens,
            None,
            False,
        )
        return Completed(result, engine)

    async def stream(
        self, admission: Admission, prepared: Prepared, started: float
    ) -> AsyncGenerator[StreamChunk, None]:
        """The answer piece by piece; the last chunk carries the finish reason and token counts.

        The answer is journaled before its last chunk is yielded; an answer cut
        by an error (raised as `EgideError`) or by the reader going away is
        journaled too.
        """
        request, prompt_tokens, prompt_hash = prepared
        backend = admission.deployment.backend
        parts: list[str] = []
        last: StreamChunk | None = None
        error: EgideError | None = None
        try:
            async with aclosing(backend.stream(request)) as chunks:
                async for chunk in chunks:
                    if chunk.finish_reason:
                        last = chunk
                        if chunk.text:
                            parts.append(chunk.text)
                        break
                    if chunk.text:
                        parts.append(chunk.text)
                        yield chunk
        except EgideError as exc:
            error = exc
        except Exception as exc:
            error = EgideError(f"the model failed while answering: {exc}")
        finally:
            if error is not None or last is None:
                # Ended by an error, or by the reader going away (cancellation):
                # journal it even so, shielded from the cancellation.
                with anyio.CancelScope(shield=True):
                    await self._finish(
                        admission,
                        started,
                        prompt_hash,
                        "".join(parts),
                        prompt_tokens,
                        text_tokens(backend, "".join(parts)),
                        error or Cancelled(),
                        True,
                    )
        if error is not None:
            raise error
        assert last is not None
        text = "".join(parts)
        # Tokens as the runtime counted them; else as its tokenizer counts the text.
        completion = last.completion_tokens
        if completion is None:
            completion = text_tokens(backend, text)
        prompt = last.prompt_tokens if last.prompt_tokens is not None else prompt_tokens
        await self._finish(admission, started, prompt_hash, text, prompt, completion, None, True)
        yield StreamChunk(last.text, last.finish_reason, completion, prompt)

    async def _finish(
        self,
        admission: Admission,
        started: float,
        prompt_hash: str,
        output: str,
        prompt_tokens: int,
        completion_tokens: int,
        error: EgideError | None,
        streamed: bool,
    ) -> None:
        gateway = self._gateway
        latency = time.perf_counter() - started
        status = (
            200 if error is None else (499 if isinstance(error, Cancelled) else error.http_status)
        )
        gateway.limiter.charge(admission.principal, prompt_tokens + completion_tokens)
        gateway.metrics.count_tokens(admission.deployment.name, prompt_tokens, completion_tokens)
        gateway.metrics.observe(ENDPOINT, admission.deployment.name, status, latency)
        details: dict[str, Any] = {
            "prompt_sha256": prompt_hash,
            "output_sha256": sha256_text(output),
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "latency_ms": round(latency * 1000, 3),
            "stream": streamed,
            "priority": admission.priority,
            "status": status,
        }
        if error is not None:
            details["error"] = error.code
        await gateway.record(admission, "inference.chat", details)


class AdmittedBackend:
    """A deployment's backend as a workflow uses it: each answer runs through `ChatRunner`.

    A workflow (synthesis) drafts with the model through this adapter, so its
    calls are counted in tokens, charged to the caller's quotas and journaled
    (`inference.chat`) exactly as the API's are.
    """

    def __init__(self, runner: ChatRunner, admission: Admission) -> None:
        self._runner = runner
        self._admission = admission
        self._backend = admission.deployment.backend

    async def chat(self, request: ChatRequest) -> ChatResult:
        """The whole answer, run, charged and journaled as the admitted caller's."""
        prepared = self._runner.prepare(self._admission, request, max_tokens_given=True)
        result, _ = await self._runner.complete(self._admission, prepared, time.perf_counter())
        return result

    async def stream(self, request: ChatRequest) -> AsyncGenerator[StreamChunk, None]:
        """The answer piece by piece, run, charged and journaled as the admitted caller's."""
        prepared = self._runner.prepare(self._admission, request, max_tokens_given=True)
        async with aclosing(
            self._runner.stream(self._admission, prepared, time.perf_counter())
        ) as chunks:
            async for chunk in chunks:
                yield chunk

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Not for workflows' chat models: the backend's own answer."""
        return await self._backend.embed(texts)

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """The backend's count."""
        return self._backend.count_tokens(messages)

    def describe(self) -> BackendInfo:
        """The backend's description."""
        return self._backend.describe()

    async def close(self) -> None:
        """Nothing: the deployment owns its backend."""


async def workflow_engine(
    gateway: Gateway, principal: Principal, working: Label, model: str, action: str
) -> ModelEngine:
    """The model a workflow may write with; a refusal is journaled as `action`.

    The policy is the gateway's (kill switch, accreditation, routing, output
    label); each call the workflow then makes is run, charged in tokens and
    journaled here, as an API request is.
    """
    admission = await gateway.decided(principal, working, model, action)
    engine = admission.deployment.engine()
    return dataclasses.replace(engine, backend=AdmittedBackend(ChatRunner(gateway), admission))


__all__ = [
    "DEFAULT_MAX_TOKENS",
    "AdmittedBackend",
    "Cancelled",
    "ChatRunner",
    "Completed",
    "Prepared",
    "server_timing",
    "text_tokens",
    "workflow_engine",
]
