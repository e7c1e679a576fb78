"""Remote runtime: a model served by a pool of OpenAI-compatible engines (vLLM, llama.cpp, TGI).

Each request goes to the least-loaded healthy replica. A replica whose
connection fails is marked down and the request moves to another one, as long
as nothing has been streamed to the caller yet; once some of the answer has
gone out, a broken stream ends with :class:`~egide.errors.Unavailable` after
the partial chunks, so the API can send an error event instead of a silently
truncated answer. A background task probes every replica periodically and
brings recovered ones back. Every network call has a connect and a read
timeout, so nothing waits forever on a dead engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import Any

import httpx

from egide.errors import (
    ConfigurationError,
    ContextOverflow,
    EgideError,
    InvalidInput,
    Unavailable,
)
from egide.inference.config import RemoteConfig, parse_config
from egide.inference.guard import check_model_requests_allowed
from egide.inference.protocol import (
    BackendInfo,
    ChatMessage,
    ChatRequest,
    ChatResult,
    FinishReason,
    JsonObjectFormat,
    JsonSchemaFormat,
    StreamChunk,
    embeddings_unsupported,
)
from egide.inference.replicas import Replica, ReplicaSet
from egide.inference.transport import EngineTransport

RUNTIME = "openai"
_JSON_BODY = [(b"content-type", b"application/json")]
_CONTEXT_ERROR = re.compile(r"context|input tokens|max_new_tokens|too long", re.IGNORECASE)


class _ReplicaFailed(Exception):
    """This replica could not serve the request; another one may."""


class _StreamBroken(Exception):
    """The stream ended without a finish reason (engine stopped or interrupted it)."""


class RemoteBackend:
    """One model on several OpenAI-compatible replicas; implements the Backend protocol.

    A RemoteBackend belongs to the event loop that first uses it: its HTTP client
    and health task live there, and :meth:`close` must be awaited on it.

    Args:
        config: Model name, replica URLs and timeouts.
        transport: HTTP transport override, for tests (default: `EngineTransport`).
    """

    def __init__(
        self, config: RemoteConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self.name = config.name or config.model
        self.replicas = ReplicaSet(config.replicas)
        self._transport = transport or EngineTransport()
        self._auth = (
            [(b"authorization", f"Bearer {config.api_key}".encode())] if config.api_key else []
        )
        self._timeout = _timeout(config.read_timeout, config.connect_timeout)
        self._probe_timeout = _timeout(config.connect_timeout, config.connect_timeout)
        self._urls: dict[tuple[str, str], httpx.URL] = {}
        self._health_task: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RemoteBackend:
        """Build from a plain mapping (see :class:`~egide.inference.config.RemoteConfig`)."""
        return cls(parse_config(RemoteConfig, config))

    # -- protocol -------------------------------------------------------------------------

    async def chat(self, request: ChatRequest) -> ChatResult:
        """Generate a whole answer on the least-loaded replica, failing over on errors."""
        data = await self._post_json("/v1/chat/completions", self._body(request, stream=False))
        try:
            choice = data["choices"][0]
            usage = data.get("usage") or {}
            return ChatResult(
                text=choice["message"].get("content") or "",
                finish_reason=_finish_reason(choice.get("finish_reason")),
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
            )
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise EgideError(f"model {self.name!r}: malformed answer from engine: {exc}") from exc

    async def stream(self, request: ChatRequest) -> AsyncGenerator[StreamChunk, None]:
        """Stream an answer; fails over until the first chunk, then errors after the partial answer.

        Raises:
            Unavailable: No replica could start the answer, or the replica died mid-answer.
        """
        self._start()
        content = _json_bytes(self._body(request, stream=True))
        tried: list[Replica] = []
        while True:
            replica = await self._choose(tried)
            tried.append(replica)
            sent_any = False
            replica.in_flight += 1
            try:
                response = await self._send(replica, "POST", "/v1/chat/completions", content)
                try:
                    if response.status_code >= 400:
                        await response.aread()
                        self._raise_for_status(replica, response)
                    async for chunk in _sse_chunks(response):
                        sent_any = True
                        yield chunk
                        if chunk.finish_reason is not None:
                            return
                    raise _StreamBroken("the stream ended without a finish reason")
                finally:
                    await response.aclose()
            except (httpx.TransportError, _ReplicaFailed, _StreamBroken) as exc:
                if isinstance(exc, httpx.TransportError):
                    replica.mark_down(_describe(exc))
                if sent_any:
                    raise Unavailable(
                        f"model {self.name!r}: replica {replica.url} failed in the middle of "
                        f"the answer ({_describe(exc)}); the answer above is incomplete, "
                        "send the request again"
                    ) from exc
                continue
            finally:
                replica.in_flight -= 1

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed texts through `/v1/embeddings` on the least-loaded replica."""
        body = {"model": self.config.model, "input": list(texts)}
        try:
            data = await self._post_json("/v1/embeddings", body)
        except NotFoundEndpoint as exc:
            raise embeddings_unsupported(RUNTIME, self.name) from exc
        rows = sorted(data["data"], key=lambda row: row["index"])
        return [[float(x) for x in row["embedding"]] for row in rows]

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """An estimate (about four characters a token, plus template overhead).

        The engine holds the tokenizer and enforces the context itself; its refusal
        comes back as :class:`~egide.errors.ContextOverflow`.
        """
        return sum(4 + math.ceil(len(m.content) / 4) for m in messages) + 2

    def describe(self) -> BackendInfo:
        """Name, load and the state of every replica."""
        return BackendInfo(
            name=self.name,
            runtime=RUNTIME,
            context_size=self.config.context_size,
            in_flight=self.replicas.in_flight,
            queue_depth=0,
            healthy=self.replicas.any_healthy and not self._closed,
            details={"replicas": [r.as_dict() for r in self.replicas.replicas]},
        )

    async def close(self) -> None:
        """Stop the health probes and close every connection."""
        self._closed = True
        task, self._health_task = self._health_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._transport.aclose()

    # -- health ---------------------------------------------------------------------------

    async def check_health(self, replicas: Sequence[Replica] | None = None) -> None:
        """Probe replicas now (all by default) and mark each up or down."""
        targets = list(self.replicas.replicas if replicas is None else replicas)
        await asyncio.gather(*(self._probe(r) for r in targets))

    async def _probe(self, replica: Replica) -> None:
        replica.checked_at = time.monotonic()
        try:
            # vLLM and TGI answer /health; llama.cpp's Python server only /v1/models.
            response = await self._send(replica, "GET", "/health", timeout=self._probe_timeout)
            if response.status_code == 404:
                response = await self._send(
                    replica, "GET", "/v1/models", timeout=self._probe_timeout
                )
        except httpx.ReadTimeout:
            # Connected but slow to answer: the engine is alive and busy (llama.cpp's
            # server answers probes only between generations, and other API
            # processes share the engine). A hung engine is caught by the
            # requests' own read timeout, which fails them over.
            return
        except httpx.TransportError as exc:
            replica.mark_down(_describe(exc))
            return
        if response.status_code == 200:
            replica.mark_up()
        else:
            replica.mark_down(f"health probe answered HTTP {response.status_code}")

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.health_interval)
            await self.check_health()

    # -- plumbing -------------------------------------------------------------------------

    def _start(self) -> None:
        """Start the health task; refused after close or when model calls are switched off."""
        check_model_requests_allowed(RUNTIME)
        if self._closed:
            raise Unavailable(f"model {self.name!r} is shutting down; retry on another node")
        if self._health_task is None:
            self._health_task = asyncio.get_running_loop().create_task(self._health_loop())

    async def _send(
        self,
        replica: Replica,
        method: str,
        path: str,
        content: bytes = b"",
        *,
        timeout: dict[str, float] | None = None,
    ) -> httpx.Response:
        """One request to one replica through the transport; a stream is left open.

        Raises:
            httpx.TransportError: the replica could not be reached or broke off.
        """
        url = self._urls.get((replica.url, path))
        if url is None:
            url = self._urls[(replica.url, path)] = httpx.URL(replica.url + path)
        request = httpx.Request(
            method,
            url,
            headers=[*_JSON_BODY, *self._auth] if content else self._auth,
            content=content,
            extensions={"timeout": timeout or self._timeout},
        )
        return await self._transport.handle_async_request(request)

    async def _choose(self, tried: Sequence[Replica]) -> Replica:
        """The replica for the next attempt, re-probing stale down ones before giving up.

        Raises:
            Unavailable: Every replica is down or already failed this request.
        """
        replica = self.replicas.pick(exclude=tried)
        if replica is None:
            # All remaining replicas were marked down; one may have come back since.
            stale = self.replicas.stale(tried, min_age=min(1.0, self.config.health_interval))
            if stale:
                await self.check_health(stale)
                replica = self.replicas.pick(exclude=tried)
        if replica is None:
            raise Unavailable(
                f"model {self.name!r}: no replica can serve the request "
                f"({self.replicas.summary()}); check that the engines are running"
            )
        return replica

    async def _post_json(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST with failover: nothing has reached the caller, so any replica may retry."""
        self._start()
        content = _json_bytes(body)
        tried: list[Replica] = []
        while True:
            replica = await self._choose(tried)
            tried.append(replica)
            replica.in_flight += 1
            try:
                response = await self._send(replica, "POST", path, content)
                await response.aread()
            except httpx.TransportError as exc:
                replica.mark_down(_describe(exc))
                continue
            finally:
                replica.in_flight -= 1
            if response.status_code == 404 and path == "/v1/embeddings":
                raise NotFoundEndpoint(path)
            try:
                self._raise_for_status(replica, response)
            except _ReplicaFailed:
                continue
            try:
                data: dict[str, Any] = response.json()
            except ValueError:
                replica.last_error = "answered with something that is not JSON"
                continue
            return data

    def _raise_for_status(self, replica: Replica, response: httpx.Response) -> None:
        """Map an engine's HTTP error to Égide's errors; 5xx means try another replica."""
        status = response.status_code
        if status < 400:
            return
        message = _error_message(response)
        if status >= 500 or status == 429:
            replica.last_error = f"HTTP {status}: {message}"
            raise _ReplicaFailed(replica.last_error)
        if status in (401, 403):
            raise ConfigurationError(
                f"model {self.name!r}: replica {replica.url} refused our credentials "
                f"(HTTP {status}); set the model's api_key to the engine's key"
            )
        if status == 404:
            raise ConfigurationError(
                f"model {self.name!r}: replica {replica.url} does not serve model "
                f"{self.config.model!r} ({message}); fix the model name in the configuration"
            )
        if _CONTEXT_ERROR.search(message):
            raise ContextOverflow(f"model {self.name!r}: {message}")
        raise InvalidInput(f"model {self.name!r} refused the request: {message}")

    def _body(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        """The OpenAI chat-completions body, in the spec's field order."""
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": [m.as_dict() for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "stream": stream,
        }
        if stream:
            # The engine's own token count of the answer (vLLM, TGI; ignored by others).
            body["stream_options"] = {"include_usage": True}
        if request.stop:
            body["stop"] = list(request.stop)
        if request.seed is not None:
            body["seed"] = request.seed
        fmt = request.response_format
        if isinstance(fmt, JsonSchemaFormat) and self.config.schema_style == "llama-cpp-python":
            body["response_format"] = {"type": "json_object", "schema": dict(fmt.schema)}
        elif isinstance(fmt, JsonSchemaFormat):
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": fmt.name, "schema": dict(fmt.schema)},
            }
        elif isinstance(fmt, JsonObjectFormat):
            body["response_format"] = {"type": "json_object"}
        return body


