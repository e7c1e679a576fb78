"""Chat completions: wire request → `ChatRequest` → backend → wire answer, journaled.

Each request is journaled once it has ended — for a stream, after its last
token and before `data: [DONE]`, or when the client goes away — with the
caller, model, weight digest, SHA-256 of the prompt and of the answer, token
counts, labels and latency. A stream that fails midway ends with an
`event: error` carrying the usual error object instead of `[DONE]`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any, NamedTuple

import anyio

from egide.api.chat.protocol import (
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatMessageOut,
    Choice,
    EgideInfo,
    UsageOut,
)
from egide.api.dependencies import DEMO_NOTICE
from egide.api.errors import egide_error_body
from egide.errors import ContextOverflow, EgideError
from egide.inference import (
    Backend,
    ChatMessage,
    ChatRequest,
    JsonObjectFormat,
    JsonSchemaFormat,
    ResponseFormat,
)
from egide.serving.gateway import Admission, Gateway, sha256_json, sha256_text

DEFAULT_MAX_TOKENS = 512
ENDPOINT = "chat"


def to_chat_request(
    body: ChatCompletionRequest, priority: int, prompt_tokens: int, context: int | None
) -> ChatRequest:
    """The runtime-neutral request of a wire request."""
    messages = [
        ChatMessage("system" if m.role == "developer" else m.role, m.text()) for m in body.messages
    ]
    max_tokens = body.max_completion_tokens or body.max_tokens
    if max_tokens is None:
        # No limit asked: generate up to the default, within what the context leaves.
        room = (context - prompt_tokens) if context else DEFAULT_MAX_TOKENS
        max_tokens = max(1, min(DEFAULT_MAX_TOKENS, room))
    stop = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
    return ChatRequest(
        messages=messages,
        max_tokens=max_tokens,
        temperature=0.7 if body.temperature is None else body.temperature,
        top_p=1.0 if body.top_p is None else body.top_p,
        stop=stop,
        seed=body.seed if body.seed is not None else body.random_seed,
        response_format=_response_format(body),
        priority=priority,
    )


def _response_format(body: ChatCompletionRequest) -> ResponseFormat | None:
    fmt = body.response_format
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return JsonObjectFormat()
    if fmt.json_schema is None or not fmt.json_schema.schema_:
        return JsonObjectFormat()
    return JsonSchemaFormat(schema=fmt.json_schema.schema_, name=fmt.json_schema.name)


class Prepared(NamedTuple):
    """A request ready to run: the runtime request, its prompt tokens and prompt hash."""

    request: ChatRequest
    prompt_tokens: int
    prompt_hash: str


class Completed(NamedTuple):
    """A whole answer, and the seconds spent waiting for the model engine."""

    response: ChatCompletionResponse
    engine_seconds: float


def server_timing(engine_seconds: float, total_seconds: float) -> str:
    """A `Server-Timing` header: time in the engine call, and in Égide around it."""
    egide = max(0.0, total_seconds - engine_seconds)
    return f"engine;dur={engine_seconds * 1000:.3f}, egide;dur={egide * 1000:.3f}"


class ChatService:
    """Runs admitted chat requests on their deployment."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    def _info(self, admission: Admission) -> EgideInfo:
        deployment = admission.deployment
        return EgideInfo(
            label=admission.output_marking,
            label_en=self._gateway.policies.format(admission.output, "en"),
            working_label=self._gateway.marking(admission.working),
            model_digest=deployment.digest,
            demo_model=deployment.demo,
            notice=DEMO_NOTICE if deployment.demo else None,
        )

    def prepare(self, admission: Admission, body: ChatCompletionRequest) -> Prepared:
        """The runtime request and its prompt size, refused early if it cannot fit.

        Raises:
            ContextOverflow: before any byte of a stream is sent, so it is a plain 400.
        """
        backend = admission.deployment.backend
        request = to_chat_request(body, admission.priority, 0, None)
        prompt_tokens = backend.count_tokens(request.messages)
        context = backend.describe().context_size
        if body.max_completion_tokens is None and body.max_tokens is None:
            request = to_chat_request(body, admission.priority, prompt_tokens, context)
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
        response = ChatCompletionResponse(
            id=f"chatcmpl-{uuid.uuid4().hex}",
            created=int(time.time()),
            model=admission.deployment.name,
            choices=[
                Choice(
                    message=ChatMessageOut(content=result.text), finish_reason=result.finish_reason
                )
            ],
            usage=UsageOut(
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                total_tokens=result.prompt_tokens + result.completion_tokens,
            ),
            egide=self._info(admission),
        )
        return Completed(response, engine)

    async def stream(
        self,
        admission: Admission,
        body: ChatCompletionRequest,
        prepared: Prepared,
        started: float,
    ) -> AsyncIterator[bytes]:
        """Server-sent events: role, content deltas, finish reason, usage, `[DONE]`."""
        request, prompt_tokens, prompt_hash = prepared
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": admission.deployment.name,
        }
        parts: list[str] = []
        finish: str | None = None
        counted: int | None = None
        error: EgideError | None = None
        recorded = False
        try:
            first = {
                **base,
                "choices": [_delta({"role": "assistant", "content": ""}, None)],
                "egide": self._info(admission).model_dump(),
            }
            yield _event(first)
            async with aclosing(admission.deployment.backend.stream(request)) as chunks:
                async for chunk in chunks:
                    if chunk.text:
                        parts.append(chunk.text)
                        yield _event({**base, "choices": [_delta({"content": chunk.text}, None)]})
                    if chunk.finish_reason:
                        finish = chunk.finish_reason
                        counted = chunk.completion_tokens
                        if chunk.prompt_tokens is not None:
                            prompt_tokens = chunk.prompt_tokens
        except EgideError as exc:
            error = exc
        except Exception as exc:
            error = EgideError(f"the model failed while answering: {exc}")
        finally:
            if error is not None or finish is None:
                # Ended by an error, or by the client going away (cancellation):
                # journal it even so, shielded from the cancellation.
                with anyio.CancelScope(shield=True):
                    await self._finish(
                        admission,
                        started,
                        prompt_hash,
                        "".join(parts),
                        prompt_tokens,
                        text_tokens(admission.deployment.backend, "".join(parts)),
                        error or _Cancelled(),
                        True,
                    )
                recorded = True
        if error is not None:
            yield b"event: error\ndata: " + json.dumps(egide_error_body(error)).encode() + b"\n\n"
            return
        # Tokens, as the runtime counted them; else as its tokenizer counts the text.
        completion_tokens = (
            counted
            if counted is not None
            else text_tokens(admission.deployment.backend, "".join(parts))
        )
        yield _event({**base, "choices": [_delta({}, finish)]})
        if include_usage:
            usage = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            }
            yield _event({**base, "choices": [], "usage": usage})
        if not recorded:
            await self._finish(
                admission,
                started,
                prompt_hash,
                "".join(parts),
                prompt_tokens,
                completion_tokens,
                None,
                True,
            )
        yield b"data: [DONE]\n\n"

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
            200 if error is None else (499 if isinstance(error, _Cancelled) else error.http_status)
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


def text_tokens(backend: Backend, text: str) -> int:
    """Tokens of a generated text by the backend's own count (its template overhead removed)."""
    if not text:
        return 0
    with_text = backend.count_tokens([ChatMessage("assistant", text)])
    return max(1, with_text - backend.count_tokens([ChatMessage("assistant", "")]))


class _Cancelled(EgideError):
    """The client went away before the end of the answer."""

    code = "client_disconnected"

    def __init__(self) -> None:
        super().__init__("the client closed the connection before the end of the answer")


def _delta(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}


def _event(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, ensure_ascii=False).encode("utf-8") + b"\n\n"
