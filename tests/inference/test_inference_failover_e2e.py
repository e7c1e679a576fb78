"""End-to-end failover: real llama.cpp servers, a burst of requests, one server killed mid-burst."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import aclosing
from typing import Any

import pytest

from egide.errors import EgideError, Unavailable
from egide.inference import ChatMessage, ChatRequest, ChatResult, create_backend
from egide.inference.remote import RemoteBackend

PROMPTS = [
    "Name three colours.",
    "Say hello to the team.",
    "What is the capital of France?",
    "Describe a river in one sentence.",
]


def _pool(servers: list[Any]) -> RemoteBackend:
    backend = create_backend(
        {
            "runtime": "openai",
            "model": "smollm2",
            "replicas": [s.url for s in servers],
            "connect_timeout": 2,
            "read_timeout": 60,
            "health_interval": 1,
            "schema_style": "llama-cpp-python",
        }
    )
    assert isinstance(backend, RemoteBackend)
    return backend


def _request(i: int) -> ChatRequest:
    return ChatRequest(
        [ChatMessage("user", PROMPTS[i % len(PROMPTS)])], max_tokens=48, temperature=0.0
    )


@pytest.mark.slow
def test_chat_and_stream_through_a_real_pool(
    llama_servers: Callable[[int], list[Any]],
) -> None:
    servers = llama_servers(2)

    async def main() -> None:
        backend = _pool(servers)
        try:
            result = await asyncio.wait_for(backend.chat(_request(0)), 60)
            assert result.text and result.prompt_tokens > 0
            async with aclosing(backend.stream(_request(0))) as chunks:
                text = "".join([c.text async for c in chunks])
            assert text == result.text
            await backend.check_health()
            assert all(r["healthy"] for r in backend.describe().details["replicas"])
        finally:
            await backend.close()

    asyncio.run(main())


@pytest.mark.slow
def test_killing_a_replica_mid_burst_fails_over_or_fails_cleanly(
    llama_servers: Callable[[int], list[Any]],
) -> None:
    victim, survivor = llama_servers(2)
    outcomes: dict[int, ChatResult | str | EgideError] = {}

    async def chat(i: int) -> None:
        try:
            outcomes[i] = await backend.chat(_request(i))
        except EgideError as exc:
            outcomes[i] = exc

    async def stream(i: int) -> None:
        parts: list[str] = []
        try:
            async with aclosing(backend.stream(_request(i))) as chunks:
                async for chunk in chunks:
                    parts.append(chunk.text)
            outcomes[i] = "".join(parts)
        except EgideError as exc:
            outcomes[i] = exc

    async def kill_when_busy() -> None:
        # Wait until the victim is actually generating, then kill it like a crashed node.
        replica = next(r for r in backend.replicas.replicas if r.url == victim.url)
        while replica.in_flight == 0:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)
        victim.kill()

    async def main() -> None:
        jobs = [chat(i) if i % 2 == 0 else stream(i) for i in range(8)]
        try:
            # Every request must end, one way or the other, well within this bound.
            await asyncio.wait_for(asyncio.gather(kill_when_busy(), *jobs), timeout=240)
        finally:
            await backend.close()

    backend = _pool([victim, survivor])
    asyncio.run(main())

    assert len(outcomes) == 8
    for i, outcome in outcomes.items():
        if i % 2 == 0:
            # Non-streamed requests had sent nothing yet: they always fail over.
            assert isinstance(outcome, ChatResult), outcome
            assert outcome.text
        else:
            # A stream either completes (on either replica) or ends with Unavailable
            # after its partial answer.
            assert isinstance(outcome, str | Unavailable), outcome
    victim_state = next(r for r in backend.describe().details["replicas"] if r["url"] == victim.url)
    assert victim_state["healthy"] is False
    assert victim.process.returncode is not None


@pytest.mark.slow
def test_all_replicas_dead_is_unavailable_quickly(
    llama_servers: Callable[[int], list[Any]],
) -> None:
    servers = llama_servers(1)
    servers[0].kill()

    async def main() -> None:
        backend = _pool(servers)
        try:
            with pytest.raises(Unavailable, match="no replica can serve"):
                await asyncio.wait_for(backend.chat(_request(0)), 10)
        finally:
            await backend.close()

    asyncio.run(main())
