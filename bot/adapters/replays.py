"""Signed requests already handled, so a replay inside Slack's window has no second effect.

A captured request stays validly signed for five minutes. Its signature is stored when it is
first admitted; a second arrival of the same signature, in this process or any other sharing the
database, is refused by the primary key. Rows older than the window are swept as new ones come.

Every request to the Slack endpoint pays for this insert before Bolt sees it, so it is one
statement that commits itself, sent on the driver's own connection from the pool: no
transaction around it (SQLite: the driver's autocommit; PostgreSQL: an engine of its own in
autocommit mode) and no round trip through SQLAlchemy's execution layer. That engine does not
ping a connection before each use: a connection the server dropped meanwhile fails the insert
with a disconnect, and the insert is tried once more on a fresh connection.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import OperationalError

from bot.adapters import orm
from bot.adapters.db import make_engine
from bot.adapters.signing import MAX_AGE_SECONDS

log = logging.getLogger(__name__)

#: Kept a little longer than the window, so clock skew between processes cannot reopen it.
KEEP = timedelta(seconds=2 * MAX_AGE_SECONDS)
SWEEP_EVERY_SECONDS = 60.0
#: On SQLite the insert needs the database's write lock; a request waits at most this long for
#: it before it is admitted on this process's own memory alone.
SQLITE_WAIT_SECONDS = 1.0
#: Connections of the PostgreSQL engine of the check: one per web thread in the insert at once
#: at most, and they are closed after this many seconds (a server or proxy may drop idle ones).
POOL_SIZE = 8
MAX_OVERFLOW = 8
RECYCLE_SECONDS = 1800


def replay_engine(engine: Engine) -> Engine:
    """The engine of the check, on ``engine``'s database: statements commit themselves."""
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "sqlite":
        if engine.url.database in (None, "", ":memory:"):
            return engine  # one connection holds the whole database: share it
        return make_engine(url, connect_args={"timeout": SQLITE_WAIT_SECONDS})
    return make_engine(
        url,
        isolation_level="AUTOCOMMIT",
        pool_pre_ping=False,
        pool_recycle=RECYCLE_SECONDS,
        pool_size=POOL_SIZE,
        max_overflow=MAX_OVERFLOW,
    )


class ReplayStore:
    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = replay_engine(engine)
        self.clock = clock
        self.memory = MemoryReplays(clock)
        self._lock = threading.Lock()
        self._next_sweep = 0.0
        dialect = self.engine.dialect
        compiled = insert(orm.seen_requests).compile(dialect=dialect)
        self._sql = str(compiled)
        self._positions: Sequence[str] | None = (
            compiled.positiontup if compiled.positional else None
        )
        column_type = orm.seen_requests.c.seen_at.type
        self._stored_time = column_type.dialect_impl(dialect).bind_processor(dialect)
        self._dbapi: Any = dialect.loaded_dbapi

    def first_time(self, signature: str) -> bool:
        """Record ``signature``; False if it was recorded before (the request is a replay)."""
        if not self.memory.first_time(signature):
            return False
        now = datetime.fromtimestamp(self.clock(), UTC)
        if self._sweep_due():
            self._sweep(now)
        try:
            return self._record(signature, now)
        except (OperationalError, self._dbapi.OperationalError) as exc:
            # SQLite's write lock held past the wait, or the database out of reach
            log.warning("replay check fell back to this process only: %s", exc)
        return True

    def _record(self, signature: str, now: datetime) -> bool:
        seen_at = self._stored_time(now) if self._stored_time is not None else now
        values = {"signature": signature, "seen_at": seen_at}
        params: Any = values if self._positions is None else [values[p] for p in self._positions]
        for attempt in (1, 2):
            connection = self.engine.raw_connection()
            try:
                cursor = connection.cursor()
                try:
                    cursor.execute(self._sql, params)
                finally:
                    cursor.close()
                connection.commit()  # a no-op in autocommit mode; a transaction otherwise
                return True
            except self._dbapi.IntegrityError:
                return False
            except self._dbapi.Error as exc:
                gone = self.engine.dialect.is_disconnect(exc, connection.dbapi_connection, None)
                if not gone or attempt == 2:
                    raise
                connection.invalidate(exc)  # the pool opens a fresh one for the second try
            finally:
                connection.close()
        raise AssertionError("unreachable")

    def _sweep(self, now: datetime) -> None:
        table = orm.seen_requests
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(table).where(table.c.seen_at < now - KEEP))
        except OperationalError as exc:  # the next sweep tries again
            log.warning("could not sweep old replay records: %s", exc.orig)

    def _sweep_due(self) -> bool:
        with self._lock:
            now = self.clock()
            if now < self._next_sweep:
                return False
            self._next_sweep = now + SWEEP_EVERY_SECONDS
            return True


class MemoryReplays:
    """The same check within one process only (a baseline server in the benchmarks)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_time(self, signature: str) -> bool:
        now = self.clock()
        with self._lock:
            if len(self._seen) > 10_000:
                horizon = now - KEEP.total_seconds()
                self._seen = {s: t for s, t in self._seen.items() if t > horizon}
            if signature in self._seen:
                return False
            self._seen[signature] = now
            return True
