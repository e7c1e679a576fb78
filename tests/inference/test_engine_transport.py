"""The transport to engines against real sockets: answers, streams, and how failures read.

How a failure is classified decides failover: a refused connection marks the
replica down, a busy engine that is slow to answer a health probe must not.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from egide.inference.config import RemoteConfig
from egide.inference.remote import RemoteBackend
from egide.inference.transport import EngineTransport

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
TIMEOUT = {"connect": 2.0, "read": 0.3, "write": 2.0, "pool": 2.0}


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[str]:
    """A loopback TCP server running `handler` per connection; yields its base URL.

    On exit the listening socket and every connection still open are closed.
    """
    running: set[asyncio.Task[None]] = set()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        running.add(task)
        try:
            await handler(reader, writer)
        except asyncio.CancelledError:
            pass
        finally:
            writer.close()
            running.discard(task)

    server = await asyncio.start_server(connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for task in list(running):
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await server.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return await reader.readexactly(length) if length else b""


async def _never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """An engine connected and busy: it reads the request and does not answer in time."""
    await _read_request(reader)
    await asyncio.sleep(5)


def _head(content_type: str, length: int | None = None) -> bytes:
    framing = f"content-length: {length}" if length is not None else "connection: close"
    return f"HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\n{framing}\r\n\r\n".encode()


def _request(url: str, body: bytes = b"") -> httpx.Request:
    return httpx.Request(
        "POST" if body else "GET",
        url,
        headers={"content-type": "application/json"},
        content=body,
        extensions={"timeout": TIMEOUT},
    )


def test_a_json_answer_comes_back_whole_and_the_body_reaches_the_engine() -> None:
    received: list[bytes] = []

    async def engine(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await _read_request(reader))
        answer = json.dumps({"ok": "é"}).encode()
        writer.write(_head("application/json", len(answer)) + answer)
        await writer.drain()

    async def main() -> None:
        transport = EngineTransport()
        async with serving(engine) as url:
            response = await transport.handle_async_request(_request(url + "/x", b'{"a":1}'))
            assert response.status_code == 200
            assert response.json() == {"ok": "é"}
        await transport.aclose()
        assert received == [b'{"a":1}']

    asyncio.run(main())


def test_an_event_stream_is_relayed_as_it_arrives() -> None:
    more = asyncio.Event()

    async def engine(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(_head("text/event-stream") + b"data: one\n\n")
        await writer.drain()
        await more.wait()  # the second event only once the first was read
        writer.write(b"data: two\n\n")
        await writer.drain()
        writer.close()

    async def main() -> None:
        transport = EngineTransport()
        async with serving(engine) as url:
            response = await transport.handle_async_request(_request(url, b"{}"))
            lines = response.aiter_lines()
            assert await anext(lines) == "data: one"
            more.set()
            rest = [line async for line in lines if line]
            assert rest == ["data: two"]
            await response.aclose()
        await transport.aclose()

    asyncio.run(main())


def test_a_refused_connection_is_a_connect_error() -> None:
    async def main() -> None:
        transport = EngineTransport()
        async with serving(_never_answers) as url:  # a port that was open...
            pass
        with pytest.raises(httpx.ConnectError):  # ...and is closed now
            await transport.handle_async_request(_request(url, b"{}"))
        await transport.aclose()

    asyncio.run(main())


def test_an_engine_slow_to_answer_is_a_read_timeout_not_a_connect_one() -> None:
    async def main() -> None:
        transport = EngineTransport()
        async with serving(_never_answers) as url:
            with pytest.raises(httpx.ReadTimeout):
                await transport.handle_async_request(_request(url, b"{}"))
        await transport.aclose()

    asyncio.run(main())


def test_a_stream_cut_midway_is_a_read_error() -> None:
    async def dies(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        # Chunked framing announced, one chunk sent, then the connection is cut.
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n" + b"d\r\ndata: part\n\n\r\n"
        )
        await writer.drain()
        writer.transport.abort()

    async def main() -> None:
        transport = EngineTransport()
        async with serving(dies) as url:
            response = await transport.handle_async_request(_request(url, b"{}"))
            with pytest.raises(httpx.ReadError):
                async for _ in response.aiter_lines():
                    pass
            await response.aclose()
        await transport.aclose()

    asyncio.run(main())


def test_a_busy_engine_stays_healthy_and_a_gone_one_is_marked_down() -> None:
    async def main() -> None:
        async with serving(_never_answers) as url:
            config = RemoteConfig(model="m", replicas=(url,), connect_timeout=0.3)
            backend = RemoteBackend(config)
            await backend.check_health()
            assert backend.replicas.replicas[0].healthy
        await backend.check_health()  # the server is gone now
        replica = backend.replicas.replicas[0]
        assert not replica.healthy
        assert "ConnectError" in (replica.last_error or "")
        await backend.close()

    asyncio.run(main())
