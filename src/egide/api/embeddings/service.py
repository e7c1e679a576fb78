"""Embeddings on the wire: OpenAI request in, OpenAI response out.

The run, the quota charge and the journal entry are the application layer's
(`egide.serving.embeddings`); this module only translates.
"""

from __future__ import annotations

import base64
import uuid

from egide.api.chat.protocol import EgideInfo
from egide.api.dependencies import DEMO_NOTICE
from egide.api.embeddings.protocol import (
    Embedding,
    EmbeddingRequest,
    EmbeddingResponse,
    EmbeddingUsage,
)
from egide.serving.embeddings import EmbeddingRunner, float32
from egide.serving.gateway import Admission, Gateway


class EmbeddingService:
    """Translates embedding requests to and from the application layer's `EmbeddingRunner`."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self._runner = EmbeddingRunner(gateway)

    async def embed(
        self, admission: Admission, body: EmbeddingRequest, started: float
    ) -> EmbeddingResponse:
        """The vectors of every input, journaled before they are returned."""
        texts = [body.input] if isinstance(body.input, str) else list(body.input)
        vectors, prompt_tokens = await self._runner.embed(
            admission, texts, started, input_type=body.input_type, dimensions=body.dimensions
        )
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


def _encode(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(float32(vector)).decode("ascii")
    return vector
