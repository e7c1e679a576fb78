"""What every route needs: the app's gateway, the caller, the label headers of an answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from egide.core.principals import Principal
from egide.serving.gateway import Admission, Gateway

LABEL_HEADER = "X-Egide-Label"
DEMO_HEADER = "X-Egide-Demo-Model"
DIGEST_HEADER = "X-Egide-Model-Digest"
DEMO_NOTICE = (
    "answer from the SmolLM2-135M demonstration model: it only shows that the platform "
    "works and is not fit for any operational use"
)


def get_gateway(request: Request) -> Gateway:
    """The gateway of the app serving this request."""
    gateway: Gateway = request.app.state.gateway
    return gateway


async def get_principal(request: Request) -> Principal:
    """The authenticated caller (a refused credential is journaled by the gateway).

    When a trusted front end is configured and its user header is present, the
    caller is the user it names, from a trusted address only (`egide.api.proxy`).
    """
    gateway = get_gateway(request)
    client = request.client.host if request.client is not None else None
    proxied = None
    header = request.app.state.proxy_header
    if header is not None:
        value = request.headers.get(header)
        if value is not None:
            proxied = (value, client)
    return await gateway.principal(
        request.headers.get("authorization"), request.scope["path"], client, proxied=proxied
    )


def label_header(request: Request) -> str | None:
    """The `X-Egide-Label` request header, read as UTF-8 whatever the client's encoding."""
    value = request.headers.get(LABEL_HEADER)
    if value is None:
        return None
    # ASGI servers decode header bytes as Latin-1; a UTF-8 client's "PROTÉGÉ"
    # arrives mangled, so re-read the bytes as UTF-8 when they are valid UTF-8.
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def answer_headers(gateway: Gateway, admission: Admission) -> dict[str, str]:
    """Headers of an answer: its label (English marking, ASCII-safe), digest, demo flag."""
    deployment = admission.deployment
    return {
        LABEL_HEADER: gateway.policies.format(admission.output, "en"),
        DIGEST_HEADER: deployment.digest or "unknown",
        DEMO_HEADER: "true" if deployment.demo else "false",
    }


async def _gateway_dependency(request: Request) -> Gateway:
    # `async` on purpose: FastAPI runs a plain `def` dependency on a worker thread,
    # a hop that costs more than the lookup itself.
    return get_gateway(request)


GatewayDep = Annotated[Gateway, Depends(_gateway_dependency)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
