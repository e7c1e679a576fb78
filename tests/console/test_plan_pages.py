"""The plan page in process: the map, the routes, the proposal link; others get 404."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from egide.api import create_app
from tests.api.conftest import Site, build_site
from tests.console.test_sessions import sign_in

PROBLEM = {
    "dimensions": ["load"],
    "depots": [{"id": "D", "location": {"x": 0, "y": 0}}],
    "demands": [
        {"id": "U1", "location": {"x": 10, "y": 0}, "quantities": {"load": 30}},
        {"id": "U2", "location": {"x": 0, "y": 10}, "quantities": {"load": 30}},
    ],
    "vehicles": [{"id": "V", "start_depot": "D", "capacity": {"load": 100}}],
}


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    built = build_site(tmp_path / "data")
    yield built
    built.platform.close()


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    app = create_app(site.platform)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as test_client:
        yield test_client


def test_plan_page_map_routes_and_proposal_link(client: TestClient, site: Site) -> None:
    platform = site.platform
    alice = platform.identity.principal("alice")
    plan = platform.planning.solve(
        alice,
        PROBLEM,
        label=platform.policies.parse("DIFFUSION RESTREINTE"),
        time_limit=5,
        max_iterations=50,
    )
    proposal = platform.planning.propose(alice, plan.id, "Ravitaillement")
    sign_in(client, site, "alice")
    page = client.get(f"/plans/{plan.id}")
    assert page.status_code == 200, page.text
    assert f'src="/plans/{plan.id}/map.svg"' in page.text
    assert f'href="/proposals/{proposal.id}"' in page.text
    assert 'data-vehicle="V"' in page.text and "U1" in page.text
    assert "DIFFUSION RESTREINTE" in page.text
    shown = client.get(f"/proposals/{proposal.id}")
    assert shown.status_code == 200 and f'href="/plans/{plan.id}"' in shown.text
    svg = client.get(f"/plans/{plan.id}/map.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert "default-src 'none'" in svg.headers["Content-Security-Policy"]


def test_others_get_not_found(client: TestClient, site: Site) -> None:
    platform = site.platform
    plan = platform.planning.solve(
        platform.identity.principal("alice"),
        PROBLEM,
        label=platform.policies.parse("DIFFUSION RESTREINTE"),
        time_limit=5,
        max_iterations=50,
    )
    for who in ("bob", "carol"):  # another organisation; cleared too low
        client.cookies.clear()
        sign_in(client, site, who)
        assert client.get(f"/plans/{plan.id}").status_code == 404, who
        assert client.get(f"/plans/{plan.id}/map.svg").status_code == 404, who
