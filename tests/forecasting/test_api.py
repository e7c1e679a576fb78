"""`POST /v1/maintenance/plan` through the real app: labels, status codes, no path reading."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from egide.api import create_app
from egide.app import Platform
from egide.core.principals import Role
from egide.settings import Settings
from tests.forecasting.fleet import fleet, in_service, lives, write_cmapss

WORKSHOP = {
    "cycles_per_period": 10,
    "periods": [{"name": "J1", "slots": 1}],
    "failure_cost": 1000,
    "service_kinds": {"revision": {"cost": 10, "parts": {}}},
    "stock": {},
}


def test_plan_route_labels_the_proposal_and_refuses_clearly(data_dir: Path) -> None:
    platform = Platform(Settings(data_dir=data_dir))
    platform.initialise()
    try:
        r = platform.policies
        identity = platform.identity
        for name, clearance, roles in (
            ("ml", "SECRET", [Role.ML_ENGINEER]),
            ("ana", "SECRET", [Role.ANALYST]),
            ("low", "DR", [Role.ANALYST]),
        ):
            identity.add_user("t", name, clearance=r.parse_clearance(clearance), roles=roles)
        keys = {n: identity.create_key("t", n)[1] for n in ("ml", "ana", "low")}
        write_cmapss(fleet(20, seed=11), str(data_dir.parent / "train.txt"))
        full = fleet(4, seed=5, first_unit=100)
        write_cmapss(in_service(full, dict.fromkeys(lives(full), 40)), str(data_dir.parent / "f"))
        trained = platform.maintenance.train(
            identity.principal("ml"),
            data_dir.parent / "train.txt",
            data_dir.parent / "m",
            labels=[r.parse("DR")],
            rounds=20,
        )
        models = data_dir / "maintenance" / "models"
        models.mkdir(parents=True)
        shutil.copytree(trained.directory, models / "fd-dr")
        client = TestClient(create_app(platform), raise_server_exceptions=False)
        client.__enter__()  # runs the app's start-up (the gateway)
        body = {
            "model": "fd-dr",
            "fleet": (data_dir.parent / "f").read_text(encoding="utf-8"),
            "labels": ["SECRET"],
            "workshop": WORKSHOP,
        }

        def post(who: str, **changes: object):  # type: ignore[no-untyped-def]
            return client.post(
                "/v1/maintenance/plan",
                json={**body, **changes},
                headers={"Authorization": f"Bearer {keys[who]}"},
            )

        done = post("ana")
        assert done.status_code == 201, done.text
        out = done.json()
        # DR model, SECRET fleet: the proposal is SECRET and needs two approvals.
        assert r.parse(out["label"]) == r.parse("SECRET") and out["required_approvals"] == 2
        assert len(out["risk"]["units"]) == 4 and "0 of 4 unit(s) serviced" in out["explanation"]
        assert post("low").status_code == 403  # not cleared for the fleet's label
        assert post("low", labels=["DR"]).status_code == 201  # DR model, DR fleet: fine
        for name in ("../m", "/etc", "fd-dr/..", "nope"):
            bad = post("ana", model=name)
            assert bad.status_code == 400 and "Traceback" not in bad.text, name
        bad = post("ana", workshop={**WORKSHOP, "stock": {"x": -1}})
        assert bad.status_code == 400 and "negative stock" in bad.text
        client.__exit__(None, None, None)
    finally:
        platform.close()
