"""End to end: a real `egide serve` running SmolLM2 in llama.cpp, cut off from the network,
driven by the official `openai` and `mistralai` SDKs; the kill switch across two servers.

Nothing here is a test double: real model, real HTTP server, real clients.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from mistralai.client import Mistral

from tests.api.server import Server, egide

pytestmark = pytest.mark.slow

DEMO = "smollm2-135m-demo"


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], str, Path]:
    """An initialised data directory with the demo model registered; env and admin key."""
    workdir = tmp_path_factory.mktemp("e2e")
    env = {
        **os.environ,
        "EGIDE_DATA_DIR": str(workdir / "data"),
        "EGIDE_LLAMACPP_THREADS": "4",
        "EGIDE_LLAMACPP_N_CTX": "2048",
    }
    env.pop("EGIDE_ALLOW_MODEL_REQUESTS", None)
    key = egide(env, "init", "--clearance", "SECRET").strip().splitlines()[-1]
    assert key.startswith("egk_")
    egide(env, "models", "demo")
    return env, key, workdir


@pytest.fixture(scope="module")
def server(installation: tuple[dict[str, str], str, Path]) -> Iterator[Server]:
    """The server, with every non-loopback connection refused and recorded."""
    env, _, workdir = installation
    running = Server(env, workdir, offline=True)
    yield running
    running.stop()


@pytest.fixture
def oa(server: Server, installation: tuple[dict[str, str], str, Path]) -> openai.OpenAI:
    """The official OpenAI client."""
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=installation[1], max_retries=0)


def test_openai_sdk_chat_whole_and_streamed(oa: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    raw = oa.chat.completions.with_raw_response.create(
        model=DEMO,
        messages=messages,
        max_tokens=24,
        temperature=0,  # type: ignore[arg-type]
    )
    answer = raw.parse()
    assert answer.choices[0].message.content
    assert answer.usage is not None and answer.usage.completion_tokens > 0
    assert raw.headers["X-Egide-Demo-Model"] == "true"
    assert raw.headers["X-Egide-Label"] == "NOT PROTECTED"
    extra = answer.model_extra or {}
    assert extra["egide"]["demo_model"] is True and len(extra["egide"]["model_digest"]) == 64
    stream = oa.chat.completions.create(
        model=DEMO,
        messages=messages,  # type: ignore[arg-type]
        max_tokens=24,
        temperature=0,
        stream=True,
    )
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert "".join(pieces).strip()
    assert len([p for p in pieces if p]) > 1


def test_openai_sdk_json_schema(oa: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
    }
    answer = oa.chat.completions.create(
        model=DEMO,
        messages=[{"role": "user", "content": "Give a city and its population as JSON."}],
        max_tokens=60,
        temperature=0,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "city", "schema": schema, "strict": True},
        },
    )
    value = json.loads(answer.choices[0].message.content or "")
    assert isinstance(value["city"], str) and isinstance(value["population"], int)


def test_openai_sdk_embeddings_and_models(oa: openai.OpenAI) -> None:
    result = oa.embeddings.create(
        model="multilingual-e5-small", input=["un char", "a tank", "a banana"]
    )
    vectors = [item.embedding for item in result.data]
    assert [len(v) for v in vectors] == [384, 384, 384]

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cos(vectors[0], vectors[1]) > cos(vectors[0], vectors[2])
    names = {model.id for model in oa.models.list()}
    assert names == {DEMO, "multilingual-e5-small"}


def test_openai_sdk_errors_have_the_openai_shape(oa: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        oa.chat.completions.create(model="nope", messages=[{"role": "user", "content": "hi"}])
    assert missing.value.code == "not_found"
    bad = openai.OpenAI(base_url=str(oa.base_url), api_key="egk_x_y", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    with pytest.raises(openai.BadRequestError) as overflow:
        oa.chat.completions.create(
            model=DEMO, messages=[{"role": "user", "content": "hi"}], max_tokens=100_000
        )
    assert overflow.value.code == "context_length_exceeded"


def test_mistral_sdk(server: Server, installation: tuple[dict[str, str], str, Path]) -> None:
    client = Mistral(api_key=installation[1], server_url=server.url)
    messages = [{"role": "user", "content": "Say hello."}]
    answer = client.chat.complete(model=DEMO, messages=messages, max_tokens=16, temperature=0)  # type: ignore[arg-type]
    assert answer.choices[0].message.content
    events = client.chat.stream(model=DEMO, messages=messages, max_tokens=16, temperature=0)  # type: ignore[arg-type]
    text = "".join(str(e.data.choices[0].delta.content or "") for e in events if e.data.choices)
    assert text.strip()
    embedded = client.embeddings.create(model="multilingual-e5-small", inputs=["bonjour"])
    assert len(embedded.data[0].embedding or []) == 384
    listed = client.models.list()
    assert {m.id for m in listed.data or []} == {DEMO, "multilingual-e5-small"}


def test_offline_no_connection_attempted(server: Server, oa: openai.OpenAI) -> None:
    """After chat and embedding round trips, the server never tried to leave loopback."""
    oa.chat.completions.create(
        model=DEMO, messages=[{"role": "user", "content": "hi"}], max_tokens=4
    )
    oa.embeddings.create(model="multilingual-e5-small", input="hi")
    assert server.net_mark.exists(), "the network guard was not installed in the server"
    assert server.refused_connections() == []


def test_kill_switch_reaches_two_servers_within_a_second(
    server: Server, installation: tuple[dict[str, str], str, Path]
) -> None:
    env, key, workdir = installation
    second = Server(env, workdir, offline=True)
    try:
        headers = {"Authorization": f"Bearer {key}"}
        body = {"model": DEMO, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
        for url in (server.url, second.url):
            assert (
                httpx.post(f"{url}/v1/chat/completions", json=body, headers=headers).status_code
                == 200
            )
        egide(env, "models", "disable", DEMO, "--reason", "test")
        disabled_at = time.monotonic()
        pending = {server.url, second.url}
        while pending and time.monotonic() - disabled_at < 1.0:
            for url in list(pending):
                response = httpx.post(f"{url}/v1/chat/completions", json=body, headers=headers)
                if response.status_code == 403:
                    assert response.json()["error"]["code"] == "model_disabled"
                    pending.discard(url)
            time.sleep(0.02)
        assert not pending, f"still serving after 1 s: {pending}"
        egide(env, "models", "enable", DEMO)
        time.sleep(0.6)
        response = httpx.post(f"{second.url}/v1/chat/completions", json=body, headers=headers)
        assert response.status_code == 200
        assert second.refused_connections() == []
    finally:
        second.stop()
