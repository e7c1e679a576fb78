"""Chat completions on the wire: OpenAI request → `ChatRequest`, answer → OpenAI JSON or events.

The running, counting, quota charge and journal entry are the application
layer's (`egide.serving.chat`); this module only translates. A stream that
fails midway ends with an `event: error` carrying the usual error object
instead of `[DONE]`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from egide.api.chat.marking import marking_line
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
from egide.errors import EgideError
from egide.inference import (
    ChatMessage,
    ChatRequest,
    JsonObjectFormat,
    JsonSchemaFormat,
    ResponseFormat,
)
from egide.serving.chat import DEFAULT_MAX_TOKENS, ChatRunner, Prepared
from egide.serving.gateway import Admission, Gateway


def to_chat_request(body: ChatCompletionRequest, priority: int) -> ChatRequest:
    """The runtime-neutral request of a wire request (without max_tokens: the default)."""
    messages = [
        ChatMessage("system" if m.role == "developer" else m.role, m.text()) for m in body.messages
    ]
    max_tokens = body.max_completion_tokens or body.max_tokens or DEFAULT_MAX_TOKENS
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


class ChatService:
    """Translates chat completions to and from the application layer's `ChatRunner`."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self._runner = ChatRunner(gateway)

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
        """The runtime request, refused early (400) if it cannot fit the model's context."""
        given = body.max_completion_tokens is not None or body.max_tokens is not None
        request = to_chat_request(body, admission.priority)
        return self._runner.prepare(admission, request, max_tokens_given=given)

    async def complete(
        self, admission: Admission, prepared: Prepared, started: float
    ) -> tuple[ChatCompletionResponse, float]:
        """The whole answer as the wire response, and the seconds spent in the engine."""
        result, engine = await self._runner.complete(admission, prepared, started)
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
        return response, engine

    async def stream(
        self,
        admission: Admission,
        body: ChatCompletionRequest,
        prepared: Prepared,
        started: float,
    ) -> AsyncIterator[bytes]:
        """Server-sent events: role, content deltas, finish reason, usage, `[DONE]`."""
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": admission.deployment.name,
        }
        line = marking_line(self._gateway, admission, body)
        first = {
            **base,
            # The marking line, for clients that show only the text (api.chat.marking).
            "choices": [_delta({"role": "assistant", "content": line}, None)],
            "egide": self._info(admission).model_dump(),
        }
        yield _event(first)
        content = ContentEvents(base)
        try:
            async with aclosing(self._runner.stream(admission, prepared, started)) as chunks:
                async for chunk in chunks:
                    if chunk.text:
                        yield content.encode(chunk.text)
                    if chunk.finish_reason:
                        yield _event({**base, "choices": [_delta({}, chunk.finish_reason)]})
                        if include_usage:
                            prompt, completion = chunk.prompt_tokens or 0, chunk.completion_tokens
                            usage = {
                                "prompt_tokens": prompt,
                                "completion_tokens": completion or 0,
                                "total_tokens": prompt + (completion or 0),
                            }
                            yield _event({**base, "choices": [], "usage": usage})
        except EgideError as error:
            yield b"event: error\ndata: " + json.dumps(egide_error_body(error)).encode() + b"\n\n"
            return
        yield b"data: [DONE]\n\n"


def _delta(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}


def _event(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, ensure_ascii=False).encode("utf-8") + b"\n\n"


class ContentEvents:
    """The content-delta events of one stream, the same bytes as `_event` builds, made cheaply.

    Every content event of a stream differs only by its text: the bytes
    before and after it are encoded once, and each event costs one string
    encoding instead of a dictionary and a `json.dumps` of the whole chunk
    (measured reason for not building the chunk per token: docs/inference.md).
    """

    def __init__(self, base: dict[str, Any]) -> None:
        template = _event({**base, "choices": [_delta({"content": None}, None)]})
        # The first `"content": null` is the delta's: inside a JSON string a quote
        # is escaped, so the base's values cannot contain it.
        self._head, self._tail = template.split(b'"content": null', 1)
        self._head += b'"content": '

    def encode(self, text: str) -> bytes:
        """The `data:` event carrying `text` as the delta's content."""
        return self._head + json.dumps(text, ensure_ascii=False).encode("utf-8") + self._tail


__all__ = ["ChatService", "ContentEvents", "to_chat_request"]
