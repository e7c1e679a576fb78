"""One database handle for SQLite (embedded default) and PostgreSQL (production).

A :class:`Database` owns an engine, upgrades the schema with the Alembic
migrations shipped in this package, and hands out sessions bounded by one
transaction: one action, one transaction, audit entry included. Failures to
reach the server or open the file become :class:`egide.errors.Unavailable` or
:class:`egide.errors.ConfigurationError` with a message that says what to do.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, exc, make_url, text
from sqlalchemy.engine import URL, ExceptionContext
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import UserDefinedType

from egide.core.digest import storage_json
from egide.errors import ConfigurationError, Conflict, Unavailable

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Any constant works; it only has to be the same for every Égide process.
_MIGRATION_LOCK = 0x45474944  # "EGID"
_SQLITE_BUSY_TIMEOUT_MS = 10_000
# deadlock_detected, serialization_failure: PostgreSQL aborted one side of a race.
_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def sqlite_module() -> ModuleType:
    """The DB-API module for SQLite: ``pysqlite3`` when installed, else the stdlib.

    ``pysqlite3`` can load extensions (sqlite-vec); many system Pythons cannot.
    """
    try:
        return importlib.import_module("pysqlite3.dbapi2")
    except ImportError:
        return importlib.import_module("sqlite3")


class PgVector(UserDefinedType[Any]):
    """pgvector's `vector` column type, as far as reflection needs to know it."""

    cache_ok = True

    def __init__(self, dimensions: int | None = None) -> None:
        self.dimensions = dimensions

    def get_col_spec(self, **kw: Any) -> str:
        return f"vector({self.dimensions})" if self.dimensions else "vector"


