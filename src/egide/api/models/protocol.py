"""Wire models of `GET /v1/models`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class ModelCard(BaseModel):
    """One model the caller may use, with Égide's label facts."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "egide"
    type: Literal["base"] = "base"
    """The Mistral API's card kind (its SDK requires it, with `capabilities`)."""
    capabilities: dict[str, bool]
    max_context_length: int | None
    kind: Literal["chat", "embedding"]
    label: str
    accreditation: str
    model_digest: str
    demo_model: bool
    context_size: int | None
    collection: str | None = None
    """For `egide-rag:<collection>`: the knowledge collection the model answers from."""


class ModelList(BaseModel):
    """The models the caller may use at its working label."""

    object: Literal["list"] = "list"
    data: list[ModelCard]
