"""`egide chat "prompt"`: ask a model from the terminal, streamed.

The command goes through the API app in-process (an ASGI client, no socket),
so it applies exactly the policy, quotas and journaling of `egide serve`; it
authenticates with an API key from `--api-key` or `EGIDE_API_KEY`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import TYPE_CHECKING, Annotated

import typer

from egide.cli.context import authenticated, initialised_platform

if TYPE_CHECKING:
    from fastapi import FastAPI


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

    current = initialised_platform()
    # Load only the model asked for: a one-shot command need not load them all.
    settings = current.settings.model_copy(update={"models": [body["model"]], "embeddings": False})
    platform = type(current)(settings)
    app = create_app(platform)
    try:
        await _run(app, body, headers)
    finally:
        platform.close()
    typer.echo("")


async def _run(app: FastAPI, body: dict[str, object], headers: dict[str, str]) -> None:
    from egide.api.chat.protocol import ChatCompletionRequest
    from egide.api.chat.service import to_chat_request
    from egide.serving.chat import ChatRunner
    from egide.serving.gateway import Gateway

    async with app.router.lifespan_context(app):
        gateway: Gateway = app.state.gateway
        principal = await gateway.principal(headers["Authorization"], "egide chat")
        wire = ChatCompletionRequest.model_validate(body)
        admission = await gateway.admitted(
            principal, headers.get("X-Egide-Label"), wire.model, "chat"
        )
        runner = ChatRunner(gateway)
        request = to_chat_request(wire, admission.priority)
        prepared = runner.prepare(admission, request, max_tokens_given=True)
        marking = gateway.policies.format(admission.output, "en")
        demo = " — DEMO MODEL, not for operational use" if admission.deployment.demo else ""
        typer.echo(f"[{marking}] {admission.deployment.name}{demo}", err=True)
        async for chunk in runner.stream(admission, prepared, time.perf_counter()):
            if chunk.text:
                sys.stdout.write(chunk.text)
                sys.stdout.flush()
