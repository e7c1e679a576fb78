"""Wire models of `POST /v1/embeddings`, in the OpenAI specification's field order."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from egide.api.chat.protocol import EgideInfo
from egide.api.text import UnicodeText


class EmbeddingRequest(BaseModel):
    """An embedding request: one text or a list of texts."""

    model_config = ConfigDict(extra="ignore")

    input: UnicodeText | list[UnicodeText] = Field(min_length=1)
    model: str
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1)
    user: str | None = None
    input_type: Literal["query", "passage"] = "query"
    """Égide extension: E5 prefix, `query` (default, also for similarity) or `passage`."""


class Embedding(BaseModel):
    """One vector, as floats or as base64 little-endian float32."""

    object: Literal["embedding"] = "embedding"
    embedding: list[float] | str
    index: int


class EmbeddingUsage(BaseModel):
    """Tokens read (embeddings generate none)."""

    prompt_tokens: int
    completion_tokens: int = 0
    total_tokens: int


class EmbeddingResponse(BaseModel):
    """The vectors, in input order."""

    id: str
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage
    egide: EgideInfo
