"""An API site per test: a platform on a fresh data directory, users, keys, echo-backed models.

Models are registered in the real model registry (tiny GGUF files), so labels,
accreditation, digests and the kill switch come from it; the `deployments`
setting serves them with the deterministic `echo` runtime, so these tests
exercise the whole gateway without a real model. The real model runs in
`test_e2e_*.py`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from egide.api import create_app
from egide.app import Platform
from egide.core.principals import Role
from egide.settings import Settings
from egide.store import AuditEntryRecord, LabelRecord

# name -> (weights label, accreditation, family)
ECHO_MODELS = {
    "echo-dr": ("NON PROTÉGÉ", "DIFFUSION RESTREINTE", "echo"),
    "echo-secret": ("NON PROTÉGÉ", "SECRET", "echo"),
    "echo-secret-weights": ("SECRET", "SECRET", "echo-sw"),
}
# username -> (organisation, clearance, default label)
USERS = {
    "alice": ("DRM", "SECRET", None),
    "bob": ("EMA", "DIFFUSION RESTREINTE", "DIFFUSION RESTREINTE"),
    "carol": ("DRM", "NON PROTÉGÉ", None),
}


def write_gguf(path: Path) -> Path:
    """A minimal valid GGUF v3 file (the registry checks magic and version)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 0) + path.name.encode())
    return path


def echo_deployments(**extra: Any) -> list[dict[str, Any]]:
    """The `deployments` setting serving every echo model, plus an echo embedding model."""
    entries: list[dict[str, Any]] = [
        {"name": name, "runtime": "echo", "family": family, **extra}
        for name, (_, _, family) in ECHO_MODELS.items()
    ]
    entries.append({"name": "echo-embed", "runtime": "echo", "kind": "embedding"})
    return entries


@dataclass
class Site:
    """One installation with its API app and the tokens of its users."""

    platform: Platform
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, **settings: Any) -> TestClient:
        """A test client of a new app over this platform (lifespan run on enter)."""
        return TestClient(create_app(self.platform), raise_server_exceptions=False)

    def auth(self, username: str = "alice", label: str | None = None) -> dict[str, str]:
        """Headers authenticating as `username`, optionally with a working label."""
        headers = {"Authorization": f"Bearer {self.tokens[username]}"}
        if label is not None:
            headers["X-Egide-Label"] = label
        return headers

    def journal(self, action: str = "inference.chat") -> list[tuple[AuditEntryRecord, str]]:
        """Journal entries of `action` with their label, oldest first."""
        with self.platform.database.transaction() as session:
            rows = session.execute(
                select(AuditEntryRecord, LabelRecord.canonical)
                .join(LabelRecord, AuditEntryRecord.label_id == LabelRecord.id)
                .where(AuditEntryRecord.action == action)
                .order_by(AuditEntryRecord.seq)
            ).all()
            for row in rows:
                session.expunge(row[0])
            return [(row[0], row[1]) for row in rows]


def build_site(data_dir: Path, database_url: str | None = None, **settings: Any) -> Site:
    """Initialise a data directory with users, keys and registered echo models."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "embeddings": False,
        "deployments": echo_deployments(),
        **settings,
    }
    if database_url:
        values["database_url"] = database_url
    platform = Platform(Settings(**values))
    platform.initialise()
    identity = platform.identity
    site = Site(platform)
    for org in sorted({org for org, _, _ in USERS.values()}):
        identity.add_organisation("test", org)
    policies = platform.policies
    for username, (org, clearance, default) in USERS.items():
        identity.add_user(
            "test",
            username,
            clearance=policies.parse_clearance(clearance),
            roles=[Role.ANALYST],
            organisation=org,
            default_label=policies.parse(default) if default else None,
        )
        _, site.tokens[username] = identity.create_key("test", username)
    for name, (label, accreditation, _) in ECHO_MODELS.items():
        platform.models.import_model(
            "test",
            write_gguf(data_dir.parent / "medium" / f"{name}.gguf"),
            name=name,
            label=label,
            accreditation=accreditation,
        )
    return site


@pytest.fixture
def site(data_dir: Path) -> Iterator[Site]:
    """A fresh installation on SQLite."""
    built = build_site(data_dir)
    yield built
    built.platform.close()


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    """A started app over `site`."""
    with site.client() as test_client:
        yield test_client


def chat_body(text: str = "hello world", model: str = "echo-dr", **extra: Any) -> dict[str, Any]:
    """A minimal chat request."""
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}
