"""Wire models of the knowledge routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from egide.knowledge.service import MAX_QUERY_CHARS


class SearchRequest(BaseModel):
    """Retrieval without generation."""

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    collection: str | None = None
    k: int = Field(default=10, ge=1, le=100)
    mode: Literal["hybrid", "fulltext", "dense"] = "hybrid"


class SearchHit(BaseModel):
    chunk_id: int
    document_id: int | None
    document_title: str
    page: int | None
    section: str
    start: int
    end: int
    label: str
    text: str
    score: float


class SearchResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[SearchHit]


class AskRequest(BaseModel):
    """A question answered from the documents the caller may read."""

    question: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    collection: str | None = None
    k: int = Field(default=5, ge=1, le=20)


class CitationOut(BaseModel):
    number: int
    chunk_id: int
    document_title: str
    page: int | None
    marking: str
    quote: str
    document_id: int | None = None


class AskResponse(BaseModel):
    """The answer, its banner label and its checked citations."""

    object: Literal["knowledge.answer"] = "knowledge.answer"
    answer: str
    label: str
    mode: str
    citations: list[CitationOut]
    unsupported_sentences: list[str]
    invalid_citations: list[int]
