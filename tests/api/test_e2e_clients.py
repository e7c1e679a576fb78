"""End to end, as a chat client sees Égide: a real `egide serve` with SmolLM2 in llama.cpp,
driven by the official `openai` SDK — tools, json_schema, `n`, multimodal refusal, models
per caller, the marking in the text, and a trusted front end on loopback.

Nothing here is a test double: real model, real HTTP server, real client.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.api.server import Server, egide

pytestmark = pytest.mark.slow

DEMO = "smollm2-135m-demo"
HEADER = "X-OpenWebUI-User-Email"


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], str, str]:
    """The demo model, two organisations' analysts, three collections; env and two keys."""
    workdir = tmp_path_factory.mktemp("e2e-clients")
    env = {
        **os.environ,
        "EGIDE_DATA_DIR": str(workdir / "data"),
        "EGIDE_LLAMACPP_THREADS": "4",
        "EGIDE_LLAMACPP_N_CTX": "2048",
        "EGIDE_EMBEDDINGS": "false",
        "EGIDE_TRUSTED_PROXY_HEADER": HEADER,
        "EGIDE_TRUSTED_PROXIES": '["127.0.0.0/8"]',
    }
    env.pop("EGIDE_ALLOW_MODEL_REQUESTS", None)
    admin = egide(env, "init", "--clearance", "SECRET").strip().splitlines()[-1]
    egide(env, "models", "demo")
    for org in ("DRM", "EMA"):
        egide(env, "orgs", "add", org)
    for user, org in (("alice@drm", "DRM"), ("bob@ema", "EMA")):
        egide(
            env, "users", "add", user, "--clearance", "SECRET", "--roles", "analyst", "--org", org
        )
    as_admin = {**env, "EGIDE_API_KEY": admin}
    egide(as_admin, "collections", "add", "commune")
    egide(as_admin, "collections", "add", "renseignement", "--org", "DRM")
    alice = egide(env, "keys", "create", "alice@drm").strip().splitlines()[-1]
    bob = egide(env, "keys", "create", "bob@ema").strip().splitlines()[-1]
    return env, alice, bob


@pytest.fixture(scope="module")
def server(installation: tuple[dict[str, str], str, str]) -> Iterator[Server]:
    """The server, every non-loopback connection refused."""
    running = Server(installation[0], Path(installation[0]["EGIDE_DATA_DIR"]).parent, offline=True)
    yield running
    running.stop()


@pytest.fixture
def oa(server: Server, installation: tuple[dict[str, str], str, str]) -> openai.OpenAI:
    """The official OpenAI client, as alice."""
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=installation[1], max_retries=0)


def test_tool_call_with_arguments_valid_for_the_schema(oa: openai.OpenAI) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather of a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["city", "days"],
            },
        },
    }
    answer = oa.chat.completions.create(
        model=DEMO,
        messages=[{"role": "user", "content": "What is the weather in Paris for 2 days?"}],
        tools=[tool],  # type: ignore[list-item]
        tool_choice="required",
        max_tokens=80,
        temperature=0,
    )
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls", choice
    calls = choice.message.tool_calls or []
    assert calls and calls[0].function.name == "get_weather"  # type: ignore[union-attr]
    arguments = json.loads(calls[0].function.arguments)  # type: ignore[union-attr]
    assert isinstance(arguments["city"], str) and isinstance(arguments["days"], int)


def test_json_schema_valid_or_cut_with_length(oa: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"unit": {"type": "string"}, "count": {"type": "integer"}},
        "required": ["unit", "count"],
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "u", "schema": schema}}
    messages = [{"role": "user", "content": "Name a unit and its strength as JSON."}]
    whole = oa.chat.completions.create(
        model=DEMO,
        messages=messages,
        max_tokens=60,
        temperature=0,
        response_format=fmt,  # type: ignore[arg-type]
    )
    value = json.loads(whole.choices[0].message.content or "")
    assert isinstance(value["unit"], str) and isinstance(value["count"], int)
    cut = oa.chat.completions.create(
        model=DEMO,
        messages=messages,
        max_tokens=3,
        temperature=0,
        response_format=fmt,  # type: ignore[arg-type]
    )
    assert cut.choices[0].finish_reason == "length"


def test_n_answers(oa: openai.OpenAI) -> None:
    answer = oa.chat.completions.create(
        model=DEMO,
        messages=[{"role": "user", "content": "Say hello."}],
        max_tokens=8,
        n=2,
    )
    assert [c.index for c in answer.choices] == [0, 1]
    assert all(c.message.content for c in answer.choices)


def test_multimodal_refused(oa: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        oa.chat.completions.create(
            model=DEMO,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}},
                    ],
                }
            ],
        )
    assert "image_url" in str(refused.value) and "text" in str(refused.value)


def test_models_per_caller_and_marking_in_content(
    oa: openai.OpenAI, server: Server, installation: tuple[dict[str, str], str, str]
) -> None:
    alice = {m.id for m in oa.models.list()}
    assert {DEMO, "egide-rag:commune", "egide-rag:renseignement"} <= alice
    as_bob = openai.OpenAI(base_url=f"{server.url}/v1", api_key=installation[2], max_retries=0)
    bob = {m.id for m in as_bob.models.list()}
    assert "egide-rag:commune" in bob and "egide-rag:renseignement" not in bob
    with pytest.raises(openai.NotFoundError):
        as_bob.models.retrieve("egide-rag:renseignement")
    answer = oa.chat.completions.create(
        model=DEMO, messages=[{"role": "user", "content": "Hi"}], max_tokens=8
    )
    assert (answer.choices[0].message.content or "").startswith("NON PROTÉGÉ\n\n")
    stream = oa.chat.completions.create(
        model=DEMO, messages=[{"role": "user", "content": "Hi"}], max_tokens=8, stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text.startswith("NON PROTÉGÉ\n\n")


def test_trusted_proxy_from_loopback(
    server: Server, installation: tuple[dict[str, str], str, str]
) -> None:
    """The front end's key is bob's; the header names alice, believed from loopback."""
    front_end = openai.OpenAI(
        base_url=f"{server.url}/v1",
        api_key=installation[2],
        max_retries=0,
        default_headers={HEADER: "alice@drm"},
    )
    names = {m.id for m in front_end.models.list()}
    assert "egide-rag:renseignement" in names  # alice's organisation, not bob's
    unknown = httpx.get(
        f"{server.url}/v1/models",
        headers={"Authorization": f"Bearer {installation[2]}", HEADER: "mallory"},
    )
    assert unknown.status_code == 401
