"""What chat clients rely on beyond one plain answer: the marking in the text, `n`, tools,
and structured answers that parse.

- **The marking in the content** (`egide.api.chat.marking`), as on the
  one-answer path.
- **`n` > 1, tools, JSON formats** run here, each answer through the same
  `ChatRunner` as any other — admitted at the working label, counted, charged
  and journaled once per answer — so nothing a client asks for runs beside
  the rules. A JSON answer that does not parse although the model finished is
  an error, never handed over as if it were valid; one cut by `max_tokens`
  comes back with `finish_reason: "length"`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from egide.api.chat.marking import is_json_answer, marking_line
from egide.api.chat.protocol import (
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatMessageOut,
    Choice,
    UsageOut,
)
from egide.api.chat.service import ChatService, to_chat_request
from egide.api.chat.tools import ToolPlan, read_call, tool_plan, with_tools
from egide.api.errors import egide_error_body
from egide.errors import EgideError
from egide.serving.chat import ChatRunner, Prepared
from egide.serving.gateway import Admission, Gateway


class MalformedAnswer(EgideError):
    """The model finished an answer that should be JSON but is not."""

    http_status = 502
    code = "malformed_model_output"


def needs_compat(body: ChatCompletionRequest) -> bool:
    """Whether the request needs more than the one-answer path (`n`, tools, JSON)."""
    # A streamed JSON answer keeps the one-answer path: its tokens go out as they
    # come, constrained by the grammar, and cannot be checked before they are sent.
    return (
        (body.n or 1) > 1
        or bool(body.tools)
        or body.tool_choice is not None
        or (is_json_answer(body) and not body.stream)
    )


class CompatChat:
    """Runs requests with `n`, tools or a JSON format; each answer through `ChatRunner`."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self._runner = ChatRunner(gateway)
        self._info = ChatService(gateway)._info

    def prepare(
        self, admission: Admission, body: ChatCompletionRequest
    ) -> tuple[Prepared, ToolPlan | None]:
        """The runtime request (tools offered and constrained), refused early if it cannot run.

        Raises:
            InvalidInput: unusable tools or tool_choice, or a prompt that cannot fit.
        """
        plan = tool_plan(body)
        request = to_chat_request(body, admission.priority)
        if plan is not None:
            request = with_tools(plan, request)
        given = body.max_completion_tokens is not None or body.max_tokens is not None
        return self._runner.prepare(admission, request, max_tokens_given=given), plan

    async def complete(
        self,
        admission: Admission,
        body: ChatCompletionRequest,
        prepared: tuple[Prepared, ToolPlan | None],
        started: float,
    ) -> tuple[ChatCompletionResponse, float]:
        """The `n` whole answers as one response, and the seconds spent in the engine."""
        request, plan = prepared
        line = marking_line(self._gateway, admission, body)
        choices: list[Choice] = []
        prompt_tokens = completion_tokens = 0
        engine_seconds = 0.0
        for index in range(body.n or 1):
            result, engine = await self._runner.complete(admission, request, started)
            engine_seconds += engine
            prompt_tokens = result.prompt_tokens
            completion_tokens += result.completion_tokens
            try:
                message, finish = self._message(body, plan, line, result.text, result.finish_reason)
            except MalformedAnswer as error:
                # The run is journaled as served (its tokens were spent); that its
                # answer was withheld from the client is journaled beside it.
                details = {"model": admission.deployment.name, "choice": index}
                await self._gateway.refused(
                    admission.principal, "inference.withheld", error, details=details
                )
                raise
            choices.append(Choice(index=index, message=message, finish_reason=finish))
        response = ChatCompletionResponse(
            id=f"chatcmpl-{uuid.uuid4().hex}",
            created=int(time.time()),
            model=admission.deployment.name,
            choices=choices,
            usage=UsageOut(
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                total_tokens=prompt_tokens + completion_tokens,
            ),
            egide=self._info(admission),
        )
        return response, engine_seconds

    def _message(
        self,
        body: ChatCompletionRequest,
        plan: ToolPlan | None,
        line: str,
        text: str,
        finish: str,
    ) -> tuple[ChatMessageOut, str]:
        if plan is not None:
            content, calls, finish = read_call(plan, text, finish)
            if calls is not None:
                return ChatMessageOut(content=None, tool_calls=calls), finish
            return ChatMessageOut(content=line + (content or "")), finish
        if is_json_answer(body) and finish == "stop":
            _check_json(text)
        return ChatMessageOut(content=line + text), finish

    async def stream(
        self,
        admission: Admission,
        body: ChatCompletionRequest,
        prepared: tuple[Prepared, ToolPlan | None],
        started: float,
    ) -> AsyncIterator[bytes]:
        """Server-sent events for each of the `n` answers in turn (`index` tells them apart).

        A tool call is sent whole in one delta once the constrained answer has
        ended (its arguments must parse before anything is handed over).
        """
        request, plan = prepared
        line = marking_line(self._gateway, admission, body)
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": admission.deployment.name,
        }
        info = self._info(admission).model_dump()
        usage = {"prompt_tokens": 0, "completion_tokens": 0}
        try:
            for index in range(body.n or 1):
                first = {"role": "assistant", "content": "" if plan else line}
                yield _event({**base, "choices": [_delta(index, first, None)], "egide": info})
                if plan is not None:
                    result, _ = await self._runner.complete(admission, request, started)
                    message, finish = self._message(
                        body, plan, line, result.text, result.finish_reason
                    )
                    delta = message.model_dump(exclude={"role"}, exclude_none=True)
                    if message.tool_calls:
                        for position, call in enumerate(delta["tool_calls"]):
                            call["index"] = position
                    yield _event({**base, "choices": [_delta(index, delta, None)]})
                    usage["prompt_tokens"] = result.prompt_tokens
                    usage["completion_tokens"] += result.completion_tokens
                    yield _event({**base, "choices": [_delta(index, {}, finish)]})
                    continue
                async with aclosing(self._runner.stream(admission, request, started)) as chunks:
                    async for chunk in chunks:
                        if chunk.text:
                            delta = {"content": chunk.text}
                            yield _event({**base, "choices": [_delta(index, delta, None)]})
                        if chunk.finish_reason:
                            usage["prompt_tokens"] = chunk.prompt_tokens or 0
                            usage["completion_tokens"] += chunk.completion_tokens or 0
                            reason = chunk.finish_reason
                            yield _event({**base, "choices": [_delta(index, {}, reason)]})
        except EgideError as error:
            yield b"event: error\ndata: " + json.dumps(egide_error_body(error)).encode() + b"\n\n"
            return
        if body.stream_options and body.stream_options.include_usage:
            total = usage["prompt_tokens"] + usage["completion_tokens"]
            yield _event({**base, "choices": [], "usage": {**usage, "total_tokens": total}})
        yield b"data: [DONE]\n\n"


def _check_json(text: str) -> None:
    try:
        json.loads(text)
    except ValueError:
        raise MalformedAnswer(
            "the model finished an answer that is not valid JSON although a JSON "
            "response_format was asked for; retry, or raise max_tokens if answers are long"
        ) from None


def _delta(index: int, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}


def _event(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, ensure_ascii=False).encode("utf-8") + b"\n\n"


__all__ = ["CompatChat", "MalformedAnswer", "needs_compat"]
