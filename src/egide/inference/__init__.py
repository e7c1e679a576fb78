"""Model runtimes behind one small protocol: chat, stream, embed, structured output.

Build a backend from configuration with :func:`create_backend`; talk to it
through :class:`Backend`. Runtime modules (llama.cpp, HTTP) are imported only
when a backend of that kind is built. See docs/inference.md.
"""

from egide.inference.protocol import (
    Backend,
    BackendInfo,
    ChatMessage,
    ChatRequest,
    ChatResult,
    FinishReason,
    JsonObjectFormat,
    JsonSchemaFormat,
    ResponseFormat,
    StreamChunk,
    Usage,
)
from egide.inference.registry import RUNTIMES, BackendFactory, create_backend

__all__ = [
    "RUNTIMES",
    "Backend",
    "BackendFactory",
    "BackendInfo",
    "ChatMessage",
    "ChatRequest",
    "ChatResult",
    "FinishReason",
    "JsonObjectFormat",
    "JsonSchemaFormat",
    "ResponseFormat",
    "StreamChunk",
    "Usage",
    "create_backend",
]
