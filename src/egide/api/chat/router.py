"""`POST /v1/chat/completions`: translate and delegate to `ChatService`."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from egide.api.chat.compat import CompatChat, needs_compat
from egide.api.chat.marking import marking_line
from egide.api.chat.protocol import ChatCompletionRequest
from egide.api.chat.service import ChatService
from egide.api.dependencies import GatewayDep, PrincipalDep, answer_headers, label_header
from egide.api.knowledge.rag_chat import is_rag_model, rag_completion
from egide.serving.chat import server_timing
from egide.serving.gateway import Admission, Gateway

router = APIRouter()


@router.post("/v1/chat/completions", response_model=None)
async def create_chat_completion(
    body: ChatCompletionRequest, request: Request, gateway: GatewayDep, principal: PrincipalDep
) -> Response:
    """A chat completion, whole or streamed as server-sent events."""
    if is_rag_model(body.model):
        return await rag_completion(body, request, gateway, principal)
    started = time.perf_counter()
    admission = await gateway.admitted(principal, label_header(request), body.model, "chat")
    if needs_compat(body):
        return await _compat_completion(gateway, admission, body, started)
    service = ChatService(gateway)
    prepared = service.prepare(admission, body)
    headers = answer_headers(gateway, admission)
    if body.stream:
        headers["Cache-Control"] = "no-cache"
        return StreamingResponse(
            service.stream(admission, body, prepared, started),
            media_type="text/event-stream",
            headers=headers,
        )
    answer, engine_seconds = await service.complete(admission, prepared, started)
    # For clients that show only the text (docs/api.md, "The marking in the answer").
    answer.choices[0].message.content = marking_line(gateway, admission, body) + (
        answer.choices[0].message.content or ""
    )
    # What the answer spent in the engine, and in Égide around it (policy, journal).
    headers["Server-Timing"] = server_timing(engine_seconds, time.perf_counter() - started)
    # pydantic's own serialiser: a fraction of the CPU of model_dump + json.dumps.
    return Response(answer.model_dump_json(), media_type="application/json", headers=headers)


async def _compat_completion(
    gateway: Gateway, admission: Admission, body: ChatCompletionRequest, started: float
) -> Response:
    """`n` answers, tools or a JSON format (egide.api.chat.compat)."""
    service = CompatChat(gateway)
    prepared = service.prepare(admission, body)
    headers = answer_headers(gateway, admission)
    if body.stream:
        headers["Cache-Control"] = "no-cache"
        return StreamingResponse(
            service.stream(admission, body, prepared, started),
            media_type="text/event-stream",
            headers=headers,
        )
    answer, engine_seconds = await service.complete(admission, body, prepared, started)
    headers["Server-Timing"] = server_timing(engine_seconds, time.perf_counter() - started)
    return Response(answer.model_dump_json(), media_type="application/json", headers=headers)
