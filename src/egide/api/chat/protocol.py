"""Wire models of `POST /v1/chat/completions`, in the OpenAI specification's field order.

Unknown fields are ignored (as OpenAI-compatible engines do), so clients that
send vendor extensions — the Mistral SDK's `safe_prompt`, for instance — work.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)
from pydantic_core import PydanticCustomError

from egide.api.text import UnicodeText

MAX_CHOICES = 8
"""Most answers one request may ask for (`n`): each is a whole model run."""


class TextPart(BaseModel):
    """One text part of a message's content."""

    type: Literal["text"]
    text: UnicodeText


class FunctionCallIn(BaseModel):
    """The function an earlier assistant turn called, with its JSON arguments."""

    name: str
    arguments: str


class ToolCallIn(BaseModel):
    """A tool call of an earlier assistant turn, as the client sends it back."""

    model_config = ConfigDict(extra="ignore")

    id: str
    type: Literal["function"] = "function"
    function: FunctionCallIn


class ChatMessageIn(BaseModel):
    """A message of the conversation as sent by the client."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: UnicodeText | list[TextPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _text_only(cls, value: Any) -> Any:
        # Refused by name, before pydantic's generic "does not match" message.
        if isinstance(value, list):
            for part in value:
                kind = part.get("type") if isinstance(part, dict) else None
                if kind != "text":
                    raise PydanticCustomError(
                        "unsupported_content",
                        "content parts of type {kind} are not supported: the models served "
                        "here read text only; send the content as a string or as parts of "
                        'type "text" (image_url, input_audio and file parts are refused)',
                        {"kind": repr(kind)},
                    )
        return value

    def text(self) -> str:
        """The content as one string (text parts joined; earlier tool calls as their JSON)."""
        if self.content is None:
            if self.tool_calls:
                return json.dumps(
                    [
                        {"name": c.function.name, "arguments": _arguments(c.function.arguments)}
                        for c in self.tool_calls
                    ],
                    ensure_ascii=False,
                )
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


def _arguments(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


class FunctionSpec(BaseModel):
    """A function the model may call: its name, what it does, its JSON-schema parameters."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolIn(BaseModel):
    """One tool of the request (`type: function`, the only kind OpenAI defines for chat)."""

    type: Literal["function"]
    function: FunctionSpec


class NamedFunction(BaseModel):
    """The function `tool_choice` forces."""

    name: str


class NamedToolChoice(BaseModel):
    """`tool_choice: {"type": "function", "function": {"name": ...}}`."""

    type: Literal["function"]
    function: NamedFunction


class JsonSchemaSpec(BaseModel):
    """The `json_schema` member of a structured-output request."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    name: str = "response"
    description: str | None = None
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    strict: bool | None = None


class ResponseFormatIn(BaseModel):
    """`response_format`: free text, any JSON object, or JSON valid against a schema."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaSpec | None = None


class StreamOptions(BaseModel):
    """`stream_options`: whether the last event carries the token usage."""

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """A chat completion request."""

    model_config = ConfigDict(extra="ignore")

    messages: list[ChatMessageIn] = Field(min_length=1)
    model: str
    frequency_penalty: float | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: int | None = Field(default=None, ge=1, le=MAX_CHOICES)
    parallel_tool_calls: bool | None = None
    presence_penalty: float | None = None
    response_format: ResponseFormatIn | None = None
    seed: int | None = None
    random_seed: int | None = None
    """The Mistral API's name for `seed`."""
    stop: UnicodeText | list[UnicodeText] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    tools: list[ToolIn] | None = Field(default=None, max_length=128)
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    user: str | None = None


class FunctionCallOut(BaseModel):
    """The function the model called and its arguments, as a JSON text."""

    name: str
    arguments: str


class ToolCallOut(BaseModel):
    """A tool call of the answer."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCallOut


class ChatMessageOut(BaseModel):
    """The assistant's answer: text, or tool calls (then `content` is null)."""

    role: Literal["assistant"] = "assistant"
    content: str | None
    tool_calls: list[ToolCallOut] | None = None

    @model_serializer(mode="wrap")
    def _without_empty_calls(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A plain answer has no `tool_calls` member at all, as OpenAI sends it.
        data: dict[str, Any] = handler(self)
        if data.get("tool_calls") is None:
            data.pop("tool_calls", None)
        return data


class Choice(BaseModel):
    """One answer (several when the request asks for `n`)."""

    index: int = 0
    message: ChatMessageOut
    logprobs: None = None
    finish_reason: str


class UsageOut(BaseModel):
    """Token accounting."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class EgideInfo(BaseModel):
    """Égide's extension: the answer's security label and which weights produced it."""

    label: str
    label_en: str
    working_label: str
    model_digest: str
    demo_model: bool
    notice: str | None = None


class ChatCompletionResponse(BaseModel):
    """A whole chat completion."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: UsageOut
    system_fingerprint: str | None = None
    egide: EgideInfo
