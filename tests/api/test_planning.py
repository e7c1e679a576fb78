"""`/v1/planning`: solves as jobs, plans and maps behind the label, proposals, 422 issues."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import Site

DR = "DIFFUSION RESTREINTE"


def _problem(**extra: Any) -> dict[str, Any]:
    return {
        "dimensions": ["load"],
        "depots": [{"id": "D", "location": {"x": 0, "y": 0}}],
        "demands": [
            {"id": "U1", "location": {"x": 10, "y": 0}, "quantities": {"load": 30}},
            {"id": "U2", "location": {"x": 0, "y": 10}, "quantities": {"load": 30}},
            {"id": "U3", "location": {"x": -10, "y": 0}, "quantities": {"load": 30}, **extra},
        ],
        "vehicles": [{"id": "V", "start_depot": "D", "capacity": {"load": 100}, "count": 2}],
    }


def _wait(client: TestClient, site: Site, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/v1/planning/jobs/{job_id}", headers=site.auth("alice"))
        assert job.status_code == 200, job.text
        if job.json()["state"] in ("done", "failed"):
            return dict(job.json())
        time.sleep(0.1)
    raise AssertionError("the planning job did not finish within 60 s")


def _plan(client: TestClient, site: Site) -> int:
    started = client.post(
        "/v1/planning/routes",
        json={"problem": _problem(), "label": DR, "time_limit": 0.5},
        headers=site.auth("alice"),
    )
    assert started.status_code == 202, started.text
    assert started.json()["state"] in ("queued", "running")
    assert started.headers["Location"] == f"/v1/planning/jobs/{started.json()['id']}"
    done = _wait(client, site, started.json()["id"])
    assert done["state"] == "done", done
    assert done["progress"]["time_limit_s"] == 0.5
    return int(done["plan_id"])


def test_solve_read_map_and_propose(site: Site, client: TestClient) -> None:
    plan_id = _plan(client, site)
    plan = client.get(f"/v1/planning/plans/{plan_id}", headers=site.auth("alice"))
    assert plan.status_code == 200
    assert plan.headers["X-Egide-Label"] == DR
    body = plan.json()
    assert {s for r in body["summary"]["routes"] for s in r["stops"]} == {"U1", "U2", "U3"}
    svg = client.get(f"/v1/planning/plans/{plan_id}/map.svg", headers=site.auth("alice"))
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.headers["X-Egide-Label"] == DR
    assert "default-src 'none'" in svg.headers["Content-Security-Policy"]
    assert "<svg" in svg.text
    made = client.post(
        f"/v1/planning/plans/{plan_id}/proposal",
        json={"title": "Ravitaillement", "rationale": "trois unités"},
        headers=site.auth("alice"),
    )
    assert made.status_code == 201, made.text
    assert made.json()["kind"] == "logistics-plan"
    assert made.json()["required_approvals"] == 2
    proposal = client.get(f"/v1/proposals/{made.json()['proposal_id']}", headers=site.auth("alice"))
    assert proposal.status_code == 200
    assert site.journal("plan.solve") and site.journal("plan.read")


def test_others_get_404_on_plan_job_map_and_proposal(site: Site, client: TestClient) -> None:
    started = client.post(
        "/v1/planning/routes",
        json={"problem": _problem(), "label": DR, "time_limit": 0.5},
        headers=site.auth("alice"),
    )
    job_id = started.json()["id"]
    plan_id = int(_wait(client, site, job_id)["plan_id"])
    proposal_id = client.post(
        f"/v1/planning/plans/{plan_id}/proposal",
        json={"title": "Ravitaillement"},
        headers=site.auth("alice"),
    ).json()["proposal_id"]
    # bob: another organisation; carol: same organisation, not cleared for DR.
    for who in ("bob", "carol"):
        paths = [
            f"/v1/planning/jobs/{job_id}",
            f"/v1/planning/plans/{plan_id}",
            f"/v1/planning/plans/{plan_id}/map.svg",
            f"/v1/proposals/{proposal_id}",
        ]
        for path in paths:
            assert client.get(path, headers=site.auth(who)).status_code == 404, (who, path)
        refused = client.post(
            f"/v1/planning/plans/{plan_id}/proposal",
            json={"title": "x"},
            headers=site.auth(who),
        )
        assert refused.status_code == 404, (who, refused.text)
    missing = client.get(f"/v1/planning/plans/{plan_id ^ 1}", headers=site.auth("alice"))
    hidden = client.get(f"/v1/planning/plans/{plan_id}", headers=site.auth("bob"))
    assert missing.json()["error"]["message"].replace(str(plan_id ^ 1), "N") == hidden.json()[
        "error"
    ]["message"].replace(str(plan_id), "N")


def test_infeasible_is_422_with_the_issues(site: Site, client: TestClient) -> None:
    problem = _problem()
    problem["demands"][0]["quantities"] = {"load": 500}
    answer = client.post(
        "/v1/planning/routes",
        json={"problem": problem, "time_limit": 0.5},
        headers=site.auth("alice"),
    )
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "infeasible_problem"
    assert error["issues"] and any("U1" in issue for issue in error["issues"])


def test_bad_input_and_limits(site: Site, client: TestClient) -> None:
    bad = client.post(
        "/v1/planning/routes",
        json={"problem": {"dimensions": "load"}, "time_limit": 1},
        headers=site.auth("alice"),
    )
    assert bad.status_code == 400 and "schema" in bad.json()["error"]["message"]
    long = client.post(
        "/v1/planning/routes",
        json={"problem": _problem(), "time_limit": 5000},
        headers=site.auth("alice"),
    )
    assert long.status_code == 400 and "time limit" in long.json()["error"]["message"]
    above = client.post(
        "/v1/planning/routes",
        json={"problem": _problem(), "label": "SECRET", "time_limit": 1},
        headers=site.auth("bob"),
    )
    assert above.status_code == 403
