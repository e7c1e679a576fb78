"""`POST /v1/knowledge/search` and `POST /v1/knowledge/ask`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from egide.api.dependencies import LABEL_HEADER, GatewayDep, PrincipalDep, label_header
from egide.api.knowledge.protocol import (
    AskRequest,
    AskResponse,
    CitationOut,
    SearchHit,
    SearchRequest,
    SearchResponse,
)
from egide.knowledge.answer import Answer

router = APIRouter()


@router.post("/v1/knowledge/search")
async def search(
    body: SearchRequest,
    request: Request,
    response: Response,
    gateway: GatewayDep,
    principal: PrincipalDep,
) -> SearchResponse:
    """The best chunks the caller may read (the label filter runs inside the SQL)."""
    working = gateway.requested_label(principal, label_header(request))
    knowledge = gateway.platform.knowledge
    hits, label = await run_in_threadpool(
        lambda: knowledge.search_labelled(
            principal,
            body.query,
            working_label=working,
            collection=body.collection,
            k=body.k,
            mode=body.mode,
        )
    )
    response.headers[LABEL_HEADER] = gateway.policies.format(label, "en")
    return SearchResponse(
        data=[
            SearchHit(
                chunk_id=h.chunk_id,
                document_id=h.document_id,
                document_title=h.document_title,
                page=h.page,
                section=h.section,
                start=h.start,
                end=h.end,
                label=h.label,
                text=h.text,
                score=round(h.score, 6),
            )
            for h in hits
        ]
    )


@router.post("/v1/knowledge/ask")
async def ask(
    body: AskRequest,
    request: Request,
    response: Response,
    gateway: GatewayDep,
    principal: PrincipalDep,
) -> AskResponse:
    """An extractive grounded answer with numbered, checked citations and its label."""
    working = gateway.requested_label(principal, label_header(request))
    knowledge = gateway.platform.knowledge
    answer = await run_in_threadpool(
        lambda: knowledge.ask(
            principal, body.question, working, collection=body.collection, k=body.k
        )
    )
    response.headers[LABEL_HEADER] = gateway.policies.format(answer.label, "en")
    return answer_out(gateway.policies.format(answer.label), answer)


def answer_out(marking: str, answer: Answer) -> AskResponse:
    """The wire form of an answer."""
    return AskResponse(
        answer=answer.text,
        label=marking,
        mode=answer.mode,
        citations=[CitationOut(**vars(c)) for c in answer.citations],
        unsupported_sentences=list(answer.unsupported_sentences),
        invalid_citations=list(answer.invalid_citations),
    )
