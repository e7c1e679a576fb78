"""One error shape per status, quotas (429 + Retry-After), priority, metrics, health, embeddings."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from egide.errors import Unavailable
from egide.inference.testing import EchoBackend
from tests.api.conftest import Site, build_site, chat_body


def assert_error(response, status: int, code: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    if code is not None:
        assert error["code"] == code
    return error


def test_validation_errors_are_400_with_param(site: Site, client: TestClient) -> None:
    response = client.post(
        "/v1/chat/completions", json={"model": "echo-dr", "messages": []}, headers=site.auth()
    )
    assert assert_error(response, 400, "invalid_request_error")["param"] == "messages"
    response = client.post(
        "/v1/chat/completions", json=chat_body(temperature=9), headers=site.auth()
    )
    assert assert_error(response, 400)["param"] == "temperature"
    response = client.post("/v1/chat/completions", content=b"{not json", headers=site.auth())
    assert_error(response, 400)


def test_context_overflow_is_400_with_counts(site: Site, client: TestClient) -> None:
    for stream in (False, True):
        body = chat_body(max_tokens=5000, stream=stream)
        response = client.post("/v1/chat/completions", json=body, headers=site.auth())
        error = assert_error(response, 400, "context_length_exceeded")
        assert "5000" in error["message"] and "4096" in error["message"]


def test_unknown_model_is_404(site: Site, client: TestClient) -> None:
    response = client.post(
        "/v1/chat/completions", json=chat_body(model="gpt-9"), headers=site.auth()
    )
    assert assert_error(response, 404, "not_found")["type"] == "not_found_error"
    response = client.post(
        "/v1/embeddings", json={"model": "echo-dr", "input": "x"}, headers=site.auth()
    )
    assert_error(response, 404)


def test_body_above_limit_is_413(data_dir: Path) -> None:
    site = build_site(data_dir, api_max_body_bytes=1000)
    with site.client() as client:
        response = client.post(
            "/v1/chat/completions", json=chat_body("x" * 2000), headers=site.auth()
        )
        assert_error(response, 413, "payload_too_large")

        def chunks():  # type: ignore[no-untyped-def]
            yield b'{"model": "echo-dr", "messages": [{"role": "user", "content": "'
            yield b"y" * 2000
            yield b'"}]}'

        response = client.post("/v1/chat/completions", content=chunks(), headers=site.auth())
        assert_error(response, 413)


def test_queue_full_is_503(site: Site, client: TestClient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    backend = client.app.state.gateway.deployments.get("echo-dr").backend  # type: ignore[attr-defined]

    async def full(request):  # type: ignore[no-untyped-def]
        raise Unavailable("model 'echo-dr' has 16 requests waiting already; retry later")

    monkeypatch.setattr(backend, "chat", full)
    response = client.post("/v1/chat/completions", json=chat_body(), headers=site.auth())
    assert assert_error(response, 503, "service_unavailable")["type"] == "service_unavailable_error"
    [(entry, _)] = site.journal()
    assert entry.details["status"] == 503 and entry.details["error"] == "service_unavailable"


def test_stream_failing_midway_ends_with_error_event(
    site: Site, client: TestClient, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    backend = client.app.state.gateway.deployments.get("echo-dr").backend  # type: ignore[attr-defined]
    original = EchoBackend.stream

    async def broken(request):  # type: ignore[no-untyped-def]
        async for chunk in original(backend, request):
            yield chunk
            raise Unavailable("every replica went down mid-answer")

    monkeypatch.setattr(backend, "stream", broken)
    response = client.post(
        "/v1/chat/completions", json=chat_body("a b c", stream=True), headers=site.auth()
    )
    assert response.status_code == 200
    assert "[DONE]" not in response.text
    assert response.text.rstrip().splitlines()[-2] == "event: error"
    assert '"code": "service_unavailable"' in response.text
    [(entry, _)] = site.journal()
    assert entry.details["error"] == "service_unavailable" and entry.details["stream"] is True


def test_request_rate_limit_is_429_with_retry_after(data_dir: Path) -> None:
    site = build_site(data_dir, rate_user_requests_per_minute=2)
    with site.client() as client:
        for _ in range(2):
            assert client.get("/v1/models", headers=site.auth()).status_code == 200
            response = client.post("/v1/chat/completions", json=chat_body(), headers=site.auth())
        assert response.status_code == 200
        response = client.post("/v1/chat/completions", json=chat_body(), headers=site.auth())
        assert_error(response, 429, "rate_limit_exceeded")
        assert int(response.headers["Retry-After"]) >= 1
        # Another user of the same organisation has their own bucket.
        response = client.post("/v1/chat/completions", json=chat_body(), headers=site.auth("carol"))
        assert response.status_code == 200


def test_token_quota_per_organisation_with_override(data_dir: Path) -> None:
    site = build_site(data_dir, rate_overrides={"org:DRM": {"tokens_per_minute": 10}})
    with site.client() as client:
        long = chat_body(" ".join(["word"] * 20))
        assert (
            client.post("/v1/chat/completions", json=long, headers=site.auth()).status_code == 200
        )
        response = client.post("/v1/chat/completions", json=chat_body(), headers=site.auth("carol"))
        assert_error(response, 429)
        assert "org:DRM tokens per minute" in response.json()["error"]["message"]
        assert "Retry-After" in response.headers
        response = client.post("/v1/chat/completions", json=chat_body(), headers=site.auth("bob"))
        assert response.status_code == 200


def test_priority_organisations_get_a_higher_priority(data_dir: Path) -> None:
    site = build_site(data_dir, priority_organisations=["EMA"], priority_level=7)
    with site.client() as client:
        backend = client.app.state.gateway.deployments.get("echo-dr").backend  # type: ignore[attr-defined]
        client.post("/v1/chat/completions", json=chat_body(), headers=site.auth("bob"))
        client.post("/v1/chat/completions", json=chat_body(), headers=site.auth("alice"))
    assert [r.priority for r in backend.requests] == [7, 0]


def test_metrics_health_and_readiness(site: Site, client: TestClient) -> None:
    client.post("/v1/chat/completions", json=chat_body(), headers=site.auth())
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    text = metrics.text
    assert 'egide_requests_total{endpoint="chat",model="echo-dr",status="200"} 1.0' in text
    assert 'egide_tokens_total{kind="completion",model="echo-dr"} 3.0' in text
    assert 'egide_model_queue_depth{model="echo-dr"} 0.0' in text
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and "echo-dr" in ready.json()["models"]


def test_two_apps_keep_separate_metrics(site: Site) -> None:
    with site.client() as first, site.client() as second:
        first.post("/v1/chat/completions", json=chat_body(), headers=site.auth())
        assert "echo-dr" not in second.get("/metrics").text.split("egide_requests_total")[-1][:200]


def test_embeddings_with_float_and_base64(site: Site, client: TestClient) -> None:
    body = {"model": "echo-embed", "input": ["alpha", "beta"]}
    response = client.post("/v1/embeddings", json=body, headers=site.auth())
    assert response.status_code == 200, response.text
    data = response.json()
    assert [d["index"] for d in data["data"]] == [0, 1]
    assert len(data["data"][0]["embedding"]) == 8
    assert data["egide"]["label"] == "NON PROTÉGÉ"
    body["encoding_format"] = "base64"
    encoded = client.post("/v1/embeddings", json=body, headers=site.auth()).json()
    assert isinstance(encoded["data"][0]["embedding"], str)
    entries = site.journal("inference.embed")
    assert len(entries) == 2 and entries[0][0].details["inputs"] == 2
