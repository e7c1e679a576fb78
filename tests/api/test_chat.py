"""Chat completions through the gateway: answers, streams, labels, journal."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from egide.api.chat.service import ContentEvents
from tests.api.conftest import Site, chat_body


def sse_events(text: str) -> list[str]:
    """The `data:` payloads of a server-sent event stream."""
    return [line[6:] for line in text.splitlines() if line.startswith("data: ")]


def test_chat_answers_with_label_digest_and_usage(site: Site, client: TestClient) -> None:
    response = client.post("/v1/chat/completions", json=chat_body(), headers=site.auth())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "chat.completion"
    # The marking line first (EGIDE_MARKING_IN_CONTENT defaults to first-line).
    assert body["choices"][0]["message"] == {
        "role": "assistant",
        "content": "NON PROTÉGÉ\n\necho: hello world",
    }
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + 3
    info = body["egide"]
    assert info["label"] == "NON PROTÉGÉ"
    assert len(info["model_digest"]) == 64
    assert info["demo_model"] is False
    assert response.headers["X-Egide-Label"] == "NOT PROTECTED"
    assert response.headers["X-Egide-Model-Digest"] == info["model_digest"]
    assert response.headers["X-Egide-Demo-Model"] == "false"
    timing = dict(
        part.strip().split(";dur=") for part in response.headers["Server-Timing"].split(",")
    )
    assert set(timing) == {"engine", "egide"}
    assert float(timing["engine"]) > 0 and float(timing["egide"]) > 0


def test_stream_sends_chunks_then_done(site: Site, client: TestClient) -> None:
    body = chat_body("un deux trois", stream=True, stream_options={"include_usage": True})
    response = client.post("/v1/chat/completions", json=body, headers=site.auth())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "NON PROTÉGÉ\n\necho: un deux trois"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["completion_tokens"] == 4
    entries = site.journal()
    assert len(entries) == 1 and entries[0][0].details["stream"] is True


@given(
    model=st.one_of(st.text(), st.just('x", "content": null, "y')),
    text=st.one_of(st.text(), st.sampled_from(['"content": null', '\\"', "\u2028\n", "é 🛡"])),
)
def test_a_content_event_is_the_chunk_json_dumps_would_make(model: str, text: str) -> None:
    base: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
    }
    chunk = {
        **base,
        "choices": [
            {"index": 0, "delta": {"content": text}, "logprobs": None, "finish_reason": None}
        ],
    }
    expected = b"data: " + json.dumps(chunk, ensure_ascii=False).encode("utf-8") + b"\n\n"
    assert ContentEvents(base).encode(text) == expected


def test_output_label_is_join_of_working_label_and_model_label(
    site: Site, client: TestClient
) -> None:
    response = client.post(
        "/v1/chat/completions",
        json=chat_body(model="echo-secret-weights"),
        headers=site.auth("alice", "DIFFUSION RESTREINTE"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["egide"]["label"] == "SECRET"
    assert response.json()["egide"]["working_label"] == "DIFFUSION RESTREINTE"
    assert response.headers["X-Egide-Label"] == "SECRET"
    [(_entry, label)] = site.journal()
    assert label == "SECRET"


def test_every_request_is_journaled_with_hashes_and_counts(site: Site, client: TestClient) -> None:
    for text in ("first", "second"):
        client.post("/v1/chat/completions", json=chat_body(text), headers=site.auth("carol"))
    entries = site.journal()
    assert len(entries) == 2
    entry, label = entries[0]
    assert entry.actor == "user:carol"
    assert entry.objects == ["model:echo-dr"]
    assert label == "NON PROTÉGÉ"
    details = entry.details
    assert len(details["prompt_sha256"]) == 64 and len(details["output_sha256"]) == 64
    assert details["completion_tokens"] == 2
    assert details["model_digest"] and details["organisation"] == "DRM"
    assert details["latency_ms"] >= 0 and details["status"] == 200
    assert entries[0][0].details["prompt_sha256"] != entries[1][0].details["prompt_sha256"]
    with site.platform.database.transaction() as session:
        assert site.platform.journal.verify(session).ok


def test_json_schema_response_format(site: Site, client: TestClient) -> None:
    schema = {
        "type": "object",
        "properties": {"unit": {"type": "string"}, "count": {"type": "integer"}},
        "required": ["unit", "count"],
    }
    body = chat_body(
        response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": schema}}
    )
    response = client.post("/v1/chat/completions", json=body, headers=site.auth())
    assert response.status_code == 200
    assert json.loads(response.json()["choices"][0]["message"]["content"]) == {
        "unit": "echo",
        "count": 0,
    }
    body = chat_body(response_format={"type": "json_object"})
    response = client.post("/v1/chat/completions", json=body, headers=site.auth())
    assert isinstance(json.loads(response.json()["choices"][0]["message"]["content"]), dict)


def test_content_parts_and_developer_role(site: Site, client: TestClient) -> None:
    body = {
        "model": "echo-dr",
        "messages": [
            {"role": "developer", "content": "be brief"},
            {
                "role": "user",
                "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            },
        ],
    }
    response = client.post("/v1/chat/completions", json=body, headers=site.auth())
    assert response.json()["choices"][0]["message"]["content"] == "NON PROTÉGÉ\n\necho: ab"


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    "content",
    ["\ud800 convoi", [{"type": "text", "text": "convoi \udfff"}]],
    ids=["string", "part"],
)
def test_an_unpaired_surrogate_is_a_clear_400_not_a_500(
    client: TestClient, site: Site, content: Any, stream: bool
) -> None:
    body = chat_body(stream=stream)
    body["messages"][0]["content"] = content
    # json.dumps escapes the surrogate as `\ud800`, as a client's JSON encoder does.
    headers = {**site.auth(), "Content-Type": "application/json"}
    response = client.post("/v1/chat/completions", content=json.dumps(body), headers=headers)
    assert response.status_code == 400, response.text
    assert "surrogate" in response.json()["error"]["message"]
