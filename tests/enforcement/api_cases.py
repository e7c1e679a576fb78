"""How to exercise each API route as each kind of caller: one entry per route.

A route added to the app without an entry here (or in `PUBLIC`, with the
reason it needs no credential) fails `test_enforcement.py::test_every_route_has_a_case`.
Adding a case is one entry: the route, the journal action(s) it writes, and
`call(world, client, caller, context)` sending the request as `caller`.
`prepare(world)` builds what the call needs (a proposal id…) once per caller.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.enforcement.world import PLAN_PROBLEM, WRONG_ROLES, World

Call = Callable[[World, TestClient, str | None, Any], httpx.Response]


@dataclass(frozen=True)
class Case:
    """One route: who may use it, who must be refused, what the journal must show.

    Attributes:
        method, path: The route as FastAPI declares it.
        actions: Journal actions the route may write (done or refused).
        call: Sends the request as a caller (None: no credential).
        ok: The caller who may; `ok_status` what it gets.
        wrong_roles: Callers whose roles do not allow the action.
        under: A caller cleared too low for what the call asks (None: no label involved).
        under_label: The working label `under` asks for (`X-Egide-Label`), if the call sends one.
        wrong_org: A caller of an organisation kept out of what the call reads (None: no
            organisation limit applies).
        prepare: Builds the call's context (e.g. a proposal id) before each call.
        objects: Whether the entry of a served call must name objects.
    """

    method: str
    path: str
    actions: tuple[str, ...]
    call: Call
    ok: str = "analyst"
    ok_status: int = 200
    wrong_roles: tuple[str, ...] = WRONG_ROLES
    under: str | None = "low"
    wrong_org: str | None = None
    prepare: Callable[[World], Any] | None = None
    objects: bool = True


def _label(caller: str | None, world: World, label: str | None) -> dict[str, str]:
    # The under-cleared callers ask for a working label above their clearance.
    if caller in ("low", "lowapprover") and label is None:
        label = "TS"  # TRÈS SECRET (a header is ASCII)
    return world.headers(caller, label)


def _chat(model: str, text: str = "Que transporte le convoi ?") -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}]}


def _search(collection: str | None) -> Call:
    def call(world: World, client: TestClient, caller: str | None, _: Any) -> httpx.Response:
        body: dict[str, Any] = {"query": "Opération HIBOU poste de commandement", "k": 5}
        if caller == "outsider" or collection:
            body["collection"] = collection or "cpcoonly"
        return client.post("/v1/knowledge/search", json=body, headers=world.headers(caller))

    return call


def _ask(world: World, client: TestClient, caller: str | None, _: Any) -> httpx.Response:
    body = {"question": "Où s'installe le poste de commandement ?", "collection": "cpcoonly"}
    return client.post("/v1/knowledge/ask", json=body, headers=_label(caller, world, None))


def _chat_call(world: World, client: TestClient, caller: str | None, _: Any) -> httpx.Response:
    return client.post(
        "/v1/chat/completions", json=_chat("echo-secret"), headers=_label(caller, world, None)
    )


def _rag_call(world: World, client: TestClient, caller: str | None, _: Any) -> httpx.Response:
    return client.post(
        "/v1/chat/completions",
        json=_chat("egide-rag:cpcoonly"),
        headers=_label(caller, world, None),
    )


def _embed(world: World, client: TestClient, caller: str | None, _: Any) -> httpx.Response:
    return client.post(
        "/v1/embeddings",
        json={"model": "echo-embed", "input": "convoi"},
        headers=_label(caller, world, None),
    )


def _models(world: World, client: TestClient, caller: str | None, _: Any) -> httpx.Response:
    return client.get("/v1/models", headers=_label(caller, world, None))


def _model(world: World, client: TestClient, caller: str | None, _: Any) -> httpx.Response:
    return client.get("/v1/models/echo-dr", headers=_label(caller, world, None))


def _synthesis(world: World, client: TestClient, caller: str | None, _: Any) -> httpx.Response:
    body = {"tasking": "Où s'installe le poste de commandement ?", "mode": "assembled"}
    body["document_ids"] = [world.secret_document]  # type: ignore[assignment]
    return client.post("/v1/intelligence/synthesis", json=body, headers=_label(caller, world, None))


def _create(world: World, client: TestClient, caller: str | None, _: Any) -> httpx.Response:
    body = {"kind": "report", "title": "Note", "content": {"text": "convoi"}, "label": "SECRET"}
    if caller == "low":
        body["label"] = "TRÈS SECRET"
    return client.post("/v1/proposals", json=body, headers=world.headers(caller))


def _list(world: World, client: TestClient, caller: str | None, _: Any) -> httpx.Response:
    return client.get("/v1/proposals", headers=world.headers(caller))


def _on_proposal(method: str, suffix: str, body: dict[str, Any] | None = None) -> Call:
    def call(world: World, client: TestClient, caller: str | None, pid: Any) -> httpx.Response:
        url = f"/v1/proposals/{pid}{suffix}"
        return client.request(method, url, json=body, headers=world.headers(caller))

    return call


def _suspend(world: World, client: TestClient, caller: str | None, _: Any) -> httpx.Response:
    body = {"suspended": False, "rationale": "reprise"}
    return client.post("/v1/admin/ai-suspension", json=body, headers=world.headers(caller))


def _documents(world: World, client: TestClient, caller: str | None, _: Any) -> httpx.Response:
    # The outsider names the collection its organisation is kept out of.
    params = {"collection": "cpcoonly"} if caller == "outsider" else {}
    return client.get("/v1/documents", params=params, headers=world.headers(caller))


def _upload(world: World, client: TestClient, caller: str | None, _: Any) -> httpx.Response:
    data: dict[str, Any] = {"collection": "cpcoonly"}
    if caller in ("low", "lowapprover"):
        data["replace"] = str(world.secret_document)  # a new version of what it may not read
    name = f"upload-{world.mark()}.txt"
    files = {"file": (name, f"NON PROTÉGÉ\n\nNote {name}.\n".encode(), "text/plain")}
    return client.post("/v1/documents", data=data, files=files, headers=world.headers(caller))


def _on_document(method: str, suffix: str = "", body: dict[str, Any] | None = None) -> Call:
    # Without a prepared document the call names the TRÈS SECRET one of `cpcoonly`.
    def call(world: World, client: TestClient, caller: str | None, did: Any) -> httpx.Response:
        url = f"/v1/documents/{did or world.secret_document}{suffix}"
        return client.request(method, url, json=body, headers=world.headers(caller))

    return call


def _audit(world: World, client: TestClient, caller: str | None, _: Any) -> httpx.Response:
    params = {"action": "document.", "limit": 50, "order": "desc"}
    return client.get("/v1/audit/entries", params=params, headers=world.headers(caller))


def _watchlist(world: World, client: TestClient, caller: str | None, _: Any) -> httpx.Response:
    # The under-cleared caller asks for a watchlist labelled above its clearance.
    label = "TRÈS SECRET" if caller == "low" else "NON PROTÉGÉ"
    body = {"name": f"veille-api-{world.mark()}", "terms": ["convoi"], "label": label}
    return client.post("/v1/watchlists", json=body, headers=world.headers(caller))


def _get(path: str, **params: Any) -> Call:
    def call(world: World, client: TestClient, caller: str | None, _: Any) -> httpx.Response:
        return client.get(path, params=params, headers=world.headers(caller))

    return call


def _plan_routes(world: World, client: TestClient, caller: str | None, _: Any) -> httpx.Response:
    # The under-cleared caller asks for a plan labelled above its clearance.
    label = "TRÈS SECRET" if caller == "low" else "SECRET"
    body = {"problem": PLAN_PROBLEM, "label": label, "time_limit": 0.2}
    answer = client.post("/v1/planning/routes", json=body, headers=world.headers(caller))
    if answer.status_code == 202:
        # Wait for the solve: journaling later, it would land in another test's entries.
        job = world.platform.planning_jobs.get(world.principal(caller or ""), answer.json()["id"])
        deadline = time.monotonic() + 60
        while job.state in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert job.state == "done", job.as_json()
    return answer


def _on_plan(method: str, suffix: str = "", body: dict[str, Any] | None = None) -> Call:
    def call(world: World, client: TestClient, caller: str | None, pid: Any) -> httpx.Response:
        url = f"/v1/planning/plans/{pid}{suffix}"
        return client.request(method, url, json=body, headers=world.headers(caller))

    return call


def _plan_job(world: World, client: TestClient, caller: str | None, job: Any) -> httpx.Response:
    return client.get(f"/v1/planning/jobs/{job}", headers=world.headers(caller))


_NOT_ANALYST = ("norole", "auditor", "operator")
# Document reads: analyst, admin, approver (evidence), classifier.
_NOT_READER = ("norole", "auditor", "operator")
_NOT_CLASSIFIER = ("analyst", "approver", "auditor", "operator", "norole", "scoped")
_DECIDERS = ("analyst", "norole", "auditor", "operator")


def _maintenance_model(world: World) -> str:
    """A SECRET model in the installation's maintenance model folder (trained once)."""
    import shutil

    from tests.enforcement.cli_cases import _maintenance

    files = _maintenance(world)
    target = world.platform.settings.data_dir / "maintenance" / "models" / "fd-secret"
    if not target.exists():
        shutil.copytree(files["model"], target)
    return "fd-secret"


