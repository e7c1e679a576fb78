"""Wire models of `POST /v1/chat/completions`, in the OpenAI specification's field order.

Unknown fields are ignored (as OpenAI-compatible engines do), so clients that
send vendor extensions — the Mistral SDK's `safe_prompt`, for instance — work.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class TextPart(BaseModel):
    """One text part of a message's content."""

    type: Literal["text"]
    text: str


class ChatMessageIn(BaseModel):
    """A message of the conversation as sent by the client."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None
    name: str | None = None

    def text(self) -> str:
        """The content as one string (text parts joined)."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


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
    n: int | None = Field(default=None, ge=1, le=1)
    presence_penalty: float | None = None
    response_format: ResponseFormatIn | None = None
    seed: int | None = None
    random_seed: int | None = None
    """The Mistral API's name for `seed`."""
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    user: str | None = None


class ChatMessageOut(BaseModel):
    """The assistant's answer."""

    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    """One answer (Égide always returns one)."""

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
