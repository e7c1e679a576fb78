"""`egide chat "prompt"`: ask a model from the terminal, streamed.

The command goes through the API app in-process (an ASGI client, no socket),
so it applies exactly the policy, quotas and journaling of `egide serve`; it
authenticates with an API key from `--api-key` or `EGIDE_API_KEY`.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Annotated

import typer

from egide.cli.context import authenticated, initialised_platform
from egide.errors import EgideError


def chat(
    prompt: Annotated[str, typer.Argument(help="What to ask.")],
    model: Annotated[str, typer.Option(help="Model name (see `egide models list`).")] = (
        "smollm2-135m-demo"
    ),
    label: Annotated[
        str | None, typer.Option(help="Working label (default: your default label).")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(help="API key (default: $EGIDE_API_KEY).", show_default=False)
    ] = None,
    max_tokens: Annotated[int, typer.Option(help="Most tokens to generate.")] = 256,
    system: Annotated[str | None, typer.Option(help="System prompt.")] = None,
) -> None:
    """Stream a model's answer to the terminal; its label is printed on standard error."""
    key = api_key or os.environ.get("EGIDE_API_KEY")
    if not key:
        authenticated(None, "chatting with a model")  # refuses, and journals the refusal
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}
    ]
    body = {"model": model, "messages": messages, "stream": True, "max_tokens": max_tokens}
    headers = {"Authorization": f"Bearer {key}"}
    if label:
        headers["X-Egide-Label"] = label
    asyncio.run(_stream(body, headers))


async def _stream(body: dict[str, object], headers: dict[str, str]) -> None:
    from egide.api import create_app
    from egide.api.chat.protocol import ChatCompletionRequest
    from egide.api.chat.service import ChatService
    from egide.serving.gateway import Gateway

    current = initialised_platform()
    # Load only the model asked for: a one-shot command need not load them all.
    settings = current.settings.model_copy(update={"models": [body["model"]], "embeddings": False})
    platform = type(current)(settings)
    app = create_app(platform)
    async with app.router.lifespan_context(app):
        gateway: Gateway = app.state.gateway
        principal = await gateway.principal(headers["Authorization"], "egide chat")
        request = ChatCompletionRequest.model_validate(body)
        admission = await gateway.admitted(
            principal, headers.get("X-Egide-Label"), request.model, "chat"
        )
        service = ChatService(gateway)
        prepared = service.prepare(admission, request)
        marking = gateway.policies.format(admission.output, "en")
        demo = " — DEMO MODEL, not for operational use" if admission.deployment.demo else ""
        typer.echo(f"[{marking}] {admission.deployment.name}{demo}", err=True)
        async for event in service.stream(admission, request, prepared, time.perf_counter()):
            _print_event(event)
    typer.echo("")
    platform.close()


def _print_event(event: bytes) -> None:
    text = event.decode("utf-8")
    if text.startswith("event: error"):
        payload = json.loads(text.split("data: ", 1)[1])
        raise EgideError(payload["error"]["message"])
    data = text.removeprefix("data: ").strip()
    if data == "[DONE]":
        return
    for choice in json.loads(data).get("choices", []):
        content = choice.get("delta", {}).get("content")
        if content:
            sys.stdout.write(content)
            sys.stdout.flush()
