"""The HTTP transport to model engines: httpx's transport seam over aiohttp's connection pool.

`RemoteBackend` speaks to engines through `httpx.AsyncBaseTransport`
(`handle_async_request`), the one seam its tests replace with
`httpx.MockTransport`. It calls the transport directly rather than through an
`httpx.AsyncClient`, whose cookie, redirect, authentication and URL-merging
layers an engine call does not need and which cost more CPU than the request
itself (docs/inference.md, "Gateway overhead").

`EngineTransport` sends with aiohttp (C HTTP parser, pooled keep-alive
connections) and maps its errors onto httpx's, so callers handle one family:
a refused or timed-out connection is `ConnectError`/`ConnectTimeout`, a
connection that breaks or stalls while answering is `ReadError`/`ReadTimeout`.
A JSON answer is read whole inside the transport; an event stream is handed
over as it arrives.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp
import httpx

# Idle connections are dropped after 4 s: bursts a few seconds apart reuse them,
# and they close before engines behind uvicorn (vLLM, llama.cpp's Python server)
# close theirs at 5 s, so no request is sent on a connection the engine is closing.
KEEPALIVE_SECONDS = 4.0
MAX_CONNECTIONS = 256


@contextmanager
def _as_httpx_errors(*, connecting: bool) -> Iterator[None]:
    """aiohttp's exceptions as httpx's transport errors (same message).

    A read timeout stays a read timeout even while waiting for the answer's
    first byte: the engine is connected and busy, which is not a dead replica
    (health probes of a busy llama.cpp server time out that way).
    """
    try:
        yield
    except httpx.TransportError:
        raise
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpx.ConnectTimeout(str(exc) or "timed out connecting") from exc
    except aiohttp.SocketTimeoutError as exc:
        raise httpx.ReadTimeout(str(exc) or "timed out reading") from exc
    except TimeoutError as exc:
        timeout: type[httpx.TimeoutException] = (
            httpx.ConnectTimeout if connecting else httpx.ReadTimeout
        )
        raise timeout(str(exc) or "timed out") from exc
    except aiohttp.ClientConnectorError as exc:
        raise httpx.ConnectError(str(exc)) from exc
    except (aiohttp.ClientError, OSError) as exc:
        broken: type[httpx.TransportError] = httpx.ConnectError if connecting else httpx.ReadError
        raise broken(str(exc) or type(exc).__name__) from exc


class _AiohttpStream(httpx.AsyncByteStream):
    """The body of an answer still arriving (server-sent events)."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors(connecting=False):
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        self._response.release()


class EngineTransport(httpx.AsyncBaseTransport):
    """Requests to OpenAI-compatible engines over one aiohttp session.

    The session is created on first use, in the event loop of the caller, and
    ignores proxy variables (engines are on the enclave network). Each request's
    timeouts come from its `timeout` extension (`connect`, `read`, `pool`
    seconds), as httpx sets them.
    """

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    def _session_or_new(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_SECONDS
            )
            self._session = aiohttp.ClientSession(
                connector=connector, trust_env=False, auto_decompress=False
            )
        return self._session

    def _timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        spec = request.extensions.get("timeout") or {}
        key = (spec.get("connect"), spec.get("read"), spec.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            connect, read, pool = key
            timeout = aiohttp.ClientTimeout(
                total=None,
                connect=None if pool is None or connect is None else pool + connect,
                sock_connect=connect,
                sock_read=read,
            )
            self._timeouts[key] = timeout
        return timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request`; a JSON answer comes back read, an event stream still open."""
        session = self._session_or_new()
        with _as_httpx_errors(connecting=True):
            response = await session.request(
                request.method,
                str(request.url),
                headers=request.headers,
                data=request.content or None,
                allow_redirects=False,
                timeout=self._timeout(request),
            )
        headers = response.raw_headers
        if response.content_type == "text/event-stream":
            return httpx.Response(
                response.status, headers=headers, stream=_AiohttpStream(response), request=request
            )
        try:
            with _as_httpx_errors(connecting=False):
                body = await response.read()
        finally:
            response.release()
        return httpx.Response(response.status, headers=headers, content=body, request=request)

    async def aclose(self) -> None:
        """Close every pooled connection."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()
