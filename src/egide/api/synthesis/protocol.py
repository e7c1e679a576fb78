"""Wire models of the intelligence synthesis route."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class SynthesisBody(BaseModel):
    """A tasking, its sources and the analyst's gradings."""

    tasking: str = Field(min_length=1, max_length=4000)
    collection: str | None = None
    document_ids: list[int] = Field(default_factory=list, max_length=100)
    gradings: dict[str, str] = Field(
        default_factory=dict,
        description="Admiralty code (e.g. B2) per document id, file name or title.",
    )
    k: int = Field(default=8, ge=1, le=20)
    model: str | None = Field(
        default=None, description="A chat model to draft the analysis; none assembles it."
    )
    mode: Literal["auto", "assembled", "generated"] = "auto"


class SynthesisOut(BaseModel):
    """The proposal created, its report (validated JSON) and its marked text."""

    object: Literal["intelligence.synthesis"] = "intelligence.synthesis"
    proposal_id: int
    state: str
    label: str
    mode: str
    fallback_reason: str | None
    unused_gradings: list[str]
    model: str | None
    model_digest: str | None
    report: dict[str, Any]
    text: str
