"""Routing, health and failover of the remote backend against scripted engines (MockTransport).

The end-to-end version with real llama.cpp servers killed mid-burst is in
test_inference_failover_e2e.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import aclosing
from typing import Any

import httpx
import pytest

from egide.errors import ConfigurationError, ContextOverflow, Unavailable
from egide.inference import ChatMessage, ChatRequest, JsonSchemaFormat, StreamChunk
from egide.inference.config import RemoteConfig
from egide.inference.remote import RemoteBackend

A, B = "http://a:8000", "http://b:8000"
Handler = Callable[[httpx.Request], Coroutine[Any, Any, httpx.Response]]
REQUEST = ChatRequest([ChatMessage("user", "hi")], max_tokens=8)


def _completion(text: str) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "choices": [
                {"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2},
        },
    )


def _sse(*texts: str, finish: bool = True) -> list[bytes]:
    events: list[dict[str, Any]] = [
        {"choices": [{"delta": {"content": t}, "finish_reason": None}]} for t in texts
    ]
    if finish:
        events.append({"choices": [{"delta": {}, "finish_reason": "stop"}]})
    lines = [f"data: {json.dumps(e)}\n\n".encode() for e in events]
    if finish:
        lines.append(b"data: [DONE]\n\n")
    return lines


class _Stream(httpx.AsyncByteStream):
    """SSE bytes, optionally followed by the connection dropping."""

    def __init__(self, parts: list[bytes], die: bool = False) -> None:
        self.parts, self.die = parts, die

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part
        if self.die:
            raise httpx.ReadError("peer closed connection")


def _backend(handler: Handler, **kwargs: object) -> RemoteBackend:
    config = RemoteConfig(model="m", replicas=(A, B), health_interval=3600, **kwargs)  # type: ignore[arg-type]
    return RemoteBackend(config, transport=httpx.MockTransport(handler))


def _host(request: httpx.Request) -> str:
    return f"http://{request.url.host}:{request.url.port}"


def test_routes_to_least_loaded_then_alternates() -> None:
    seen: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(_host(request))
        return _completion("ok")

    async def main() -> None:
        backend = _backend(handler)
        backend.replicas.replicas[0].in_flight = 3  # A is busy
        await backend.chat(REQUEST)
        assert seen == [B]
        backend.replicas.replicas[0].in_flight = 0
        for _ in range(4):
            await backend.chat(REQUEST)
        assert sorted(seen[1:]) == [A, A, B, B]  # ties spread over both
        await backend.close()

    asyncio.run(main())


def test_chat_fails_over_when_a_replica_refuses_connections() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if _host(request) == A:
            raise httpx.ConnectError("connection refused")
        return _completion("from b")

    async def main() -> None:
        backend = _backend(handler)
        for _ in range(3):
            result = await backend.chat(REQUEST)
            assert result.text == "from b"
            assert result.usage.total_tokens == 7
        a = backend.replicas.replicas[0]
        assert not a.healthy
        assert "ConnectError" in (a.last_error or "")
        assert backend.describe().healthy
        await backend.close()

    asyncio.run(main())


def test_all_replicas_down_is_unavailable_with_each_reason() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    async def main() -> None:
        backend = _backend(handler)
        with pytest.raises(Unavailable, match=r"no replica can serve.*a:8000.*b:8000") as err:
            await backend.chat(REQUEST)
        assert err.value.http_status == 503
        with pytest.raises(Unavailable):
            async with aclosing(backend.stream(REQUEST)) as chunks:
                async for _ in chunks:
                    pass
        assert not backend.describe().healthy
        await backend.close()

    asyncio.run(main())


def test_server_errors_move_to_another_replica_without_marking_it_down() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if _host(request) == A:
            return httpx.Response(500, json={"error": {"message": "CUDA out of memory"}})
        return _completion("fine")

    async def main() -> None:
        backend = _backend(handler)
        backend.replicas.replicas[1].in_flight = 1  # make A the first choice
        assert (await backend.chat(REQUEST)).text == "fine"
        assert backend.replicas.replicas[0].healthy
        assert "CUDA out of memory" in (backend.replicas.replicas[0].last_error or "")
        await backend.close()

    asyncio.run(main())


def test_stream_fails_over_before_the_first_chunk() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if _host(request) == A:
            # Dies before sending anything useful.
            return httpx.Response(200, stream=_Stream([b": ping\n\n"], die=True))
        return httpx.Response(200, stream=_Stream(_sse("Hel", "lo")))

    async def main() -> None:
        backend = _backend(handler)
        backend.replicas.replicas[1].in_flight = 1
        chunks = [c async for c in backend.stream(REQUEST)]
        assert chunks == [StreamChunk("Hel"), StreamChunk("lo"), StreamChunk("", "stop")]
        assert not backend.replicas.replicas[0].healthy
        await backend.close()

    asyncio.run(main())


def test_stream_broken_after_chunks_ends_with_an_error_after_the_partial_answer() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_Stream(_sse("par", "tial", finish=False), die=True))

    async def main() -> None:
        backend = _backend(handler)
        received: list[str] = []
        with pytest.raises(Unavailable, match=r"failed in the middle of the answer.*incomplete"):
            async for chunk in backend.stream(REQUEST):
                received.append(chunk.text)
        assert received == ["par", "tial"]  # the partial answer went out, then the error
        assert backend.replicas.in_flight == 0
        await backend.close()

    asyncio.run(main())


def test_stream_without_finish_reason_before_any_text_is_retried() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if _host(request) == A:
            return httpx.Response(200, stream=_Stream([b"data: [DONE]\n\n"]))
        return httpx.Response(200, stream=_Stream(_sse("ok")))

    async def main() -> None:
        backend = _backend(handler)
        backend.replicas.replicas[1].in_flight = 1
        assert "".join([c.text async for c in backend.stream(REQUEST)]) == "ok"
        await backend.close()

    asyncio.run(main())


def test_engine_errors_map_to_egide_errors() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["max_tokens"] == 1:
            return httpx.Response(401, json={"detail": "bad key"})
        message = (
            "This model's maximum context length is 1024 tokens. However, you requested "
            "1500 tokens (1400 in the messages, 100 in the completion)."
        )
        return httpx.Response(400, json={"error": {"message": message}})

    async def main() -> None:
        backend = _backend(handler)
        with pytest.raises(ContextOverflow, match=r"1024 tokens.*1400 in the messages"):
            await backend.chat(REQUEST)
        with pytest.raises(ConfigurationError, match="api_key"):
            await backend.chat(ChatRequest([ChatMessage("user", "x")], max_tokens=1))
        await backend.close()

    asyncio.run(main())


def test_health_probe_brings_a_replica_back() -> None:
    alive = {A: False, B: True}

    async def handler(request: httpx.Request) -> httpx.Response:
        if not alive[_host(request)]:
            raise httpx.ConnectError("refused")
        if request.url.path == "/health":
            return httpx.Response(404)  # llama.cpp's Python server: fall back to /v1/models
        if request.url.path == "/v1/models":
            return httpx.Response(200, json={"data": []})
        return _completion(_host(request))

    async def main() -> None:
        backend = _backend(handler)
        await backend.check_health()
        a, b = backend.replicas.replicas
        assert (a.healthy, b.healthy) == (False, True)
        alive[A] = True
        await backend.check_health()
        assert a.healthy
        # When every replica is marked down, a request re-probes before giving up.
        a.mark_down("x")
        b.mark_down("x")
        a.checked_at = b.checked_at = float("-inf")
        assert (await backend.chat(REQUEST)).text in (A, B)
        await backend.close()

    asyncio.run(main())


def test_a_slow_probe_does_not_mark_a_replica_down_but_a_refused_one_does() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if _host(request) == A:
            raise httpx.ReadTimeout("connected, but no answer in time: busy")
        raise httpx.ConnectError("refused")

    async def main() -> None:
        backend = _backend(handler)
        await backend.check_health()
        a, b = backend.replicas.replicas
        assert (a.healthy, b.healthy) == (True, False)
        await backend.close()

    asyncio.run(main())


def test_request_body_follows_openai_and_schema_style() -> None:
    bodies: list[dict[str, object]] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return _completion("{}")

    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    request = ChatRequest(
        [ChatMessage("user", "x")], stop=["END"], seed=7, response_format=JsonSchemaFormat(schema)
    )

    async def main() -> None:
        for style in ("openai", "llama-cpp-python"):
            backend = _backend(handler, schema_style=style)
            await backend.chat(request)
            await backend.close()

    asyncio.run(main())
    openai_body, llama_body = bodies
    assert list(openai_body)[:2] == ["model", "messages"]
    assert openai_body["stop"] == ["END"] and openai_body["seed"] == 7
    assert openai_body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": schema},
    }
    assert llama_body["response_format"] == {"type": "json_object", "schema": schema}


def test_embeddings_missing_on_engine_is_a_clear_error() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"detail": "Not Found"})

    async def main() -> None:
        backend = _backend(handler)
        with pytest.raises(Exception, match="does not provide embeddings"):
            await backend.embed(["x"])
        await backend.close()

    asyncio.run(main())
