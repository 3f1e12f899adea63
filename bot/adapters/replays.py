"""Signed requests already handled, so a replay inside Slack's window has no second effect.

A captured request stays validly signed for five minutes. Its signature is stored when it is
first admitted; a second arrival of the same signature, in this process or any other sharing the
database, is refused by the primary key. Rows older than the window are swept as new ones come.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.adapters import orm
from bot.adapters.db import make_engine
from bot.adapters.signing import MAX_AGE_SECONDS

#: Kept a little longer than the window, so clock skew between processes cannot reopen it.
log = logging.getLogger(__name__)

KEEP = timedelta(seconds=2 * MAX_AGE_SECONDS)
SWEEP_EVERY_SECONDS = 60.0
#: Built once: a statement made per request is compiled-cache-keyed per request, too.
_RECORD = insert(orm.seen_requests)


#: On SQLite the insert needs the database's write lock; a request waits at most this long for
#: it before it is admitted on this process's own memory alone.
SQLITE_WAIT_SECONDS = 1.0


class ReplayStore:
    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            url = engine.url.render_as_string(hide_password=False)
            engine = make_engine(url, connect_args={"timeout": SQLITE_WAIT_SECONDS})
        self.engine = engine
        self.clock = clock
        self.memory = MemoryReplays(clock)
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def first_time(self, signature: str) -> bool:
        """Record ``signature``; False if it was recorded before (the request is a replay)."""
        if not self.memory.first_time(signature):
            return False
        now = datetime.fromtimestamp(self.clock(), UTC)
        table = orm.seen_requests
        try:
            with self.engine.begin() as conn:
                if self._sweep_due():
                    conn.execute(delete(table).where(table.c.seen_at < now - KEEP))
                conn.execute(_RECORD, {"signature": signature, "seen_at": now})
        except IntegrityError:
            return False
        except OperationalError as exc:  # SQLite's write lock held past the wait
            log.warning("replay check fell back to this process only: %s", exc.orig)
        return True

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