def _maintenance_plan(
    world: World, client: TestClient, caller: str | None, model: Any
) -> httpx.Response:
    from tests.enforcement.cli_cases import _maintenance

    files = _maintenance(world)
    body = {
        "model": model,
        "fleet": files["fleet.txt"].read_text(encoding="utf-8"),
        "labels": ["DR"],
        "workshop": json.loads(files["workshop.json"].read_text(encoding="utf-8")),
        "lang": "fr",
    }
    return client.post("/v1/maintenance/plan", json=body, headers=world.headers(caller))


CASES: tuple[Case, ...] = (
    # The model is SECRET: `low` (NON PROTÉGÉ) may not plan with it, even on DR data.
    Case(
        "POST",
        "/v1/maintenance/plan",
        ("maintenance.plan",),
        _maintenance_plan,
        ok_status=201,
        prepare=_maintenance_model,
    ),
    Case("POST", "/v1/chat/completions", ("inference.chat",), _chat_call),
    # The same route naming the knowledge base: organisation limits apply.
    Case("POST", "/v1/chat/completions", ("knowledge.ask",), _rag_call, wrong_org="outsider"),
    Case("POST", "/v1/embeddings", ("inference.embed",), _embed),
    Case("GET", "/v1/models", ("model.list",), _models),
    Case("GET", "/v1/models/{model_id}", ("model.list",), _model),
    Case(
        "POST",
        "/v1/knowledge/search",
        ("knowledge.search",),
        _search(None),
        # The label filter runs in the SQL: the under-cleared caller is answered with
        # nothing it may not read (checked in `test_findings.py`), not refused.
        under=None,
        wrong_org="outsider",
    ),
    Case("POST", "/v1/knowledge/ask", ("knowledge.ask",), _ask, wrong_org="outsider"),
    Case(
        "POST",
        "/v1/intelligence/synthesis",
        ("synthesis.report",),
        _synthesis,
        ok_status=201,
        wrong_org="outsider",
    ),
    Case("POST", "/v1/proposals", ("proposal.create",), _create, ok_status=201),
    Case(
        "GET",
        "/v1/proposals",
        ("proposal.list",),
        _list,
        wrong_roles=("norole", "operator"),
        under=None,  # a listing filters by label in its SQL; `test_findings.py` checks it
        objects=False,
    ),
    Case(
        "GET",
        "/v1/proposals/{proposal_id}",
        ("proposal.read",),
        _on_proposal("GET", ""),
        wrong_roles=("norole", "operator"),
        prepare=lambda w: w.proposal("TRÈS SECRET"),
    ),
    Case(
        "POST",
        "/v1/proposals/{proposal_id}/approve",
        ("proposal.approve",),
        _on_proposal("POST", "/approve", {"rationale": "vu"}),
        ok="approver",
        wrong_roles=_DECIDERS,
        under="lowapprover",
        prepare=lambda w: w.proposal("SECRET"),
    ),
    Case(
        "POST",
        "/v1/proposals/{proposal_id}/reject",
        ("proposal.reject",),
        _on_proposal("POST", "/reject", {"rationale": "non"}),
        ok="approver",
        wrong_roles=_DECIDERS,
        under="lowapprover",
        prepare=lambda w: w.proposal("SECRET"),
    ),
    Case(
        "POST",
        "/v1/proposals/{proposal_id}/amend",
        ("proposal.amend",),
        _on_proposal("POST", "/amend", {"content": {"text": "autre"}, "rationale": "précision"}),
        ok="approver",
        wrong_roles=_DECIDERS,
        under="lowapprover",
        prepare=lambda w: w.proposal("SECRET"),
    ),
    Case(
        "POST",
        "/v1/proposals/{proposal_id}/dissent",
        ("proposal.dissent",),
        _on_proposal("POST", "/dissent", {"rationale": "désaccord"}),
        wrong_roles=_NOT_ANALYST,
        prepare=lambda w: w.proposal("TRÈS SECRET"),
    ),
    Case(
        "GET",
        "/v1/proposals/{proposal_id}/export",
        ("proposal.release", "proposal.read"),
        _on_proposal("GET", "/export"),
        wrong_roles=_NOT_ANALYST,
        prepare=lambda w: w.approved("TRÈS SECRET"),
    ),
    Case(
        "POST",
        "/v1/proposals/{proposal_id}/export",
        ("proposal.release", "proposal.read"),
        _on_proposal("POST", "/export"),
        wrong_roles=_NOT_ANALYST,
        prepare=lambda w: w.approved("TRÈS SECRET"),
    ),
    Case(
        "GET",
        "/v1/documents",
        ("document.list",),
        _documents,
        wrong_roles=_NOT_READER,
        under=None,  # a listing filters by label in its SQL; `test_gaps.py` checks it
        wrong_org="outsider",
    ),
    Case(
        "POST",
        "/v1/documents",
        ("document.ingest",),
        _upload,
        wrong_roles=_NOT_READER,
        wrong_org="outsider",
    ),
    Case(
        "GET",
        "/v1/documents/{document_id}",
        ("document.read",),
        _on_document("GET"),
        wrong_roles=_NOT_READER,
        wrong_org="outsider",
    ),
    # Raising a label: any reader cleared for the new one.
    Case(
        "POST",
        "/v1/documents/{document_id}/relabel",
        ("document.relabel",),
        _on_document("POST", "/relabel", {"label": "TRÈS SECRET"}),
        wrong_roles=_NOT_READER,
        wrong_org="outsider",
        prepare=lambda w: w.document("SECRET"),
    ),
    # Lowering a label is a declassification: the classifier role only.
    Case(
        "POST",
        "/v1/documents/{document_id}/relabel",
        ("document.relabel",),
        _on_document("POST", "/relabel", {"label": "NON PROTÉGÉ", "rationale": "déclassé"}),
        ok="classifier",
        wrong_roles=_NOT_CLASSIFIER,
        wrong_org="outsider",
        prepare=lambda w: w.document("SECRET"),
    ),
    Case(
        "DELETE",
        "/v1/documents/{document_id}",
        ("document.delete",),
        _on_document("DELETE"),
        ok="classifier",
        wrong_roles=_NOT_CLASSIFIER,
        wrong_org="outsider",
        prepare=lambda w: w.document("SECRET"),
    ),
    Case(
        "GET",
        "/v1/audit/entries",
        ("audit.read",),
        _audit,
        ok="auditor",
        wrong_roles=("analyst", "approver", "classifier", "operator", "norole"),
        under=None,  # entries are filtered by label in the SQL; `test_gaps.py` checks it
    ),
    Case("POST", "/v1/watchlists", ("watchlist.create",), _watchlist, ok_status=201),
    Case(
        "GET",
        "/v1/watchlists",
        ("watchlist.list",),
        _get("/v1/watchlists"),
        under=None,  # filtered by label in the SQL; tests/streams check it
        prepare=lambda w: w.watchlist(),
    ),
    Case(
        "GET",
        "/v1/alerts",
        ("alert.read",),
        _get("/v1/alerts", limit=500),
        under=None,  # filtered by label in the SQL; tests/streams check it
        prepare=lambda w: w.alert(),
    ),
    Case(
        "GET",
        "/v1/alerts/stream",
        ("alert.read",),
        _get("/v1/alerts/stream", duration=0.2),
        under=None,  # each event filtered by label; tests/streams check it
        objects=False,  # opening the feed is journaled; each alert given is journaled as read
    ),
    Case(
        "GET",
        "/v1/streams/channels",
        ("stream.channels",),
        _get("/v1/streams/channels"),
        under=None,  # counted from readable messages in the SQL; test_stream_leaks.py checks it
        prepare=lambda w: w.alert(),
    ),
    Case(
        "GET",
        "/v1/streams/channels/{channel:path}/summary",
        ("stream.summary",),
        _get("/v1/streams/channels/logistique/summary", window="1h"),
        under=None,  # drawn from readable messages in the SQL; test_stream_leaks.py checks it
        prepare=lambda w: w.alert(),
    ),
    Case(
        "POST",
        "/v1/planning/routes",
        ("plan.solve", "plan.queue"),
        _plan_routes,
        ok_status=202,
    ),
    Case(
        "GET",
        "/v1/planning/jobs/{job_id}",
        ("plan.job",),
        _plan_job,
        wrong_org="outsider",  # a job is its author's alone: anyone else gets 404
        prepare=lambda w: w.plan_job("TRÈS SECRET"),
    ),
    Case(
        "GET",
        "/v1/planning/plans/{plan_id}",
        ("plan.read",),
        _on_plan("GET"),
        wrong_roles=("norole", "auditor", "operator"),  # approvers read what they decide on
        wrong_org="outsider",
        prepare=lambda w: w.plan("TRÈS SECRET"),
    ),
    Case(
        "GET",
        "/v1/planning/plans/{plan_id}/map.svg",
        ("plan.read",),
        _on_plan("GET", "/map.svg"),
        wrong_roles=("norole", "auditor", "operator"),
        wrong_org="outsider",
        prepare=lambda w: w.plan("TRÈS SECRET"),
    ),
    Case(
        "POST",
        "/v1/planning/plans/{plan_id}/proposal",
        ("plan.propose", "plan.read", "proposal.create"),
        _on_plan("POST", "/proposal", {"title": "Ravitaillement", "rationale": "urgent"}),
        ok_status=201,
        wrong_org="outsider",
        prepare=lambda w: w.plan("TRÈS SECRET"),
    ),
    Case(
        "POST",
        "/v1/admin/ai-suspension",
        ("ai.resume",),
        _suspend,
        ok="admin",
        wrong_roles=("analyst", "approver", "auditor", "operator", "norole"),
        under=None,  # a platform switch: no labelled object
        objects=False,
    ),
)

# Routes that take no credential, and why.
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "liveness probe of the load balancer; answers only 'ok'",
    ("GET", "/readyz"): "readiness probe; names the models loaded, no labelled data",
    ("GET", "/metrics"): "Prometheus scrape on the enclave network; counters, no labelled data",
    ("GET", "/openapi.json"): "the API's own description (FastAPI); no data",
    ("HEAD", "/openapi.json"): "the API's own description (FastAPI); no data",
    ("GET", "/docs"): "interactive API documentation page; no data",
    ("HEAD", "/docs"): "interactive API documentation page; no data",
    ("GET", "/docs/oauth2-redirect"): "part of the documentation page; no data",
    ("HEAD", "/docs/oauth2-redirect"): "part of the documentation page; no data",
    ("GET", "/redoc"): "API documentation page; no data",
    ("HEAD", "/redoc"): "API documentation page; no data",
}
