"""`GET /v1/models`: the models the caller may use (enabled, accredited, readable output),
and one `egide-rag:<collection>` per knowledge collection it may ask."""

from __future__ import annotations

from fastapi import APIRouter, Request

from egide.api.dependencies import GatewayDep, PrincipalDep, label_header
from egide.api.models.protocol import ModelCard, ModelList
from egide.serving.deployments import RAG_MODEL_PREFIX, Deployment
from egide.serving.gateway import Catalogue, Gateway

router = APIRouter()


@router.get("/v1/models")
async def list_models(request: Request, gateway: GatewayDep, principal: PrincipalDep) -> ModelList:
    """Models usable at the caller's working label (`X-Egide-Label` or its default)."""
    catalogue = await gateway.listing(principal, label_header(request))
    return ModelList(data=_cards(request, gateway, catalogue))


@router.get("/v1/models/{model_id}")
async def retrieve_model(
    model_id: str, request: Request, gateway: GatewayDep, principal: PrincipalDep
) -> ModelCard:
    """One model, if the caller may use it (otherwise 404, so nothing leaks)."""
    catalogue = await gateway.listing(principal, label_header(request), name=model_id)
    return _cards(request, gateway, catalogue)[0]


def _cards(request: Request, gateway: Gateway, catalogue: Catalogue) -> list[ModelCard]:
    cards = [_card(request, gateway, d) for d in catalogue.deployments]
    working = gateway.marking(catalogue.working)
    cards += [
        ModelCard(
            id=RAG_MODEL_PREFIX + name,
            created=request.app.state.started,
            owned_by="egide-knowledge",
            kind="chat",
            # Answers are labelled at least at the working label (the join of their passages).
            label=working,
            accreditation=working,
            model_digest="",
            demo_model=False,
            context_size=None,
            capabilities={"completion_chat": True, "embeddings": False},
            max_context_length=None,
            collection=name,
        )
        for name in catalogue.collections
    ]
    return cards


def _card(request: Request, gateway: Gateway, d: Deployment) -> ModelCard:
    return ModelCard(
        id=d.name,
        created=request.app.state.started,
        kind=d.kind,
        label=gateway.marking(d.label),
        accreditation=gateway.marking(d.accreditation),
        model_digest=d.digest,
        demo_model=d.demo,
        context_size=d.backend.describe().context_size,
        capabilities={"completion_chat": d.kind == "chat", "embeddings": d.kind == "embedding"},
        max_context_length=d.backend.describe().context_size,
    )
