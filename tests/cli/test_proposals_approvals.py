"""`egide proposals …` through the real console script: the same approval rules as the API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from egide.app import Platform
from egide.core.principals import Role
from egide.settings import Settings
from tests.cli.test_proposals_export import _one_line, egide


@pytest.fixture
def installed(data_dir: Path) -> tuple[dict[str, str], int, int]:
    """An analyst's course of action, a damaged proposal, two approvers and their keys."""
    platform = Platform(Settings(data_dir=data_dir))
    platform.initialise()
    keys = {}
    for name, role in [
        ("analyst", Role.ANALYST),
        ("chef", Role.APPROVER),
        ("adjoint", Role.APPROVER),
    ]:
        platform.identity.add_user(
            "test", name, clearance=platform.policies.parse_clearance("SECRET"), roles=[role]
        )
        _, keys[name] = platform.identity.create_key("test", name)
    analyst = platform.identity.principal("analyst")
    plan = platform.proposals.create(
        analyst, kind="Course_of_Action", title="Franchissement", content={"text": "À 06h00."}
    )
    damaged = platform.proposals.create(analyst, kind="report", title="Abîmé", content={"t": 1})
    deep = '{"a":' * 400 + "1" + "}" * 400
    with platform.database.transaction() as session:
        session.execute(
            text("UPDATE proposals SET content = :v WHERE id = :id"), {"v": deep, "id": damaged.id}
        )
    platform.close()
    return keys, plan.id, damaged.id


def test_cli_applies_the_approval_rules(
    data_dir: Path, tmp_path: Path, installed: tuple[dict[str, str], int, int]
) -> None:
    keys, plan, damaged = installed
    listed = egide(data_dir, keys["chef"], "proposals", "list")
    assert listed.returncode == 0, listed.stderr
    assert "damaged" in listed.stdout and "course-of-action" in listed.stdout
    assert "0/2" in listed.stdout

    naive = ("proposals", "approve", str(plan), "--expires-at", "2030-01-31T18:00")
    _one_line(egide(data_dir, keys["chef"], *naive), 2, "no time zone")

    new = tmp_path / "new.json"
    new.write_text(json.dumps({"text": "À 05h00."}), encoding="utf-8")
    amend = ("proposals", "amend", str(plan), "--content", str(new), "--rationale", "avancé")
    assert egide(data_dir, keys["chef"], *amend).returncode == 0
    _one_line(egide(data_dir, keys["chef"], "proposals", "approve", str(plan)), 4, "amended")

    zoned = ("proposals", "approve", str(plan), "--expires-at", "2030-01-31T19:00+01:00")
    once = egide(data_dir, keys["adjoint"], *zoned)
    assert once.returncode == 0 and "(1/2)" in once.stdout, once.stderr
    _one_line(egide(data_dir, keys["chef"], "proposals", "approve", str(damaged)), 6, "damaged")
