"""Whether each journal entry is stored exactly as the journal writes it.

An entry's hash covers the *parsed* values of its fields. Someone with
database access could therefore re-encode a stored entry without changing
what it parses to — escape ``p`` as ``\\u0070`` in its objects, add
whitespace, write its time in another text form SQLite still reads, store
its actor as a BLOB — and the hash would still verify while searches
(``egide audit list --object``, ``--since``, ``--actor``) no longer find it.
`first_reencoded` reads the raw stored form of every entry and names the
first one that is not byte for byte what the writer stores: JSON payloads in
:func:`egide.core.digest.storage_json` of their parsed value, and, on SQLite
(which keeps any value in any column), text columns as text, ``seq`` as an
integer and ``time`` in the form the database layer writes. PostgreSQL's
column types (``json`` keeps the text given to it; ``text``, ``bigint`` and
``timestamptz`` have one form) leave only the JSON payloads to check there.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from egide.core.digest import storage_json

# What SQLAlchemy's SQLite DateTime writes for the naive UTC time `UTCDateTime` hands it.
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"

_SQLITE_ROWS = text(
    "SELECT seq, typeof(seq), typeof(actor), typeof(action), typeof(time), time,"
    " typeof(objects), objects, typeof(details), details"
    " FROM audit_entries ORDER BY seq"
).execution_options(yield_per=1000)
_POSTGRES_ROWS = text(
    "SELECT seq, objects::text, details::text FROM audit_entries ORDER BY seq"
).execution_options(yield_per=1000)


def first_reencoded(session: Session) -> tuple[int, str] | None:
    """The first entry stored in another form than the writer's, and what is wrong with it."""
    postgres = session.get_bind().dialect.name == "postgresql"
    # Streamed; closed on return so that PostgreSQL's server-side cursor is released.
    with session.execute(_POSTGRES_ROWS if postgres else _SQLITE_ROWS) as rows:
        for row in rows:
            if postgres:
                seq, objects, details = row
                problem = _payload_problem("objects", objects) or _payload_problem(
                    "details", details
                )
            else:
                seq = row[0]
                problem = _sqlite_problem(*row)
            if problem is not None:
                return (seq if isinstance(seq, int) else _as_int(seq)), problem
    return None


def _sqlite_problem(
    seq: Any,
    seq_type: str,
    actor_type: str,
    action_type: str,
    time_type: str,
    time: Any,
    objects_type: str,
    objects: Any,
    details_type: str,
    details: Any,
) -> str | None:
    if seq_type != "integer":
        return f"its seq is stored as {seq_type}, not as an integer"
    for name, kind in (
        ("actor", actor_type),
        ("action", action_type),
        ("time", time_type),
        ("objects", objects_type),
        ("details", details_type),
    ):
        if kind != "text":
            return f"its {name} is stored as {kind}, not as text"
    try:
        written = datetime.strptime(time, _SQLITE_TIME).strftime(_SQLITE_TIME)
    except ValueError:
        written = None
    if written != time:
        return f"its time is stored as {time!r}, not in the form the journal writes"
    return _payload_problem("objects", objects) or _payload_problem("details", details)


def _payload_problem(name: str, stored: str) -> str | None:
    try:
        written = storage_json(json.loads(stored))
    except ValueError:
        return f"its {name} are not valid JSON"
    if written != stored:
        return (
            f"its {name} are stored re-encoded ({_excerpt(stored)} instead of {_excerpt(written)})"
        )
    return None


def _excerpt(value: str, width: int = 60) -> str:
    return repr(value if len(value) <= width else value[: width - 1] + "…")


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
