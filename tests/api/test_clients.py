"""Égide behind other chat clients: models per caller, the marking in the text, tools, `n`,
multimodal refusal, a trusted front end naming its user (echo models; the real model
runs in test_e2e_clients.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from egide.api import create_app
from egide.core.principals import Role
from egide.errors import ConfigurationError
from tests.api.conftest import Site, build_site, chat_body, echo_deployments
from tests.api.test_chat import sse_events

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def test_models_list_the_collections_the_caller_may_ask(site: Site, client: TestClient) -> None:
    knowledge = site.platform.knowledge
    identity, policies = site.platform.identity, site.platform.policies
    identity.add_user(
        "test", "admin", clearance=policies.parse_clearance("SECRET"), roles=[Role.ADMIN]
    )
    admin = identity.principal("admin")
    knowledge.create_collection(admin, "commune")
    knowledge.create_collection(admin, "drm-seule", organisations=["DRM"])
    knowledge.create_collection(admin, "ema-seule", organisations=["EMA"])
    alice = {m["id"] for m in client.get("/v1/models", headers=site.auth()).json()["data"]}
    assert {"egide-rag:commune", "egide-rag:drm-seule"} <= alice
    assert "egide-rag:ema-seule" not in alice
    bob = {m["id"] for m in client.get("/v1/models", headers=site.auth("bob")).json()["data"]}
    assert {"egide-rag:commune", "egide-rag:ema-seule"} <= bob
    assert "egide-rag:drm-seule" not in bob
    card = client.get("/v1/models/egide-rag:drm-seule", headers=site.auth())
    assert card.status_code == 200 and card.json()["collection"] == "drm-seule"
    # Another organisation's collection answers exactly as one that does not exist.
    hidden = client.get("/v1/models/egide-rag:ema-seule", headers=site.auth())
    missing = client.get("/v1/models/egide-rag:nowhere", headers=site.auth())
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["message"].replace("ema-seule", "X") == missing.json()["error"][
        "message"
    ].replace("nowhere", "X")
    listed = [e for e, _ in site.journal("model.list")]
    assert "model:egide-rag:drm-seule" in listed[0].objects
    assert all("ema-seule" not in o for o in listed[0].objects)


def test_marking_line_in_whole_and_streamed_answers_and_off(site: Site) -> None:
    with site.client() as client:
        body = chat_body(model="echo-secret")
        whole = client.post("/v1/chat/completions", json=body, headers=site.auth(label="SECRET"))
        assert whole.json()["choices"][0]["message"]["content"].startswith("SECRET\n\necho:")
        streamed = client.post(
            "/v1/chat/completions",
            json={**body, "stream": True},
            headers=site.auth(label="SECRET"),
        )
        chunks = [json.loads(e) for e in sse_events(streamed.text)[:-1]]
        assert chunks[0]["choices"][0]["delta"]["content"] == "SECRET\n\n"
        # A JSON answer is left as it is: a program parses it.
        fmt = chat_body(response_format={"type": "json_object"})
        answer = client.post("/v1/chat/completions", json=fmt, headers=site.auth())
        assert isinstance(json.loads(answer.json()["choices"][0]["message"]["content"]), dict)
    site.platform.settings.marking_in_content = "off"
    with site.client() as client:
        plain = client.post("/v1/chat/completions", json=chat_body(), headers=site.auth())
        assert plain.json()["choices"][0]["message"]["content"] == "echo: hello world"


def test_title_request_of_open_webui_is_labelled_and_journaled(
    site: Site, client: TestClient
) -> None:
    prompt = (
        "### Task:\nGenerate a concise, 3-5 word title summarizing the chat history.\n"
        '### Output:\nJSON format: { "title": "your concise title here" }\n'
        "### Chat History:\n<chat_history>\nUSER: effectifs du 2e régiment\n</chat_history>"
    )
    body = chat_body(prompt, model="echo-secret")
    response = client.post(
        "/v1/chat/completions", json=body, headers=site.auth(label="DIFFUSION RESTREINTE")
    )
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"].startswith("DIFFUSION RESTREINTE")
    entry, label = site.journal()[-1]
    assert label == "DIFFUSION RESTREINTE"
    assert entry.details["working_label"] == "DIFFUSION RESTREINTE"


def test_tools_answer_with_a_call_valid_for_the_schema(site: Site, client: TestClient) -> None:
    body = chat_body("weather in Brest?", tools=[WEATHER], tool_choice="required")
    response = client.post("/v1/chat/completions", json=body, headers=site.auth())
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    call = choice["message"]["tool_calls"][0]
    assert call["type"] == "function" and call["function"]["name"] == "get_weather"
    assert set(json.loads(call["function"]["arguments"])) == {"city"}
    # The tools reached the model as instructions and a constraint.
    assert len(site.journal()) == 1
    streamed = client.post(
        "/v1/chat/completions", json={**body, "stream": True}, headers=site.auth()
    )
    chunks = [json.loads(e) for e in sse_events(streamed.text)[:-1]]
    calls = [c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("tool_calls")]
    assert calls[0]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"tool_choice": {"type": "function", "function": {"name": "nope"}}}, "nope"),
        ({"parallel_tool_calls": True}, "parallel_tool_calls"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
    ],
)
def test_tools_refused_clearly_never_ignored(
    site: Site, client: TestClient, extra: dict[str, object], needle: str
) -> None:
    body = chat_body(tools=[WEATHER], **extra)
    response = client.post("/v1/chat/completions", json=body, headers=site.auth())
    assert response.status_code == 400
    assert needle in response.json()["error"]["message"]


def test_n_answers_each_journaled(site: Site, client: TestClient) -> None:
    response = client.post("/v1/chat/completions", json=chat_body(n=3), headers=site.auth())
    assert response.status_code == 200, response.text
    choices = response.json()["choices"]
    assert [c["index"] for c in choices] == [0, 1, 2]
    assert all(c["message"]["content"].endswith("echo: hello world") for c in choices)
    assert len(site.journal()) == 3
    streamed = client.post(
        "/v1/chat/completions", json=chat_body(n=2, stream=True), headers=site.auth()
    )
    chunks = [json.loads(e) for e in sse_events(streamed.text)[:-1]]
    finished = [c["choices"][0]["index"] for c in chunks if c["choices"][0]["finish_reason"]]
    assert finished == [0, 1]
    too_many = client.post("/v1/chat/completions", json=chat_body(n=9), headers=site.auth())
    assert too_many.status_code == 400


@pytest.mark.parametrize(
    "part",
    [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
    ],
)
def test_multimodal_parts_refused_naming_what_is_supported(
    site: Site, client: TestClient, part: dict[str, object]
) -> None:
    body = chat_body()
    body["messages"] = [{"role": "user", "content": [{"type": "text", "text": "vois"}, part]}]
    response = client.post("/v1/chat/completions", json=body, headers=site.auth())
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert repr(part["type"]) in message and 'type "text"' in message
    assert site.journal() == []


def test_trusted_proxy_names_its_user_only_from_its_addresses(data_dir: Path) -> None:
    site = build_site(
        data_dir, trusted_proxy_header="X-OpenWebUI-User-Email", trusted_proxies=["10.9.0.0/24"]
    )
    try:
        identity = site.platform.identity
        proxy_key = site.tokens["carol"]  # the front end's own key: decides nothing
        trusted = TestClient(create_app(site.platform), client=("10.9.0.4", 5000))
        other = TestClient(create_app(site.platform), client=("10.8.0.4", 5000))
        headers = {"Authorization": f"Bearer {proxy_key}", "X-OpenWebUI-User-Email": "alice"}
        body = chat_body(model="echo-secret")
        with trusted:
            answer = trusted.post(
                "/v1/chat/completions", json=body, headers={**headers, "X-Egide-Label": "SECRET"}
            )
            assert answer.status_code == 200, answer.text
            assert site.journal()[-1][0].actor.endswith("alice")
            identity.disable_user("test", "bob")
            refused = trusted.post(
                "/v1/chat/completions",
                json=body,
                headers={**headers, "X-OpenWebUI-User-Email": "bob"},
            )
            assert refused.status_code == 401
        with other:
            spoofed = other.post("/v1/chat/completions", json=body, headers=headers)
            assert spoofed.status_code == 401
            assert "EGIDE_TRUSTED_PROXIES" in spoofed.json()["error"]["message"]
            # Without the header, the other address still signs in with its own key.
            plain = other.post("/v1/chat/completions", json=chat_body(), headers=site.auth())
            assert plain.status_code == 200
        refusals = [e.details for e, _ in site.journal("auth.refused")]
        assert any("10.8.0.4" in str(d) for d in refusals)
    finally:
        site.platform.close()


def test_trusted_proxy_header_without_addresses_stops_start_up(data_dir: Path) -> None:
    site = build_site(data_dir)
    try:
        site.platform.settings.trusted_proxy_header = "X-Forwarded-User"
        with pytest.raises(ConfigurationError, match="EGIDE_TRUSTED_PROXIES"):
            create_app(site.platform)
        site.platform.settings.trusted_proxies = ["not-an-address"]
        with pytest.raises(ConfigurationError, match="not-an-address"):
            create_app(site.platform)
    finally:
        site.platform.close()


@pytest.mark.parametrize(
    "extra",
    [
        {"n": 2},
        {"n": 2, "stream": True},
        {"tool_choice": "required", "tools": [{"type": "function", "function": {"name": "f"}}]},
        {"response_format": {"type": "json_object"}},
        {"response_format": {"type": "json_schema", "json_schema": {"schema": {}}}},
    ],
    ids=["n", "n-stream", "tools", "json_object", "json_schema"],
)
def test_egide_rag_refuses_options_it_cannot_honour(
    client: TestClient, site: Site, extra: dict[str, Any]
) -> None:
    body = chat_body("Quand le convoi arrive-t-il ?", model="egide-rag:commune", **extra)
    response = client.post("/v1/chat/completions", json=body, headers=site.auth())
    assert response.status_code == 400, response.text
    assert "not supported" in response.json()["error"]["message"]


def test_an_answer_that_is_not_the_json_asked_for_is_withheld_and_journaled_so(
    data_dir: Path,
) -> None:
    # An engine that ignores the JSON format: its finished answer is not JSON.
    site = build_site(data_dir, deployments=echo_deployments(ignores_formats=True))
    client = site.client()
    body = chat_body(response_format={"type": "json_object"})
    with client:
        response = client.post("/v1/chat/completions", json=body, headers=site.auth())
    assert response.status_code == 502, response.text
    assert response.json()["error"]["code"] == "malformed_model_output"
    assert len(site.journal()) == 1  # the run itself: its tokens were spent
    withheld = site.journal("inference.withheld")
    assert len(withheld) == 1
    assert withheld[0][0].details["status"] == 502
    site.platform.close()
