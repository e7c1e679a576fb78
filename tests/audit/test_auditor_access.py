"""Auditors audit (finding 7): `GET /v1/audit/entries` and `egide audit list/tail`, one service.

The journal holds entries at every level, in compartments and with
releasability an auditor may lack. An auditor sees exactly the entries their
clearance dominates, never learns that others exist (they are neither
returned nor counted, and paging does not betray them), and every read and
every refusal is journaled.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from egide.audit.service import AuditQuery
from egide.core.principals import Principal, Role
from egide.errors import Forbidden, InvalidInput
from tests.api.conftest import Site, build_site

EGIDE = shutil.which("egide") or str(Path(sys.executable).parent / "egide")

# (label, actor, action, objects), appended in this order after the site's own entries.
SEEDED = [
    ("NON PROTÉGÉ", "user:alice", "document.read", ["document:1"]),
    ("DIFFUSION RESTREINTE", "user:bob", "document.read", ["document:2"]),
    ("SECRET", "user:alice", "proposal.approve", ["proposal:7"]),
    ("TRÈS SECRET", "user:alice", "proposal.approve", ["proposal:8"]),
    ("SECRET ROEM", "user:alice", "document.read", ["document:3"]),
    ("NATO SECRET REL TO DEU", "user:hans", "document.read", ["document:4"]),
    ("NATO SECRET", "user:hans", "proposal_x.read", ["proposal:7"]),
    ("SECRET", "user:alice", "knowledge.search", ["collection:a_b%"]),
]
# username -> (clearance, roles, scopes of the key)
AUDITORS: dict[str, tuple[str, list[Role], list[Role] | None]] = {
    "inspecteur": ("SECRET", [Role.AUDITOR], None),
    "controleur-dr": ("DIFFUSION RESTREINTE", [Role.AUDITOR], None),
    "inspecteur-ts": ("TRÈS SECRET ROEM", [Role.AUDITOR], None),
    "admin-ts": ("TRÈS SECRET", [r for r in Role if r is not Role.AUDITOR], None),
    "auditeur-scope": ("TRÈS SECRET", [Role.AUDITOR, Role.ANALYST], [Role.ANALYST]),
    "operateur": ("SECRET", [Role.OPERATOR], None),
}


def _seed(site: Site) -> None:
    platform = site.platform
    policies = platform.policies
    for username, (clearance, roles, scopes) in AUDITORS.items():
        platform.identity.add_user(
            "test",
            username,
            clearance=policies.parse_clearance(clearance),
            roles=roles,
            organisation="DRM",
        )
        _, site.tokens[username] = platform.identity.create_key("test", username, scopes=scopes)
    for marking, actor, action, objects in SEEDED:
        with platform.database.transaction() as session:
            platform.journal.append(
                session,
                actor=actor,
                action=action,
                objects=objects,
                label=policies.canonical(policies.parse(marking)),
                details={"marking": marking},
            )


@pytest.fixture
def audit_site(data_dir: Path) -> Iterator[Site]:
    site = build_site(data_dir)
    _seed(site)
    yield site
    site.platform.close()


@pytest.fixture
def api(audit_site: Site) -> Iterator[TestClient]:
    with audit_site.client() as client:
        yield client


def _get(api: TestClient, site: Site, who: str, **params: Any) -> Any:
    return api.get("/v1/audit/entries", params=params, headers=site.auth(who))


def _markings(body: dict[str, Any]) -> list[str]:
    return [e["details"].get("marking") for e in body["data"] if "marking" in e["details"]]


def test_auditor_reads_exactly_what_their_clearance_dominates(
    api: TestClient, audit_site: Site
) -> None:
    body = _get(api, audit_site, "inspecteur", limit=1000).json()
    assert _markings(body) == [
        "NON PROTÉGÉ",
        "DIFFUSION RESTREINTE",
        "SECRET",
        "NATO SECRET",
        "SECRET",
    ]
    dr = _get(api, audit_site, "controleur-dr", limit=1000).json()
    assert _markings(dr) == ["NON PROTÉGÉ", "DIFFUSION RESTREINTE"]
    ts = _get(api, audit_site, "inspecteur-ts", limit=1000).json()
    assert "TRÈS SECRET" in _markings(ts) and "SECRET ROEM" in _markings(ts)
    assert "NATO SECRET REL TO DEU" not in _markings(ts)  # a French auditor, even TS
    # Entries carry their hashes: an auditor can check the links they see.
    entry = body["data"][0]
    assert len(entry["hash"]) == 64 and len(entry["prev_hash"]) == 64


def test_hidden_entries_are_not_counted_nor_betrayed_by_paging(
    api: TestClient, audit_site: Site
) -> None:
    # Four document reads: NP and DR readable by the DR auditor, SECRET ROEM and
    # NATO SECRET REL TO DEU after them, hidden.
    first = _get(api, audit_site, "controleur-dr", action="document.", limit=1).json()
    assert _markings(first) == ["NON PROTÉGÉ"] and first["has_more"] is True
    after = first["data"][-1]["seq"]
    second = _get(api, audit_site, "controleur-dr", action="document.", after_seq=after).json()
    assert _markings(second) == ["DIFFUSION RESTREINTE"]
    assert second["has_more"] is False  # the two hidden entries that follow are not counted
    limited = _get(api, audit_site, "controleur-dr", action="document.", limit=2).json()
    assert limited["has_more"] is False
    everything = _get(api, audit_site, "controleur-dr", limit=1000).json()["data"]
    assert not {"SECRET", "TRÈS SECRET"} & {e["label"] for e in everything}


@pytest.mark.parametrize("who", ["alice", "admin-ts", "auditeur-scope", "operateur", "bob"])
def test_non_auditors_are_refused_and_the_refusal_is_journaled(
    api: TestClient, audit_site: Site, who: str
) -> None:
    response = _get(api, audit_site, who, action="proposal.")
    assert response.status_code == 403, response.text
    assert "auditor" in response.json()["error"]["message"]
    refusals = [
        (record.actor, record.details)
        for record, _ in audit_site.journal("audit.read")
        if record.details["outcome"] == "refused"
    ]
    assert refusals[-1][0] == f"user:{who}"
    assert refusals[-1][1]["filters"]["action"] == "proposal."


def test_unauthenticated_callers_get_401(api: TestClient) -> None:
    assert api.get("/v1/audit/entries").status_code == 401
    bad = api.get("/v1/audit/entries", headers={"Authorization": "Bearer egk_1_forged"})
    assert bad.status_code == 401


def test_every_read_is_journaled_under_the_label_of_what_was_read(
    api: TestClient, audit_site: Site
) -> None:
    _get(api, audit_site, "inspecteur", action="proposal.approve")
    _get(api, audit_site, "controleur-dr", actor="user:bob")
    reads = [
        (record.actor, label, record.details)
        for record, label in audit_site.journal("audit.read")
        if record.details["outcome"] == "allowed"
    ]
    assert reads[-2][:2] == ("user:inspecteur", "SECRET")
    assert reads[-2][2]["filters"]["action"] == "proposal.approve"
    assert reads[-2][2]["returned"] == 1
    assert reads[-1][:2] == ("user:controleur-dr", "DIFFUSION RESTREINTE")
    # The SECRET auditor's read is itself invisible to the DR auditor.
    seen = _get(api, audit_site, "controleur-dr", action="audit.read", limit=1000).json()
    assert all(e["actor"] != "user:inspecteur" for e in seen["data"])


def test_filters(api: TestClient, audit_site: Site) -> None:
    who = "inspecteur-ts"
    by_actor = _get(api, audit_site, who, actor="user:hans").json()["data"]
    assert [e["details"]["marking"] for e in by_actor] == ["NATO SECRET"]
    by_prefix = _get(api, audit_site, who, action="proposal.").json()["data"]
    assert {e["action"] for e in by_prefix} == {"proposal.approve"}  # not proposal_x.read
    by_object = _get(api, audit_site, who, object="proposal:7").json()["data"]
    assert [e["details"]["marking"] for e in by_object] == ["SECRET", "NATO SECRET"]
    # LIKE wildcards in a filter are literal characters.
    assert len(_get(api, audit_site, who, object="collection:a_b%").json()["data"]) == 1
    assert _get(api, audit_site, who, object="collection:a%").json()["data"] == []
    now = datetime.now(UTC)
    future = _get(api, audit_site, who, since=(now + timedelta(hours=1)).isoformat())
    assert future.json()["data"] == []
    past = _get(api, audit_site, who, until=(now - timedelta(days=1)).isoformat())
    assert past.json()["data"] == []
    newest = _get(api, audit_site, who, order="desc", limit=1, action="knowledge.")
    assert newest.json()["data"][0]["objects"] == ["collection:a_b%"]


@pytest.mark.parametrize(
    "params",
    [
        {"since": "2026-03-01T08:00:00"},  # no time zone
        {"until": "yesterday"},
        {"limit": 0},
        {"limit": 100_000},
        {"after_seq": -1},
        {"order": "sideways"},
    ],
)
def test_bad_filters_are_400_not_500(api: TestClient, audit_site: Site, params: Any) -> None:
    response = _get(api, audit_site, "inspecteur", **params)
    assert response.status_code == 400, response.text


def test_service_refuses_directly_too(audit_site: Site) -> None:
    # Every face goes through this one method: the rule is not in the router.
    alice: Principal = audit_site.platform.identity.authenticate(audit_site.tokens["alice"])
    with pytest.raises(Forbidden):
        audit_site.platform.audit.entries(alice, AuditQuery())
    inspecteur = audit_site.platform.identity.authenticate(audit_site.tokens["inspecteur"])
    with pytest.raises(InvalidInput, match="time zone"):
        audit_site.platform.audit.entries(inspecteur, AuditQuery(since=datetime(2026, 1, 1)))


def _cli(site: Site, *args: str, key: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EGIDE_DATA_DIR": str(site.platform.settings.data_dir)}
    env.pop("EGIDE_DATABASE_URL", None)
    env["EGIDE_API_KEY"] = site.tokens[key]
    return subprocess.run(
        [EGIDE, "audit", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_cli_list_and_tail_use_the_same_rules(audit_site: Site) -> None:
    listed = _cli(audit_site, "list", "--action", "proposal", key="controleur-dr")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == ""  # the proposal entries are all above DR
    listed = _cli(audit_site, "list", "--actor", "user:hans", key="inspecteur")
    assert listed.returncode == 0, listed.stderr
    assert "proposal_x.read" in listed.stdout and "document:4" not in listed.stdout
    tail = _cli(audit_site, "tail", "-n", "3", key="controleur-dr")
    lines = tail.stdout.splitlines()
    assert tail.returncode == 0 and len(lines) == 3
    assert all("SECRET" not in line for line in lines)
    refused = _cli(audit_site, "tail", key="alice")
    assert refused.returncode == 4 and "auditor" in refused.stderr
    assert "Traceback" not in refused.stderr
    outcomes = [r.details["outcome"] for r, _ in audit_site.journal("audit.read")]
    assert outcomes[-4:] == ["allowed", "allowed", "allowed", "refused"]


def test_the_service_filters_in_sql_on_both_databases(data_dir: Path, database_url: str) -> None:
    site = build_site(data_dir, database_url)
    try:
        _seed(site)
        audit = site.platform.audit
        identity = site.platform.identity
        inspecteur = identity.authenticate(site.tokens["inspecteur"])
        page = audit.entries(inspecteur, AuditQuery(object="proposal:7"))
        assert [e.details["marking"] for e in page.entries] == ["SECRET", "NATO SECRET"]
        page = audit.entries(inspecteur, AuditQuery(object="collection:a_b%", action="knowledge"))
        assert len(page.entries) == 1
        assert audit.entries(inspecteur, AuditQuery(object="collection:a%")).entries == []
        dr = identity.authenticate(site.tokens["controleur-dr"])
        page = audit.entries(dr, AuditQuery(action="document.", limit=2))
        assert [e.details["marking"] for e in page.entries] == [
            "NON PROTÉGÉ",
            "DIFFUSION RESTREINTE",
        ]
        assert page.has_more is False
        newest = audit.entries(dr, AuditQuery(newest_first=True, limit=1)).entries[0]
        assert newest.action == "audit.read"  # its own previous read
    finally:
        site.platform.close()
