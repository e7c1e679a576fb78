"""OpenAI function calling on any runtime: the tools become a JSON-schema constraint.

The request's `tools` are offered to the model in a system message, and its
answer is constrained to one JSON object `{"name": <a tool>, "arguments":
<that tool's parameters>}` — with `tool_choice: "auto"`, also `{"content":
<text>}` for an answer without a call. The embedded llama.cpp runtime turns
that schema into a grammar, so a call always names a declared tool with
arguments valid for its schema; a remote OpenAI-compatible engine receives the
same schema as `response_format: json_schema` (vLLM's and llama.cpp server's
guided decoding). One mechanism for every runtime, so an answer's guarantee
does not depend on which engine served it.

`tool_choice: "none"` runs without the tools, as OpenAI does. Tools with a
JSON response format, or `parallel_tool_calls: true` asked explicitly, are
refused with a 400 rather than half-honoured.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from egide.api.chat.protocol import (
    ChatCompletionRequest,
    FunctionCallOut,
    NamedToolChoice,
    ToolCallOut,
    ToolIn,
)
from egide.errors import InvalidInput
from egide.inference import ChatMessage, ChatRequest, JsonSchemaFormat

_ANY_OBJECT: Mapping[str, Any] = {"type": "object"}
_INSTRUCTIONS = (
    "You can call the functions listed below. To call one, answer with only a JSON "
    'object {"name": <function name>, "arguments": <its arguments>}.'
)


@dataclass(frozen=True)
class ToolPlan:
    """How a request's tools constrain its answer."""

    schema: Mapping[str, Any]
    instructions: str
    names: frozenset[str]


def tool_plan(body: ChatCompletionRequest) -> ToolPlan | None:
    """The constraint of a request's tools, or None when it offers none to call.

    Raises:
        InvalidInput: tools with a JSON response format, parallel calls asked for,
            a forced tool that is not declared, or a `tool_choice` without tools.
    """
    tools = body.tools or []
    choice = body.tool_choice
    if not tools:
        if choice not in (None, "none"):
            raise InvalidInput("tool_choice needs tools; declare them in `tools`")
        return None
    if choice == "none":
        return None
    if body.response_format is not None and body.response_format.type != "text":
        raise InvalidInput(
            "tools cannot be combined with a JSON response_format here; send one or the other"
        )
    if body.parallel_tool_calls:
        raise InvalidInput(
            "parallel_tool_calls is not supported: the model calls at most one tool per "
            "answer; leave parallel_tool_calls out or set it to false"
        )
    names = [t.function.name for t in tools]
    if len(set(names)) != len(names):
        raise InvalidInput("two tools have the same name; give each function its own name")
    offered = tools
    if isinstance(choice, NamedToolChoice):
        offered = [t for t in tools if t.function.name == choice.function.name]
        if not offered:
            raise InvalidInput(
                f"tool_choice names {choice.function.name!r}, which is not among the tools "
                f"({', '.join(names)})"
            )
    calls = [_call_schema(t) for t in offered]
    if choice in (None, "auto"):
        calls.append(
            {
                "type": "object",
                "properties": {"content": {"type": "string"}},
                "required": ["content"],
            }
        )
    schema: Mapping[str, Any] = calls[0] if len(calls) == 1 else {"anyOf": calls}
    described = [
        {
            "name": t.function.name,
            "description": t.function.description or "",
            "parameters": t.function.parameters or _ANY_OBJECT,
        }
        for t in offered
    ]
    text = _INSTRUCTIONS
    if choice in (None, "auto"):
        text += ' To answer without a call, answer {"content": <your answer>}.'
    text += "\nFunctions:\n" + json.dumps(described, ensure_ascii=False)
    return ToolPlan(schema, text, frozenset(t.function.name for t in offered))


def _call_schema(tool: ToolIn) -> dict[str, Any]:
    parameters = tool.function.parameters or _ANY_OBJECT
    return {
        "type": "object",
        "properties": {"name": {"const": tool.function.name}, "arguments": dict(parameters)},
        "required": ["name", "arguments"],
    }


def with_tools(plan: ToolPlan, request: ChatRequest) -> ChatRequest:
    """The runtime request with the tools offered and the answer constrained to a call."""
    messages: Sequence[ChatMessage] = request.messages
    if messages and messages[0].role == "system":
        first = ChatMessage("system", f"{messages[0].content}\n\n{plan.instructions}")
        messages = [first, *messages[1:]]
    else:
        messages = [ChatMessage("system", plan.instructions), *messages]
    return dataclasses.replace(
        request,
        messages=messages,
        response_format=JsonSchemaFormat(schema=plan.schema, name="tool_call"),
    )


def read_call(
    plan: ToolPlan, text: str, finish_reason: str
) -> tuple[str | None, list[ToolCallOut] | None, str]:
    """The answer's content, tool calls and finish reason, from the constrained text.

    An answer cut by `max_tokens` is returned as it is, with `finish_reason:
    "length"`, so the client knows it is incomplete.
    """
    if finish_reason == "length":
        return text, None, "length"
    try:
        value = json.loads(text)
    except ValueError:
        return text, None, finish_reason
    if isinstance(value, dict) and value.get("name") in plan.names:
        call = ToolCallOut(
            id=f"call_{uuid.uuid4().hex[:24]}",
            function=FunctionCallOut(
                name=str(value["name"]),
                arguments=json.dumps(value.get("arguments", {}), ensure_ascii=False),
            ),
        )
        return None, [call], "tool_calls"
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return value["content"], None, finish_reason
    return text, None, finish_reason


__all__ = ["ToolPlan", "read_call", "tool_plan", "with_tools"]
