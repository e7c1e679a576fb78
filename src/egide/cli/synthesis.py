"""`egide synthesize "tasking"`: an assessed report from your sources, proposed for approval.

The command acts as the person whose API key is given: the sources are the
passages they may read, and the report becomes their proposal. Without
`--model` it assembles the report by rule from the extracted evidence; with
`--model NAME` it loads that one model in-process, through the same gateway
policy as `egide serve` (kill switch, accreditation), and lets it draft the
analysis, falling back to assembly when its output fails validation.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from egide.cli.context import ApiKey, authenticated, initialised_platform
from egide.core.principals import Principal
from egide.errors import InvalidInput
from egide.workflows.synthesis import Synthesis, SynthesisRequest, SynthesisService


def synthesize(
    tasking: Annotated[str, typer.Argument(help="The question or tasking the report answers.")],
    collection: Annotated[
        str | None, typer.Option("--collection", "-c", help="Search this collection.")
    ] = None,
    document: Annotated[
        list[int] | None,
        typer.Option("--document", "-d", help="Use this document id as a source (repeat)."),
    ] = None,
    grade: Annotated[
        list[str] | None,
        typer.Option(
            "--grade",
            "-g",
            help="Admiralty grading DOC=B2 (DOC: document id, file name or title; repeat).",
        ),
    ] = None,
    label: Annotated[str | None, typer.Option(help="Working label of the tasking.")] = None,
    k: Annotated[int, typer.Option(help="Passages placed in the context (1-20).")] = 8,
    model: Annotated[
        str | None,
        typer.Option(
            help="A capable chat model to draft the analysis (default: assemble by rule)."
        ),
    ] = None,
    api_key: ApiKey = None,
) -> None:
    """Write an intelligence synthesis report (ICD 203 terms, Admiralty gradings) as a proposal."""
    platform = initialised_platform()
    me = authenticated(api_key, "synthesizing a report")
    policies = platform.policies
    working = policies.parse(label) if label else (me.default_label or platform.home_label)
    gradings = dict(_grading(g) for g in grade or [])
    service = platform.synthesis
    request = SynthesisRequest(
        tasking=tasking,
        working_label=working,
        collection=collection,
        document_ids=tuple(document or ()),
        gradings=gradings,
        k=k,
        mode="auto" if model else "assembled",
    )
    done = asyncio.run(_run(service, me, request, model))
    console = Console()
    console.print(done.text, markup=False, highlight=False)
    if done.fallback_reason and model:
        console.print(f"assembled by rule: {done.fallback_reason}", markup=False, highlight=False)
    if done.unused_gradings:
        console.print(
            f"gradings that matched no source you were shown: {', '.join(done.unused_gradings)}",
            markup=False,
            highlight=False,
            style="yellow",
        )
    console.print(
        f"\nproposal #{done.proposal.id} [{done.proposal.marking}] awaits a decision "
        f"(egide proposals show {done.proposal.id})",
        markup=False,
        highlight=False,
    )


async def _run(
    service: SynthesisService, me: Principal, request: SynthesisRequest, model: str | None
) -> Synthesis:
    if model is None:
        return await service.synthesize(me, request)
    from egide.api import create_app
    from egide.serving.chat import workflow_engine
    from egide.serving.gateway import Gateway

    current = initialised_platform()
    # Load only the model asked for: a one-shot command need not load them all.
    settings = current.settings.model_copy(update={"models": [model], "embeddings": False})
    loading = type(current)(settings)
    app = create_app(loading)
    try:
        async with app.router.lifespan_context(app):
            gateway: Gateway = app.state.gateway
            engine = await workflow_engine(
                gateway, me, request.working_label, model, "synthesis.report"
            )
            return await service.synthesize(me, request, engine=engine)
    finally:
        loading.close()


def _grading(text: str) -> tuple[str, str]:
    key, sep, code = text.rpartition("=")
    if not sep or not key.strip():
        raise InvalidInput(
            f"--grade {text!r}: write DOC=CODE, e.g. --grade 12=B2 or --grade note.txt=C3"
        )
    return key.strip(), code.strip()
