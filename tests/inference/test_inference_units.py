"""Unit tests of the inference layer's pure parts: values, config, registry, queue, test double."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping
from typing import Any

import pytest

from egide.errors import ConfigurationError, ContextOverflow, EgideError, InvalidInput, Unavailable
from egide.inference import (
    RUNTIMES,
    Backend,
    ChatMessage,
    ChatRequest,
    JsonSchemaFormat,
    StreamChunk,
    create_backend,
)
from egide.inference.config import LlamaCppConfig, RemoteConfig, parse_config
from egide.inference.guard import ALLOW_ENV, check_model_requests_allowed
from egide.inference.remote import RemoteBackend
from egide.inference.scheduler import PriorityWorker
from egide.inference.testing import EchoBackend, forbid_model_requests
from egide.inference.transport import EngineTransport


def _request(text: str = "hello there", **kwargs: Any) -> ChatRequest:
    return ChatRequest([ChatMessage("user", text)], **kwargs)


# -- value types ------------------------------------------------------------------------


def test_chat_request_is_immutable_and_validated() -> None:
    request = ChatRequest([ChatMessage("user", "hi")], stop=["x"])
    assert request.messages == (ChatMessage("user", "hi"),)
    assert request.stop == ("x",)
    with pytest.raises(InvalidInput, match="at least one message"):
        ChatRequest([])
    with pytest.raises(InvalidInput, match="max_tokens"):
        _request(max_tokens=0)
    with pytest.raises(InvalidInput, match="temperature"):
        _request(temperature=3.0)
    with pytest.raises(InvalidInput, match="role"):
        ChatMessage("wizard", "hi")  # type: ignore[arg-type]


# -- configuration and registry ---------------------------------------------------------


def test_parse_config_accepts_plain_mapping() -> None:
    config = parse_config(
        LlamaCppConfig, {"runtime": "llamacpp", "path": "/m.gguf", "n_ctx": 4096, "max_queue": 3}
    )
    assert config == LlamaCppConfig(path="/m.gguf", n_ctx=4096, max_queue=3)
    remote = parse_config(
        RemoteConfig,
        {"runtime": "openai", "model": "m", "replicas": ["http://a:8000/", "http://b:8000"]},
    )
    assert remote.replicas == ("http://a:8000", "http://b:8000")
    assert remote.connect_timeout == 3.0


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"runtime": "llamacpp", "n_ctxx": 1}, "unknown setting.*n_ctxx"),
        ({"runtime": "llamacpp", "n_ctx": "big"}, "n_ctx = 'big' should be an integer"),
        ({"runtime": "llamacpp", "n_threads": 0}, "n_threads"),
        ({"runtime": "openai", "replicas": ["http://a"]}, "missing setting.*model"),
        ({"runtime": "openai", "model": "m", "replicas": []}, "at least one replica"),
        ({"runtime": "openai", "model": "m", "replicas": ["a:80"]}, "http"),
        ({"runtime": "openai", "model": "m", "replicas": "http://a"}, "a list of strings"),
        ({"runtime": "tgi-magic"}, "unknown runtime 'tgi-magic'.*llamacpp"),
        ({"path": "/m.gguf"}, "needs a `runtime` key"),
    ],
)
def test_bad_configuration_is_refused_clearly(config: Mapping[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        create_backend(config)


def test_registry_selects_runtime_by_name() -> None:
    assert set(RUNTIMES) >= {"llamacpp", "openai", "echo"}
    remote = create_backend({"runtime": "openai", "model": "m", "replicas": ["http://h:1"]})
    assert isinstance(remote, RemoteBackend)
    assert isinstance(remote, Backend)
    echo = create_backend({"runtime": "echo", "name": "double"})
    assert isinstance(echo, EchoBackend)
    assert echo.describe().name == "double"
    asyncio.run(remote.close())


def test_registry_accepts_extra_runtimes() -> None:
    made: list[Mapping[str, Any]] = []

    def factory(config: Mapping[str, Any]) -> Backend:
        made.append(config)
        return EchoBackend(name="custom")

    backend = create_backend({"runtime": "custom"}, {**RUNTIMES, "custom": factory})
    assert backend.describe().name == "custom"
    assert made == [{"runtime": "custom"}]


def test_import_creates_nothing() -> None:
    # Building a remote backend opens no connection and starts no task.
    backend = RemoteBackend(RemoteConfig(model="m", replicas=("http://127.0.0.1:9",)))
    assert isinstance(backend._transport, EngineTransport)
    assert backend._transport._session is None
    assert backend._health_task is None


# -- the priority queue -----------------------------------------------------------------


def _blocking_job(started: threading.Event, release: threading.Event) -> Any:
    def run(cancelled: threading.Event) -> None:
        started.set()
        release.wait(5)

    return run


def _ignore(_: EgideError) -> None:
    pass


def test_queue_serves_higher_priority_first_and_fifo_within_priority() -> None:
    worker = PriorityWorker("m", max_queue=10)
    started, release = threading.Event(), threading.Event()
    worker.submit(_blocking_job(started, release), _ignore)
    assert started.wait(5)
    order: list[str] = []
    done = threading.Event()
    submitted = [("low-1", 0), ("high-1", 5), ("mid", 1), ("high-2", 5), ("low-2", 0)]
    for label, priority in submitted:

        def run(cancelled: threading.Event, label: str = label) -> None:
            order.append(label)
            if len(order) == len(submitted):
                done.set()

        worker.submit(run, _ignore, priority=priority)
    assert worker.queue_depth == 5
    assert worker.in_flight == 1
    release.set()
    assert done.wait(5)
    assert order == ["high-1", "high-2", "mid", "low-1", "low-2"]
    worker.close()


def test_full_queue_refuses_at_once_with_503() -> None:
    worker = PriorityWorker("smol", max_queue=2)
    started, release = threading.Event(), threading.Event()
    worker.submit(_blocking_job(started, release), _ignore)
    started.wait(5)
    worker.submit(lambda c: None, _ignore)
    worker.submit(lambda c: None, _ignore)
    with pytest.raises(Unavailable, match=r"2 requests already waiting \(max_queue=2\)") as err:
        worker.submit(lambda c: None, _ignore, priority=100)
    assert err.value.http_status == 503
    release.set()
    worker.close()


def _wait(event: threading.Event) -> None:
    event.wait(5)


def test_burst_before_worker_starts_cannot_overfill() -> None:
    worker = PriorityWorker("m", max_queue=1)
    release = threading.Event()
    accepted = 0
    with pytest.raises(Unavailable):
        for _ in range(5):
            worker.submit(lambda c: _wait(release), _ignore)
            accepted += 1
    assert accepted == 2  # one running (or about to), one waiting
    release.set()
    worker.close()


def test_cancel_drops_waiting_job_and_signals_running_one() -> None:
    worker = PriorityWorker("m", max_queue=4)
    started = threading.Event()
    saw_cancel = threading.Event()

    def long_job(cancelled: threading.Event) -> None:
        started.set()
        if cancelled.wait(5):
            saw_cancel.set()

    running = worker.submit(long_job, _ignore)
    started.wait(5)
    ran: list[str] = []
    waiting = worker.submit(lambda c: ran.append("waiting"), _ignore)
    worker.cancel(waiting)
    assert worker.queue_depth == 0
    worker.cancel(running)
    assert saw_cancel.wait(5)
    worker.close()
    assert ran == []


def test_close_rejects_waiting_jobs() -> None:
    worker = PriorityWorker("m", max_queue=4)
    started, release = threading.Event(), threading.Event()
    worker.submit(_blocking_job(started, release), _ignore)
    started.wait(5)
    rejected: list[EgideError] = []
    worker.submit(lambda c: None, rejected.append)
    release.set()
    worker.close()
    assert len(rejected) <= 1
    assert all(isinstance(e, Unavailable) for e in rejected)
    with pytest.raises(Unavailable, match="shutting down"):
        worker.submit(lambda c: None, _ignore)


# -- the test double and the switch -----------------------------------------------------


def test_echo_backend_chat_stream_and_json() -> None:
    async def main() -> None:
        echo = EchoBackend()
        result = await echo.chat(_request("one two three"))
        assert result.text == "echo: one two three"
        assert result.finish_reason == "stop"
        assert result.usage.total_tokens == result.prompt_tokens + 4
        chunks = [c async for c in echo.stream(_request("a b c", max_tokens=2))]
        assert "".join(c.text for c in chunks) == "echo: a"
        assert chunks[-1] == StreamChunk("", "length", completion_tokens=2)
        schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
        fmt = JsonSchemaFormat(schema)
        structured = await echo.chat(_request(response_format=fmt))
        assert json.loads(structured.text) == {"n": 0}
        assert len(echo.requests) == 3
        assert len((await echo.embed(["x", "y"]))[0]) == echo.embedding_size
        with pytest.raises(ContextOverflow):
            await EchoBackend(context_size=8).chat(_request(max_tokens=16))
        await echo.close()

    asyncio.run(main())


def test_switch_forbids_real_model_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    check_model_requests_allowed("llamacpp")
    backend = RemoteBackend(RemoteConfig(model="m", replicas=("http://127.0.0.1:9",)))

    async def main() -> None:
        with forbid_model_requests():
            with pytest.raises(ConfigurationError, match=ALLOW_ENV):
                await backend.chat(_request())
            # The double still answers.
            assert (await EchoBackend().chat(_request("x"))).text == "echo: x"
        await backend.close()

    asyncio.run(main())
    monkeypatch.setenv(ALLOW_ENV, "0")
    with pytest.raises(ConfigurationError, match="EchoBackend"):
        check_model_requests_allowed("openai")


def test_relay_hands_every_event_over_in_order_across_threads() -> None:
    import asyncio
    import threading

    from egide.inference.llamacpp import _Relay
    from egide.inference.protocol import StreamChunk

    async def run() -> list[str]:
        relay = _Relay(asyncio.get_running_loop())

        def produce() -> None:
            for i in range(2000):
                relay.emit(StreamChunk(str(i)))
            relay.emit(None)

        threading.Thread(target=produce).start()
        received: list[str] = []
        while True:
            for event in await relay.take():
                if event is None:
                    return received
                assert isinstance(event, StreamChunk)
                received.append(event.text)

    assert asyncio.run(run()) == [str(i) for i in range(2000)]


@pytest.mark.parametrize(
    "schema",
    [
        # Red team: this one killed `egide serve` with a segmentation fault.
        {"type": "object", "properties": {"a": {"$ref": "#/properties/a"}}},
        {"type": "object", "properties": {"a": {"$ref": "#/properties"}}},
        {"type": "object", "properties": {"a": {"$ref": "http://elsewhere/schema.json"}}},
        {"type": "object", "properties": {"a": {"$ref": 7}}},
    ],
)
def test_schema_references_the_embedded_runtime_cannot_take_are_refused(
    schema: dict[str, Any],
) -> None:
    from egide.inference.llamacpp import check_schema_references

    with pytest.raises(InvalidInput, match=r"\$defs"):
        check_schema_references(schema)


def test_schema_definitions_and_plain_schemas_are_accepted_and_depth_is_bounded() -> None:
    from egide.inference.llamacpp import check_schema_references

    tree = {
        "$defs": {"node": {"type": "object", "properties": {"kids": {"$ref": "#/$defs/node"}}}},
        "$ref": "#/$defs/node",
    }
    check_schema_references(tree)
    check_schema_references({"type": "object", "properties": {"n": {"type": "integer"}}})
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(100):
        deep = {"type": "array", "items": deep}
    with pytest.raises(InvalidInput, match="levels"):
        check_schema_references(deep)
