"""Audit fixtures, and helpers that tamper with the journal as a DBA would."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from egide.app import Platform
from egide.audit import Journal, SigningKey
from egide.audit.chain import entry_hash
from egide.audit.reading import iter_entries
from egide.settings import Settings
from egide.store import Database


@pytest.fixture
def signing_key(data_dir: Path) -> SigningKey:
    """The installation's checkpoint key, created in the data directory."""
    return SigningKey.load_or_create(data_dir / "keys" / "audit-ed25519.pem")


@pytest.fixture
def journal(signing_key: SigningKey) -> Journal:
    """A journal that signs a checkpoint every 5 entries."""
    return Journal(signing_key, checkpoint_every=5)


@pytest.fixture
def filled(database: Database, journal: Journal) -> Iterator[Database]:
    """A database holding 12 entries (checkpoints after entries 5 and 10)."""
    for n in range(1, 13):
        with database.transaction() as session:
            journal.append(
                session,
                actor="user:alice",
                action="document.read",
                objects=[f"document:{n}"],
                label="FR DR" if n % 2 else "FR SECRET",
                details={"n": n, "note": "élément"},
            )
    yield database


def _tamper(database: Database, *statements: str, **params: Any) -> None:
    """Run SQL on the audit tables with the append-only triggers out of the way."""
    with database.engine.begin() as connection:
        if database.dialect == "postgresql":
            for table in ("audit_entries", "audit_checkpoints"):
                connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        else:
            names = connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            ).scalars()
            for name in list(names):
                connection.execute(text(f"DROP TRIGGER {name}"))
        for statement in statements:
            connection.execute(text(statement), params)
        if database.dialect == "postgresql":
            for table in ("audit_entries", "audit_checkpoints"):
                connection.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def _rechain(database: Database, from_seq: int) -> None:
    """Recompute hashes from ``from_seq`` on, as a forger who knows the format would."""
    with database.transaction() as session:
        entries = list(iter_entries(session))
    statements: Sequence[tuple[int, str, str]] = []
    prev = next(e.hash for e in entries if e.seq == from_seq - 1)
    for entry in entries:
        if entry.seq < from_seq:
            continue
        fields = {k: v for k, v in entry.__dict__.items() if k not in {"hash", "prev_hash"}}
        digest = entry_hash(prev_hash=prev, **fields)
        statements = [*statements, (entry.seq, prev, digest)]
        prev = digest
    for seq, prev_hash, digest in statements:
        _tamper(
            database,
            "UPDATE audit_entries SET prev_hash = :p, hash = :h WHERE seq = :s",
            p=prev_hash,
            h=digest,
            s=seq,
        )


@pytest.fixture
def tamper() -> Callable[..., None]:
    """``tamper(database, *sql, **params)``: edit the audit tables like a DBA."""
    return _tamper


@pytest.fixture
def rechain() -> Callable[[Database, int], None]:
    """``rechain(database, from_seq)``: recompute the chain like a careful forger."""
    return _rechain


def build_platform(data_dir: Path, database_url: str | None = None, **settings: Any) -> Platform:
    """An initialised installation (its own witness file, sealer running)."""
    values: dict[str, Any] = {"data_dir": data_dir, **settings}
    if database_url:
        values["database_url"] = database_url
    platform = Platform(Settings(**values))
    platform.initialise()
    return platform


def append_entries(platform: Platform, count: int, *, label: str = "DIFFUSION RESTREINTE") -> None:
    """`count` entries, one transaction each, as services write them."""
    for n in range(count):
        with platform.database.transaction() as session:
            platform.journal.append(
                session,
                actor="user:alice",
                action="document.read",
                objects=[f"document:{n}"],
                label=label,
                details={"n": n},
            )


def sqlite_attack(path: Path, *statements: str, **params: Any) -> None:
    """What an attacker holding the database file does: drop the triggers, then write SQL."""
    connection = sqlite3.connect(path)
    try:
        for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='trigger'"):
            connection.execute(f'DROP TRIGGER "{name}"')
        for statement in statements:
            connection.execute(statement, params)
        connection.commit()
    finally:
        connection.close()


@pytest.fixture
def postgres_url(postgres_admin: Engine) -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database (for tests that run only there)."""
    name = f"egide_test_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield postgres_admin.url.set(database=name).render_as_string(hide_password=False)
    with postgres_admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
