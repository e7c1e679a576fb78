"""Running an admitted embedding request: the vectors, their tokens, quota charge and journal entry.

Faces (the API's `/v1/embeddings`, future workers) only translate: this is
where the input is bounded, the backend called, the tokens charged to the
caller's quotas and the request journaled — its failure included.
"""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Sequence
from typing import NamedTuple

from egide.core.digest import sha256_json, sha256_text
from egide.errors import EgideError, InvalidInput
from egide.inference import ChatMessage
from egide.serving.gateway import Admission, Gateway

ENDPOINT = "embeddings"
MAX_INPUTS = 2048


class Embedded(NamedTuple):
    """The vectors (one per input, in order), and the prompt tokens they cost."""

    vectors: list[list[float]]
    prompt_tokens: int


class EmbeddingRunner:
    """Runs admitted embedding requests on their deployment, for every face."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    async def embed(
        self,
        admission: Admission,
        texts: Sequence[str],
        started: float,
        *,
        input_type: str | None = None,
        dimensions: int | None = None,
    ) -> Embedded:
        """The vectors of every text (shortened to `dimensions`), journaled before returned.

        Raises:
            InvalidInput: more than `MAX_INPUTS` texts.
        """
        texts = list(texts)
        if len(texts) > MAX_INPUTS:
            raise InvalidInput(f"at most {MAX_INPUTS} inputs per request; split the batch")
        backend = admission.deployment.backend
        embed_as = getattr(backend, "embed_as", None)
        prompt_tokens = backend.count_tokens([ChatMessage("user", t) for t in texts])
        try:
            if embed_as is not None:
                vectors = await embed_as(texts, input_type)
            else:
                vectors = await backend.embed(texts)
        except EgideError as error:
            await self._finish(admission, started, texts, [], prompt_tokens, error)
            raise
        if dimensions is not None:
            vectors = [_truncate(v, dimensions) for v in vectors]
        await self._finish(admission, started, texts, vectors, prompt_tokens, None)
        return Embedded(vectors, prompt_tokens)

    async def _finish(
        self,
        admission: Admission,
        started: float,
        texts: list[str],
        vectors: list[list[float]],
        prompt_tokens: int,
        error: EgideError | None,
    ) -> None:
        gateway = self._gateway
        status = 200 if error is None else error.http_status
        latency = time.perf_counter() - started
        gateway.limiter.charge(admission.principal, prompt_tokens)
        gateway.metrics.count_tokens(admission.deployment.name, prompt_tokens, 0)
        gateway.metrics.observe(ENDPOINT, admission.deployment.name, status, latency)
        details = {
            "prompt_sha256": sha256_json(texts),
            "output_sha256": sha256_text("".join(float32(v).hex() for v in vectors)),
            "inputs": len(texts),
            "prompt_tokens": prompt_tokens,
            "completion_tokens": 0,
            "latency_ms": round(latency * 1000, 3),
            "status": status,
        }
        if error is not None:
            details["error"] = error.code
        await gateway.record(admission, "inference.embed", details)


def _truncate(vector: list[float], dimensions: int) -> list[float]:
    """Matryoshka-style shortening, renormalised (as the OpenAI API does)."""
    if dimensions >= len(vector):
        return vector
    head = vector[:dimensions]
    norm = math.sqrt(sum(x * x for x in head)) or 1.0
    return [x / norm for x in head]


def float32(vector: list[float]) -> bytes:
    """Little-endian float32 bytes, the layout OpenAI clients decode from base64."""
    return struct.pack(f"<{len(vector)}f", *vector)


__all__ = ["MAX_INPUTS", "Embedded", "EmbeddingRunner", "float32"]
