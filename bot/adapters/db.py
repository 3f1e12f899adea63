"""Engine and session set-up for SQLite (the embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

#: Execution option for read-only work on SQLite: begin a deferred transaction, so readers are not
#: queued behind writers (WAL lets them read while one writer writes).
READ_ONLY = {"roombot_read_only": True}


class DatabaseUnusable(Exception):
    """DATABASE_URL names a database kind whose driver is not installed; one line to act on."""


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the transaction behaviour the overlap guarantee relies on.

    SQLite: the driver's own transaction handling is switched off and every write transaction
    starts with ``BEGIN IMMEDIATE``, which takes the database's write lock at once. Two requests for
    the same slot therefore run their overlap check and insert one after the other, never
    interleaved. WAL mode and a busy timeout let waiting writers queue instead of failing.

    PostgreSQL: the exclusion constraint decides; connections are pooled and checked before use.
    """
    try:
        return _make_engine(url, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        raise DatabaseUnusable(database_problem(exc, url)) from exc


def _make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
        engine = create_engine(url, **kwargs)
        _sqlite_transactions(engine, in_memory=parsed.database in (None, "", ":memory:"))
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def _sqlite_transactions(engine: Engine, *, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get("roombot_read_only", False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def database_problem(exc: BaseException, url: str | URL) -> str:
    """One line for an operator about why the database at ``url`` cannot be used.

    SQLAlchemy's errors carry the statement and a link and span many lines; what the person
    needs is which server, what it said, and where the setting is.
    """
    try:
        where = make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        where = "DATABASE_URL"
    if isinstance(exc, OperationalError):
        said = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        return f"cannot use the database {where} ({said}): check DATABASE_URL and the server"
    if isinstance(exc, NoSuchModuleError | ImportError):
        return (
            f"DATABASE_URL {where}: this database kind is not supported or its driver is not "
            "installed; use sqlite:///roombot.db or postgresql://user:password@host/db"
        )
    said = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"cannot use the database {where} ({said}): check DATABASE_URL"


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
