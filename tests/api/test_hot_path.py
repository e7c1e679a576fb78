"""The fast request path keeps its guarantees: key memory, journal label ids, SQLite sync."""

from __future__ import annotations

import gc
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from egide.api import create_app
from egide.app import Platform
from egide.identity import apikeys
from egide.settings import Settings
from egide.store import AuditEntryRecord, Database, LabelRecord
from tests.api.conftest import Site


def test_a_key_revoked_by_another_process_stops_working_within_a_second(
    site: Site, data_dir: Path
) -> None:
    with site.client() as client:
        assert client.get("/v1/models", headers=site.auth("alice")).status_code == 200
        # Another process: its own platform and identity service over the same database.
        other = Platform(Settings(data_dir=data_dir, embeddings=False))
        try:
            other.identity.revoke_key("ops", site.tokens["alice"].split("_")[1])
        finally:
            other.close()
        revoked_at = time.monotonic()
        while True:
            status = client.get("/v1/models", headers=site.auth("alice")).status_code
            if status == 401:
                break
            assert status == 200
            assert time.monotonic() - revoked_at < 1.0, "the revoked key still works after 1 s"
            time.sleep(0.05)
    assert apikeys.RECHECK_SECONDS < 1.0


def test_a_key_revoked_here_stops_working_at_once(site: Site) -> None:
    with site.client() as client:
        assert client.get("/v1/models", headers=site.auth("bob")).status_code == 200
        site.platform.identity.revoke_key("ops", site.tokens["bob"].split("_")[1])
        assert client.get("/v1/models", headers=site.auth("bob")).status_code == 401


def test_remembered_keys_are_not_stored_in_clear_and_expire() -> None:
    recent = apikeys.RecentKeys(recheck_seconds=0.05)
    principal = object()
    recent.put("egk_abc_secret", principal, None)  # type: ignore[arg-type]
    assert recent.get("egk_abc_secret") is principal
    assert recent.get("egk_abc_other") is None
    assert not any(b"secret" in key for key in recent._seen)
    time.sleep(0.06)
    assert recent.get("egk_abc_secret") is None


def test_a_label_interned_by_a_rolled_back_append_is_not_remembered(site: Site) -> None:
    platform = site.platform
    marking = "TRÈS SECRET"  # no entry carries it yet: the first append interns it
    canonical = platform.policies.canonical(platform.policies.parse(marking))
    with pytest.raises(RuntimeError), platform.database.transaction() as session:
        platform.journal.append(session, actor="t", action="test.rollback", label=canonical)
        raise RuntimeError("roll back")
    with platform.database.transaction() as session:
        platform.journal.append(session, actor="t", action="test.kept", label=canonical)
    with platform.database.transaction() as session:
        label_id = session.scalar(select(LabelRecord.id).where(LabelRecord.canonical == canonical))
        actions = session.scalars(
            select(AuditEntryRecord.action).where(
                AuditEntryRecord.label_id == label_id, AuditEntryRecord.action.like("test.%")
            )
        ).all()
    assert actions == ["test.kept"]
    # Remembered now, and still right for the next append.
    with platform.database.transaction() as session:
        platform.journal.append(session, actor="t", action="test.again", label=canonical)
    with platform.database.transaction() as session:
        assert platform.journal.verify(session).ok


@pytest.mark.parametrize(("setting", "pragma"), [("normal", 1), ("full", 2)])
def test_sqlite_synchronous_setting(tmp_path: Path, setting: str, pragma: int) -> None:
    database = Database(f"sqlite:///{tmp_path / 'x.db'}", sqlite_synchronous=setting)
    try:
        with database.engine.connect() as connection:
            assert connection.execute(text("PRAGMA synchronous")).scalar() == pragma
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        database.dispose()


def test_an_unknown_sqlite_synchronous_value_is_refused(tmp_path: Path) -> None:
    from egide.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="normal or full"):
        Database(f"sqlite:///{tmp_path / 'x.db'}", sqlite_synchronous="off")


def test_every_request_is_still_journaled(site: Site) -> None:
    with site.client() as client:
        for _ in range(5):
            response = client.post(
                "/v1/chat/completions",
                json={"model": "echo-dr", "messages": [{"role": "user", "content": "hi"}]},
                headers=site.auth("alice"),
            )
            assert response.status_code == 200
    assert len(site.journal()) == 5


def test_no_answer_is_given_when_its_journal_entry_cannot_be_written(site: Site) -> None:
    database = site.platform.database
    with database.transaction() as session:
        session.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON audit_entries "
                "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
        )
    body = {"model": "echo-dr", "messages": [{"role": "user", "content": "hi"}]}
    with site.client() as client:
        refused = client.post("/v1/chat/completions", json=body, headers=site.auth("alice"))
        with database.transaction() as session:
            session.execute(text("DROP TRIGGER refuse"))
        answered = client.post("/v1/chat/completions", json=body, headers=site.auth("alice"))
    assert refused.status_code >= 500, refused.text
    assert "choices" not in refused.json() and "error" in refused.json()
    assert answered.status_code == 200
    assert len(site.journal()) == 1


def test_only_a_server_app_freezes_its_startup_objects(site: Site) -> None:
    gc.unfreeze()
    try:
        with TestClient(create_app(site.platform)) as client:
            assert client.get("/healthz").status_code == 200
            assert gc.get_freeze_count() == 0  # tests build many apps: nothing frozen
        with TestClient(create_app(site.platform, server=True)) as client:
            assert client.get("/healthz").status_code == 200
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
