"""`GET /v1/models`: the models the caller may use (enabled, accredited, readable output)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from egide.api.dependencies import GatewayDep, PrincipalDep, label_header
from egide.api.models.protocol import ModelCard, ModelList

router = APIRouter()


@router.get("/v1/models")
async def list_models(request: Request, gateway: GatewayDep, principal: PrincipalDep) -> ModelList:
    """Models usable at the caller's working label (`X-Egide-Label` or its default)."""
    usable = await gateway.listing(principal, label_header(request))
    created = request.app.state.started
    cards = [
        ModelCard(
            id=d.name,
            created=created,
            kind=d.kind,
            label=gateway.marking(d.label),
            accreditation=gateway.marking(d.accreditation),
            model_digest=d.digest,
            demo_model=d.demo,
            context_size=d.backend.describe().context_size,
            capabilities={"completion_chat": d.kind == "chat", "embeddings": d.kind == "embedding"},
            max_context_length=d.backend.describe().context_size,
        )
        for d in usable
    ]
    return ModelList(data=cards)


@router.get("/v1/models/{model_id}")
async def retrieve_model(
    model_id: str, request: Request, gateway: GatewayDep, principal: PrincipalDep
) -> ModelCard:
    """One model, if the caller may use it (otherwise 404, so nothing leaks)."""
    listing = await list_models(request, gateway, principal)
    for card in listing.data:
        if card.id == model_id:
            return card
    return _not_found(model_id)


def _not_found(model_id: str) -> ModelCard:
    from egide.errors import NotFound

    raise NotFound(f"the model {model_id!r} does not exist or you do not have access to it")