def _timeout(read: float, connect: float) -> dict[str, float]:
    """httpx's `timeout` request extension: `connect` also bounds waiting for a free connection."""
    return {"connect": connect, "read": read, "write": read, "pool": connect}


def _json_bytes(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class NotFoundEndpoint(Exception):
    """The engine has no such endpoint (e.g. a chat-only engine asked for embeddings)."""


async def _sse_chunks(response: httpx.Response) -> AsyncIterator[StreamChunk]:
    """Chunks of an OpenAI server-sent-event stream, until `[DONE]`.

    The finishing chunk is held until the end of the stream, so that the
    engine's `usage` (sent after it when asked with `stream_options`) comes
    with it.
    """
    finish: StreamChunk | None = None
    usage: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if not line.startswith("data:"):
            continue  # comments (keep-alive pings), event names, blank separators
        payload = line[5:].strip()
        if payload == "[DONE]":
            break
        event = json.loads(payload)
        if "error" in event:
            raise _ReplicaFailed(f"engine error event: {event['error']}")
        usage = event.get("usage") or usage
        choices = event.get("choices") or []
        if not choices:
            continue  # a usage-only chunk
        choice = choices[0]
        text = (choice.get("delta") or {}).get("content") or ""
        reason = choice.get("finish_reason")
        if reason:
            finish = StreamChunk(text, _finish_reason(reason))
        elif text:
            yield StreamChunk(text)
    if finish is not None:
        yield StreamChunk(
            finish.text,
            finish.finish_reason,
            completion_tokens=_count(usage, "completion_tokens"),
            prompt_tokens=_count(usage, "prompt_tokens"),
        )


def _count(usage: dict[str, Any], key: str) -> int | None:
    value = usage.get(key)
    return int(value) if isinstance(value, int | float) else None


def _finish_reason(value: object) -> FinishReason:
    return "length" if value == "length" else "stop"


def _error_message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:500] or f"HTTP {response.status_code}"
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, dict):
        return str(error.get("message") or error.get("detail") or error)
    return str(error)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
