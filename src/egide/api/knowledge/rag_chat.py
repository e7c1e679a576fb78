"""Grounded answers for existing OpenAI clients: `model: "egide-rag:<collection>"`.

Any chat-completions client (the `openai` SDK, LangChain, curl) can ask the
knowledge base by naming the model `egide-rag:<collection>`: the last user
message is the question, and the answer comes back as an ordinary completion
whose text carries the numbered citations, with the label and citations also
in the `egide` extra field.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from egide.api.chat.protocol import ChatCompletionRequest
from egide.api.dependencies import LABEL_HEADER, label_header
from egide.api.knowledge.router import answer_out
from egide.core.principals import Principal
from egide.errors import InvalidInput
from egide.serving.deployments import RAG_MODEL_PREFIX
from egide.serving.gateway import Gateway

PREFIX = RAG_MODEL_PREFIX


def is_rag_model(model: str) -> bool:
    """Whether a chat request names the knowledge base rather than a model."""
    return model.startswith(PREFIX)


async def rag_completion(
    body: ChatCompletionRequest, request: Request, gateway: Gateway, principal: Principal
) -> JSONResponse | StreamingResponse:
    """Answer the last user message from the collection named in the model."""
    # `egide-rag:` with no name is a mistake, never "every collection": the service
    # refuses the empty name (400), as it refuses a collection the caller may not use.
    _refuse_what_rag_cannot_honour(body)
    collection = body.model.removeprefix(PREFIX)
    questions = [m.text() for m in body.messages if m.role == "user"]
    if not questions or not questions[-1].strip():
        raise InvalidInput("an egide-rag request needs a user message holding the question")
    question = questions[-1]
    working = gateway.requested_label(principal, label_header(request))
    knowledge = gateway.platform.knowledge
    answer = await run_in_threadpool(
        lambda: knowledge.ask(principal, question, working, collection=collection)
    )
    marking = gateway.policies.format(answer.label)
    out = answer_out(marking, answer)
    sources = "\n".join(
        f"[{c.number}] {c.document_title}{f', p. {c.page}' if c.page else ''} ({c.marking})"
        for c in answer.citations
    )
    content = f"{marking}\n\n{answer.text}" + (f"\n\nSources :\n{sources}" if sources else "")
    extra = {
        "label": marking,
        **out.model_dump(include={"mode", "citations", "unsupported_sentences"}),
    }
    headers = {LABEL_HEADER: gateway.policies.format(answer.label, "en")}
    ident = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if body.stream:
        return StreamingResponse(
            _stream(ident, created, body.model, content, extra),
            media_type="text/event-stream",
            headers={**headers, "Cache-Control": "no-cache"},
        )
    payload = {
        "id": ident,
        "object": "chat.completion",
        "created": created,
        "model": body.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "egide": extra,
    }
    return JSONResponse(payload, headers=headers)


async def _stream(
    ident: str, created: int, model: str, content: str, extra: dict[str, Any]
) -> AsyncIterator[bytes]:
    base = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model}
    for delta, finish in (({"role": "assistant", "content": content}, None), ({}, "stop")):
        chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if finish:
            chunk["egide"] = extra
        yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()
    yield b"data: [DONE]\n\n"


def _refuse_what_rag_cannot_honour(body: ChatCompletionRequest) -> None:
    """Options an extractive answer cannot honour are refused, never silently ignored."""
    unsupported = []
    if (body.n or 1) > 1:
        unsupported.append("n > 1 (an answer from documents is one answer)")
    if body.tools and body.tool_choice != "none":
        unsupported.append("tools")
    if body.response_format is not None and body.response_format.type != "text":
        unsupported.append(f"response_format {body.response_format.type}")
    if unsupported:
        raise InvalidInput(
            f"{body.model} answers from documents in text, with citations: "
            f"{', '.join(unsupported)} not supported; use a model without the egide-rag: "
            "prefix for tools and JSON answers (GET /v1/models lists them)"
        )
