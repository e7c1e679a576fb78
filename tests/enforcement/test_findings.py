"""Regression tests of issue 12's findings 1, 2, 3 and 9 (rate limits), on SQLite and PostgreSQL.

1. Faces differed: the CLI answered above the caller's clearance; searches,
   questions and proposal reads were not journaled; the home label was
   hard-coded.
2. Organisation limits were bypassed by a search with no collection, by
   `egide-rag:` with no name, and by synthesis with `document_ids`.
3. Roles were not checked (covered for every route and command by the
   enumeration tests; the scoped-key case is spelled out here).
9. Knowledge, RAG, synthesis and proposal routes had no rate limit; a
   4,000-character query cost seconds of CPU.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from egide.api import create_app
from egide.app import Platform
from egide.core.principals import Role
from egide.errors import Forbidden
from egide.knowledge.service import MAX_QUERY_CHARS
from egide.settings import Settings
from tests.api.conftest import build_site, chat_body, echo_deployments
from tests.enforcement.cli_cases import run
from tests.enforcement.world import World

SECRET_WORDS = "Opération HIBOU poste de commandement Varnie-Est"


def _entries(world: World, mark: int, action: str, actor: str) -> list[tuple[dict, str, list]]:  # type: ignore[type-arg]
    return [
        (e.details, label, list(e.objects))
        for e, label in world.entries_since(mark)
        if e.action == action and e.actor == actor
    ]


# 1. faces ----------------------------------------------------------------------------


def test_cli_ask_above_clearance_is_refused_like_the_api(world: World, client: TestClient) -> None:
    mark = world.mark()
    code, out = run(world, ["ask", "Où est le PC ?", "--label", "TRÈS SECRET"], "low")
    assert code == 4, out
    assert "TRÈS SECRET" not in out.splitlines()[0]  # no banner: no answer at all
    refused = _entries(world, mark, "knowledge.ask", "user:low")
    assert [d["status"] for d, _, _ in refused] == [403]
    api = client.post(
        "/v1/knowledge/ask", json={"question": "Où est le PC ?"}, headers=world.headers("low", "TS")
    )
    assert api.status_code == 403


def test_search_and_ask_are_journaled_on_every_face(world: World, client: TestClient) -> None:
    mark = world.mark()
    api = client.post(
        "/v1/knowledge/search", json={"query": SECRET_WORDS}, headers=world.headers("analyst")
    )
    assert api.status_code == 200 and api.json()["data"]
    code, _ = run(world, ["search", SECRET_WORDS], "analyst")
    assert code == 0
    searches = _entries(world, mark, "knowledge.search", "user:analyst")
    assert len(searches) == 2
    for details, label, objects in searches:
        # The entry is labelled with what was read (the TRÈS SECRET passage) and names it.
        assert label == "TRÈS SECRET" and any(o.startswith("chunk:") for o in objects)
        assert len(details["query_sha256"]) == 64 and SECRET_WORDS not in str(details)
    code, out = run(world, ["ask", "Où s'installe le poste de commandement ?"], "analyst")
    assert code == 0, out
    asked = _entries(world, mark, "knowledge.ask", "user:analyst")
    assert len(asked) == 1 and asked[0][1] == "TRÈS SECRET"


def test_proposal_reads_are_journaled(world: World, client: TestClient) -> None:
    pid = world.proposal("SECRET")
    mark = world.mark()
    assert client.get(f"/v1/proposals/{pid}", headers=world.headers("analyst")).status_code == 200
    assert client.get(f"/v1/proposals/{pid}", headers=world.headers("low")).status_code == 404
    read = _entries(world, mark, "proposal.read", "user:analyst")
    assert [(label, objects) for _, label, objects in read] == [("SECRET", [f"proposal:{pid}"])]
    refused = _entries(world, mark, "proposal.read", "user:low")
    assert [(d["status"], label) for d, label, _ in refused] == [(404, "NON PROTÉGÉ")]


def test_home_label_comes_from_the_home_policy(data_dir: Path) -> None:
    platform = Platform(Settings(data_dir=data_dir, embeddings=False, home_policy="NATO"))
    platform.initialise()
    identity = platform.identity
    identity.add_user("t", "a", clearance=platform.policies.parse_clearance("NS"), roles=[])
    principal = identity.principal("a")
    with pytest.raises(Forbidden):  # no role: refused, and the refusal is journaled
        platform.knowledge.search(principal, "convoi")
    with platform.database.transaction() as session:
        entries = platform.journal.entries(session, readable_labels=None)
        labels = {e.action: e.label for e in entries}
    assert labels["knowledge.search"] == "NATO SANS CLASSIFICATION"
    assert labels["user.add"] == "NATO SANS CLASSIFICATION"
    platform.close()


# 2. organisations --------------------------------------------------------------------


def _secret_hits(data: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    return [h for h in data if "HIBOU" in h["text"]]


def test_no_collection_search_keeps_to_the_callers_collections(
    world: World, client: TestClient
) -> None:
    body = {"query": SECRET_WORDS, "k": 20}
    mine = client.post("/v1/knowledge/search", json=body, headers=world.headers("analyst"))
    assert _secret_hits(mine.json()["data"])  # CPCO may read it: the test can fail
    theirs = client.post("/v1/knowledge/search", json=body, headers=world.headers("outsider"))
    assert theirs.status_code == 200 and not _secret_hits(theirs.json()["data"])
    for mode in ("fulltext", "dense"):
        other = client.post(
            "/v1/knowledge/search", json={**body, "mode": mode}, headers=world.headers("outsider")
        )
        assert not _secret_hits(other.json()["data"])
    code, out = run(world, ["search", SECRET_WORDS, "--k", "20"], "outsider")
    assert code == 0 and "HIBOU" not in out
    code, out = run(world, ["ask", "Où s'installe le poste de commandement ?"], "outsider")
    assert code == 0 and "HIBOU" not in out and "Varnie" not in out


def test_empty_rag_collection_is_refused_not_everything(world: World, client: TestClient) -> None:
    question = [{"role": "user", "content": "Où s'installe le poste de commandement ?"}]
    for model in ("egide-rag:", "egide-rag: "):
        reply = client.post(
            "/v1/chat/completions",
            json={"model": model, "messages": question},
            headers=world.headers("outsider"),
        )
        assert reply.status_code == 400, reply.text
        assert "HIBOU" not in reply.text and "Varnie" not in reply.text
    unknown = client.post(
        "/v1/chat/completions",
        json={"model": "egide-rag:cpcoonly", "messages": question},
        headers=world.headers("outsider"),
    )
    assert unknown.status_code == 404


def test_synthesis_by_document_id_keeps_to_the_callers_collections(
    world: World, client: TestClient
) -> None:
    body = {
        "tasking": "Où s'installe le poste de commandement ?",
        "document_ids": [world.secret_document],
        "mode": "assembled",
    }
    refused = client.post(
        "/v1/intelligence/synthesis", json=body, headers=world.headers("outsider")
    )
    assert refused.status_code == 404 and "HIBOU" not in refused.text
    code, out = run(
        world,
        ["synthesize", "Où est le PC ?", "-d", str(world.secret_document)],
        "outsider",
    )
    assert code == 5 and "HIBOU" not in out
    allowed = client.post("/v1/intelligence/synthesis", json=body, headers=world.headers("analyst"))
    assert allowed.status_code == 201 and "HIBOU" in allowed.text


# 3. roles ----------------------------------------------------------------------------


def test_a_key_scoped_to_approver_carries_only_approver(world: World, client: TestClient) -> None:
    scoped = world.principal("scoped")
    assert scoped.effective_roles == {Role.APPROVER}
    headers = world.headers("scoped")
    calls = [
        ("/v1/knowledge/search", {"query": "convoi"}),
        ("/v1/knowledge/ask", {"question": "convoi ?"}),
        ("/v1/proposals", {"kind": "report", "title": "t", "content": {}}),
        ("/v1/intelligence/synthesis", {"tasking": "convoi ?", "collection": "commune"}),
        (
            "/v1/chat/completions",
            {"model": "echo-dr", "messages": [{"role": "user", "content": "x"}]},
        ),
    ]
    for path, body in calls:
        assert client.post(path, json=body, headers=headers).status_code == 403, path


# 9. costs ----------------------------------------------------------------------------


def test_long_queries_are_refused_before_any_work(world: World, client: TestClient) -> None:
    long = "convoi " * (MAX_QUERY_CHARS // 7 + 10)
    headers = world.headers("analyst")
    for path, body in [
        ("/v1/knowledge/search", {"query": long}),
        ("/v1/knowledge/ask", {"question": long}),
        ("/v1/intelligence/synthesis", {"tasking": long, "collection": "commune"}),
    ]:
        assert client.post(path, json=body, headers=headers).status_code == 400, path
    rag = client.post(
        "/v1/chat/completions",
        json={"model": "egide-rag:commune", "messages": [{"role": "user", "content": long}]},
        headers=headers,
    )
    assert rag.status_code == 400
    code, _ = run(world, ["search", long], "analyst")
    assert code == 2


def test_costly_routes_are_rate_limited(data_dir: Path) -> None:
    site = build_site(data_dir, rate_user_requests_per_minute=2)
    identity, policies = site.platform.identity, site.platform.policies
    identity.add_user("t", "root", clearance=policies.parse_clearance("S"), roles=[Role.ADMIN])
    site.platform.knowledge.create_collection(identity.principal("root"), "commune")
    calls = [
        ("/v1/knowledge/search", {"query": "convoi", "collection": "commune"}),
        ("/v1/knowledge/ask", {"question": "convoi ?", "collection": "commune"}),
        ("/v1/intelligence/synthesis", {"tasking": "convoi ?", "collection": "commune"}),
        ("/v1/proposals", {"kind": "report", "title": "t", "content": {}}),
        (
            "/v1/chat/completions",
            {"model": "egide-rag:commune", "messages": [{"role": "user", "content": "convoi ?"}]},
        ),
    ]
    with TestClient(create_app(site.platform), raise_server_exceptions=False) as client:
        for number, (path, body) in enumerate(calls):
            # A fresh user per route: each route must take from the user's bucket itself.
            name = f"user{number}"
            cleared = policies.parse_clearance("S")
            identity.add_user("t", name, clearance=cleared, roles=[Role.ANALYST])
            _, site.tokens[name] = identity.create_key("t", name)
            statuses = []
            for _ in range(4):
                reply = client.post(path, json=body, headers=site.auth(name))
                statuses.append(reply.status_code)
                if reply.status_code == 429:
                    assert int(reply.headers["Retry-After"]) >= 1
                    break
            assert statuses[-1] == 429 and len(statuses) == 3, (path, statuses)
    site.platform.close()


def test_streamed_answers_are_counted_in_tokens_not_chunks(data_dir: Path) -> None:
    site = build_site(data_dir, deployments=echo_deployments(words_per_chunk=3))
    text = "un deux trois quatre cinq six sept huit neuf dix"
    body = chat_body(text, stream=True, stream_options={"include_usage": True})
    with TestClient(create_app(site.platform), raise_server_exceptions=False) as client:
        reply = client.post("/v1/chat/completions", json=body, headers=site.auth("alice"))
        whole = client.post("/v1/chat/completions", json=chat_body(text), headers=site.auth("bob"))
    events = [line[6:] for line in reply.text.splitlines() if line.startswith("data: {")]
    # The first event (role, and the marking line) is not a chunk of the answer.
    chunks = [e for e in events[1:] if '"content": "' in e and '"content": ""' not in e]
    usage = [json.loads(e)["usage"] for e in events if '"usage"' in e]
    assert len(chunks) == 4  # "echo:" and ten words, in chunks of three
    expected = whole.json()["usage"]["completion_tokens"]
    assert usage[0]["completion_tokens"] == expected == 11
    streamed = [e.details for e, _ in site.journal("inference.chat") if e.details["stream"]]
    assert [d["completion_tokens"] for d in streamed] == [11]
    site.platform.close()


def test_a_workflows_model_calls_are_journaled_as_model_use(
    world: World, client: TestClient
) -> None:
    mark = world.mark()
    body = {"tasking": "Quand arrive le convoi CLOU-7 ?", "collection": "commune"}
    body["model"] = "echo-secret"
    done = client.post("/v1/intelligence/synthesis", json=body, headers=world.headers("analyst"))
    assert done.status_code == 201, done.text
    calls = _entries(world, mark, "inference.chat", "user:analyst")
    assert len(calls) == 1
    details, label, objects = calls[0]
    assert label == "NON PROTÉGÉ"
    assert objects == ["model:echo-secret"] and details["completion_tokens"] > 0