class Database:
    """A SQLAlchemy engine plus migrations and transaction boundaries.

    Args:
        url: A SQLAlchemy URL: ``sqlite:///<path>`` or
            ``postgresql+psycopg://user@host:5432/egide``.
        echo: Log every SQL statement (debugging only).
        sqlite_synchronous: SQLite's ``synchronous`` pragma in WAL mode: ``"normal"``
            (no sync per commit; a power cut may lose the last commits, never half
            of one) or ``"full"`` (sync at every commit).
    """

    def __init__(self, url: str, *, echo: bool = False, sqlite_synchronous: str = "normal") -> None:
        if sqlite_synchronous not in ("normal", "full"):
            raise ConfigurationError(
                f"EGIDE_SQLITE_SYNCHRONOUS must be normal or full, not {sqlite_synchronous!r}"
            )
        self._sqlite_synchronous = sqlite_synchronous.upper()
        try:
            self.url: URL = make_url(url)
        except exc.ArgumentError as err:
            raise ConfigurationError(
                f"invalid database URL {url!r}: set EGIDE_DATABASE_URL to "
                "sqlite:///<path> or postgresql+psycopg://user@host:5432/egide"
            ) from err
        self.engine: Engine = self._create_engine(echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    def _create_engine(self, echo: bool) -> Engine:
        backend = self.url.get_backend_name()
        if backend == "sqlite":
            return self._create_sqlite_engine(echo)
        if backend == "postgresql":
            if self.url.drivername == "postgresql":
                # psycopg 3 is the driver we ship; plain "postgresql" would mean psycopg2.
                self.url = self.url.set(drivername="postgresql+psycopg")
            engine = create_engine(
                self.url, echo=echo, pool_pre_ping=True, json_serializer=storage_json
            )
            # Reflection (schema checks) must recognise pgvector's type.
            engine.dialect.ischema_names.setdefault("vector", PgVector)  # type: ignore[attr-defined]
            event.listen(engine, "handle_error", self._translate_postgres_error)
            return engine
        raise ConfigurationError(
            f"unsupported database {backend!r}: EGIDE_DATABASE_URL must start with "
            "sqlite:/// or postgresql+psycopg://"
        )

    def _create_sqlite_engine(self, echo: bool) -> Engine:
        path = self.url.database or ""
        if path and path != ":memory:" and not path.startswith("file:"):
            _prepare_sqlite_directory(Path(path))
        engine = create_engine(
            self.url, echo=echo, module=sqlite_module(), json_serializer=storage_json
        )
        event.listen(
            engine,
            "connect",
            partial(_configure_sqlite_connection, synchronous=self._sqlite_synchronous),
        )
        event.listen(engine, "begin", _begin_sqlite_transaction)
        event.listen(engine, "handle_error", self._translate_sqlite_error)
        return engine

    def _translate_postgres_error(self, context: ExceptionContext) -> None:
        sqlstate = getattr(context.original_exception, "sqlstate", None)
        if sqlstate in _RETRYABLE_SQLSTATES:
            raise Unavailable(
                f"the transaction collided with a concurrent one ({_first_line(context)}): "
                "it was rolled back, retry the request"
            ) from context.original_exception
        if context.is_disconnect or context.connection is None:
            host = self.url.host or self.url.query.get("host") or "localhost"
            port = self.url.port or 5432
            raise Unavailable(
                f"cannot reach PostgreSQL at {host}:{port} ({_first_line(context)}): "
                "is the server running? check EGIDE_DATABASE_URL"
            ) from context.original_exception

    def _translate_sqlite_error(self, context: ExceptionContext) -> None:
        message = str(context.original_exception)
        if "unable to open database file" in message:
            raise ConfigurationError(
                f"cannot open SQLite database {self.url.database}: check that "
                "EGIDE_DATA_DIR is a writable directory"
            ) from context.original_exception
        if "database is locked" in message:
            raise Unavailable(
                "the SQLite database stayed locked by another writer for "
                f"{_SQLITE_BUSY_TIMEOUT_MS // 1000} s: retry, or use PostgreSQL for "
                "many concurrent writers"
            ) from context.original_exception

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on error.

        Yields:
            The session; do not commit it yourself.

        Raises:
            Conflict: The transaction broke a uniqueness constraint.
        """
        with self._sessions() as session:
            try:
                with session.begin():
                    yield session
            except exc.IntegrityError as err:
                if _is_unique_violation(err):
                    raise Conflict(
                        f"already exists ({str(err.orig).splitlines()[0]}): "
                        "choose another name or update the existing record"
                    ) from err
                raise

    def migrate(self) -> None:
        """Upgrade the schema to the newest migration; does nothing when already there."""
        config = _alembic_config()
        with self.engine.begin() as connection:
            if self.dialect == "postgresql":
                # Replicas starting together must not run the same migration twice.
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def current_revision(self) -> str | None:
        """The migration the database is at, or ``None`` for an empty database."""
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    @staticmethod
    def head_revision() -> str | None:
        """The newest migration shipped with this version of Égide."""
        return ScriptDirectory.from_config(_alembic_config()).get_current_head()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _prepare_sqlite_directory(path: Path) -> None:
    directory = path.expanduser().parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigurationError(
            f"cannot create the data directory {directory} ({err.strerror}): "
            "set EGIDE_DATA_DIR to a writable directory"
        ) from err
    if path.is_dir():
        raise ConfigurationError(
            f"{path} is a directory, not a database file: check EGIDE_DATABASE_URL"
        )


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any, *, synchronous: str) -> None:
    # Take transaction control away from the DB-API module, so that the
    # "begin" hook below decides how a transaction starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_TIMEOUT_MS}")
        # WAL: readers never block the writer, and with synchronous=NORMAL a commit
        # is an append to the log with no fsync (the log is synced at checkpoints).
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
    finally:
        cursor.close()
    _load_sqlite_vec(dbapi_connection)


def _load_sqlite_vec(dbapi_connection: Any) -> None:
    # The knowledge index computes vector distances inside its SQL (so the label
    # filter stays in the query); sqlite-vec provides them. The standard
    # library's sqlite3 may be built without extension loading: then dense
    # search says so when used, and everything else still works.
    try:
        import sqlite_vec

        dbapi_connection.enable_load_extension(True)
        sqlite_vec.load(dbapi_connection)
        dbapi_connection.enable_load_extension(False)
    except Exception:  # an optional capability: absent means no dense search on SQLite
        return


def _begin_sqlite_transaction(connection: Any) -> None:
    # BEGIN IMMEDIATE takes the write lock up front. A deferred transaction
    # that reads and then writes fails with SQLITE_BUSY when another writer
    # committed in between; taking the lock first makes writers queue
    # (busy_timeout) instead, and serialises the audit chain head.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _is_unique_violation(err: exc.IntegrityError) -> bool:
    sqlstate = getattr(err.orig, "sqlstate", None)
    return sqlstate == "23505" or "UNIQUE constraint failed" in str(err.orig)


def _first_line(context: ExceptionContext) -> str:
    lines = str(context.original_exception).strip().splitlines()
    return lines[0] if lines else type(context.original_exception).__name__
