"""The model path with a real llama.cpp runtime: the report schema compiles to a grammar,
the real model's JSON goes through the validator, and the report is valid whatever it wrote.

SmolLM2-135M is wrapped as if it were a capable model (the platform itself never sends
analysis to a demo model); its output rarely meets the standards, so the fallback runs
for real and records why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from egide.app import Platform
from egide.core.principals import Role
from egide.inference.config import LlamaCppConfig
from egide.inference.llamacpp import LlamaCppBackend, default_model_path
from egide.settings import Settings
from egide.workflows.synthesis import (
    ModelEngine,
    SynthesisRequest,
    SynthesisService,
    ensure_valid,
)

NOTE = (
    "DIFFUSION RESTREINTE\n\nUn bataillon blindé adverse se regroupe dans la forêt de Dravna, "
    "au nord de Klevo.\n\nL'imagerie montre des engins de génie près du pont de Klevo."
)


@pytest.fixture(scope="module")
def backend() -> Iterator[LlamaCppBackend]:
    llama = LlamaCppBackend(
        LlamaCppConfig(path=str(default_model_path()), n_ctx=2048, n_threads=1, max_queue=2)
    )
    yield llama
    asyncio.run(llama.close())


@pytest.mark.slow
def test_a_real_model_writes_under_the_schema_or_is_replaced(
    data_dir: Path, backend: LlamaCppBackend
) -> None:
    platform = Platform(Settings(data_dir=data_dir))
    platform.initialise()
    try:
        policies = platform.policies
        platform.identity.add_user(
            "t", "a", clearance=policies.parse_clearance("SECRET"), roles=[Role.ADMIN, Role.ANALYST]
        )
        analyst = platform.identity.principal("a")
        platform.knowledge.create_collection(analyst, "osna")
        platform.knowledge.ingest(analyst, "osna", "note.txt", NOTE.encode())
        engine = ModelEngine(
            backend=backend,
            name="smollm2-as-analyst",
            digest="ef" * 32,
            label=policies.parse("NON PROTÉGÉ"),
            accreditation=policies.parse("DIFFUSION RESTREINTE"),
        )
        service = SynthesisService(
            platform.database, platform.journal, policies, platform.knowledge, platform.proposals
        )
        request = SynthesisRequest(
            "Où se regroupe le bataillon blindé adverse ?",
            policies.parse("DIFFUSION RESTREINTE"),
            collection="osna",
            gradings={"note.txt": "B2"},
            k=2,
        )
        done = asyncio.run(service.synthesize(analyst, request, engine=engine))
    finally:
        platform.close()
    ensure_valid(done.report)
    assert done.proposal.model == "smollm2-as-analyst"
    if done.mode == "assembled":
        reason = done.fallback_reason or ""
        # The schema compiled and the model answered: only its content can have failed.
        assert "refused the request" not in reason and "failed while" not in reason, reason
        assert reason.startswith("the model's output"), reason
    else:
        assert done.report["ai_involvement"]["model_digest"] == "ef" * 32
