"""`POST /v1/embeddings`: translate and delegate to `EmbeddingService`."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from egide.api.dependencies import GatewayDep, PrincipalDep, answer_headers, label_header
from egide.api.embeddings.protocol import EmbeddingRequest
from egide.api.embeddings.service import EmbeddingService

router = APIRouter()


@router.post("/v1/embeddings")
async def create_embeddings(
    body: EmbeddingRequest, request: Request, gateway: GatewayDep, principal: PrincipalDep
) -> JSONResponse:
    """Vectors of one or more texts."""
    started = time.perf_counter()
    admission = await gateway.admitted(principal, label_header(request), body.model, "embedding")
    answer = await EmbeddingService(gateway).embed(admission, body, started)
    return JSONResponse(answer.model_dump(mode="json"), headers=answer_headers(gateway, admission))
