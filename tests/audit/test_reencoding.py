"""A stored entry re-encoded so that its hash still verifies is reported (F6).

An entry's hash covers the parsed values of its fields, so a database
administrator can rewrite how a row is stored — ``\\u0064`` for ``d``, other
whitespace, a time SQLite still reads, a BLOB for a text — without breaking
the hash. Searches then miss the entry; `verify` must name it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from egide.audit import Journal, VerificationReport
from egide.audit.service import AuditQuery
from egide.core.principals import Principal, PrincipalKind, Role
from egide.store import Database

from .conftest import append_entries, build_platform, sqlite_attack
from .test_tampering import _verify_cli

Tamper = Callable[..., None]


def verify(database: Database, journal: Journal) -> VerificationReport:
    with database.transaction() as session:
        return journal.verify(session)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("objects", r'["\u0064ocument:7"]'),  # "d" escaped: a search for document:7 missed it
        ("objects", '[ "document:7" ]'),
        ("details", '{"n":7,"note":"élément"}'),  # compact and unescaped: same parsed value
        ("details", r'{"n": 7, "n": 7, "note": "\u00e9l\u00e9ment"}'),
    ],
)
def test_a_reencoded_payload_is_reported_with_its_seq(
    filled: Database, journal: Journal, tamper: Tamper, column: str, value: str
) -> None:
    assert verify(filled, journal).ok
    tamper(filled, f"UPDATE audit_entries SET {column} = :v WHERE seq = 7", v=value)
    report = verify(filled, journal)
    assert (report.ok, report.first_bad_seq, report.problem) == (False, 7, "reencoded")
    assert "entry 7" in report.message and column in report.message


def test_an_earlier_break_is_reported_first(
    filled: Database, journal: Journal, tamper: Tamper
) -> None:
    tamper(
        filled,
        r"""UPDATE audit_entries SET objects = '["\u0064ocument:9"]' WHERE seq = 9""",
        """UPDATE audit_entries SET details = '{"n": 300}' WHERE seq = 3""",
    )
    report = verify(filled, journal)
    assert (report.first_bad_seq, report.problem) == (3, "edited")


@pytest.mark.parametrize(
    ("statement", "what"),
    [
        ("UPDATE audit_entries SET actor = CAST(actor AS BLOB) WHERE seq = 2", "actor"),
        ("UPDATE audit_entries SET action = CAST(action AS BLOB) WHERE seq = 2", "action"),
        ("UPDATE audit_entries SET time = '0' || time WHERE seq = 2", "time"),
        ("UPDATE audit_entries SET time = time || 'Z' WHERE seq = 2", "time"),
        ("UPDATE audit_entries SET objects = CAST(objects AS BLOB) WHERE seq = 2", "objects"),
    ],
)
def test_sqlite_storage_tricks_are_reported(data_dir: Path, statement: str, what: str) -> None:
    platform = build_platform(data_dir, audit_seal_interval=0)
    try:
        append_entries(platform, 3)
        with platform.database.transaction() as session:
            platform.journal.checkpoint(session)
        sqlite_attack(platform.settings.data_dir / "egide.db", statement)
        report = verify(platform.database, platform.journal)
    finally:
        platform.close()
    assert (report.ok, report.first_bad_seq) == (False, 2), report.message
    assert report.problem in {"reencoded", "edited"}
    assert what in report.message or report.problem == "edited"


def test_searches_find_a_reencoded_entry_and_verify_names_it(data_dir: Path) -> None:
    platform = build_platform(data_dir, audit_seal_interval=0)
    try:
        append_entries(platform, 5, label="NON PROTÉGÉ")
        with platform.database.transaction() as session:
            platform.journal.checkpoint(session)
        sqlite_attack(
            platform.settings.data_dir / "egide.db",
            r"""UPDATE audit_entries SET objects = '["\u0064ocument:3"]' WHERE seq = 4""",
        )
        auditor = Principal(
            id=1,
            username="inspecteur",
            kind=PrincipalKind.USER,
            clearance=platform.policies.parse_clearance("SECRET"),
            roles=frozenset({Role.AUDITOR}),
        )
        page = platform.audit.entries(auditor, AuditQuery(object="document:3"))
        assert [entry.seq for entry in page.entries] == [4]
        run = _verify_cli(platform)
    finally:
        platform.close()
    assert run.returncode == 9, run.stderr
    assert "BROKEN at entry 4 (reencoded)" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.postgres
def test_postgresql_keeps_the_json_text_as_written(postgres_url: str, data_dir: Path) -> None:
    # The journal's columns are `json` there (kept verbatim), not `jsonb` (re-encoded on
    # insert): the check compares the text PostgreSQL gives back with what was written.
    platform = build_platform(data_dir, postgres_url, audit_seal_interval=0)
    try:
        append_entries(platform, 3)
        with platform.database.engine.connect() as connection:
            kinds = connection.exec_driver_sql(
                "SELECT data_type FROM information_schema.columns "
                "WHERE table_name = 'audit_entries' AND column_name IN ('objects', 'details')"
            ).scalars()
            assert set(kinds) == {"json"}
        assert verify(platform.database, platform.journal).ok
    finally:
        platform.close()
