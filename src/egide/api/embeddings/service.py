"""Embeddings: texts → vectors on the admitted deployment, journaled like chat."""

from __future__ import annotations

import base64
import math
import struct
import time
import uuid

from egide.api.chat.protocol import EgideInfo
from egide.api.dependencies import DEMO_NOTICE
from egide.api.embeddings.protocol import (
    Embedding,
    EmbeddingRequest,
    EmbeddingResponse,
    EmbeddingUsage,
)
from egide.errors import EgideError, InvalidInput
from egide.inference import ChatMessage
from egide.serving.gateway import Admission, Gateway, sha256_json, sha256_text

ENDPOINT = "embeddings"
MAX_INPUTS = 2048


class EmbeddingService:
    """Runs admitted embedding requests."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    async def embed(
        self, admission: Admission, body: EmbeddingRequest, started: float
    ) -> EmbeddingResponse:
        """The vectors of every input, journaled before they are returned."""
        texts = [body.input] if isinstance(body.input, str) else list(body.input)
        if len(texts) > MAX_INPUTS:
            raise InvalidInput(f"at most {MAX_INPUTS} inputs per request; split the batch")
        backend = admission.deployment.backend
        embed_as = getattr(backend, "embed_as", None)
        prompt_tokens = backend.count_tokens([ChatMessage("user", t) for t in texts])
        status, error_code = 200, None
        try:
            if embed_as is not None:
                vectors = await embed_as(texts, body.input_type)
            else:
                vectors = await backend.embed(texts)
        except EgideError as error:
            status, error_code = error.http_status, error.code
            await self._finish(admission, started, texts, [], prompt_tokens, status, error_code)
            raise
        if body.dimensions is not None:
            vectors = [_truncate(v, body.dimensions) for v in vectors]
        await self._finish(admission, started, texts, vectors, prompt_tokens, status, error_code)
        data = [
            Embedding(embedding=_encode(v, body.encoding_format), index=i)
            for i, v in enumerate(vectors)
        ]
        gateway = self._gateway
        deployment = admission.deployment
        return EmbeddingResponse(
            id=f"embd-{uuid.uuid4().hex}",
            data=data,
            model=deployment.name,
            usage=EmbeddingUsage(prompt_tokens=prompt_tokens, total_tokens=prompt_tokens),
            egide=EgideInfo(
                label=admission.output_marking,
                label_en=gateway.policies.format(admission.output, "en"),
                working_label=gateway.marking(admission.working),
                model_digest=deployment.digest,
                demo_model=deployment.demo,
                notice=DEMO_NOTICE if deployment.demo else None,
            ),
        )

    async def _finish(
        self,
        admission: Admission,
        started: float,
        texts: list[str],
        vectors: list[list[float]],
        prompt_tokens: int,
        status: int,
        error_code: str | None,
    ) -> None:
        gateway = self._gateway
        latency = time.perf_counter() - started
        gateway.limiter.charge(admission.principal, prompt_tokens)
        gateway.metrics.count_tokens(admission.deployment.name, prompt_tokens, 0)
        gateway.metrics.observe(ENDPOINT, admission.deployment.name, status, latency)
        details = {
            "prompt_sha256": sha256_json(texts),
            "output_sha256": sha256_text("".join(_float32(v).hex() for v in vectors)),
            "inputs": len(texts),
            "prompt_tokens": prompt_tokens,
            "completion_tokens": 0,
            "latency_ms": round(latency * 1000, 3),
            "status": status,
        }
        if error_code:
            details["error"] = error_code
        await gateway.record(admission, "inference.embed", details)


def _truncate(vector: list[float], dimensions: int) -> list[float]:
    """Matryoshka-style shortening, renormalised (as the OpenAI API does)."""
    if dimensions >= len(vector):
        return vector
    head = vector[:dimensions]
    norm = math.sqrt(sum(x * x for x in head)) or 1.0
    return [x / norm for x in head]


def _encode(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(_float32(vector)).decode("ascii")
    return vector


def _float32(vector: list[float]) -> bytes:
    """Little-endian float32 bytes, the layout OpenAI clients decode from base64."""
    return struct.pack(f"<{len(vector)}f", *vector)
