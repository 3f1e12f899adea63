"""Cross-process wake-ups: a commit that wrote outbox rows wakes every dispatcher.

A web process running with ``RUN_SCHEDULER=false`` commits outbox rows that a separate worker
delivers. Without a signal the worker finds them at its next poll (``OUTBOX_POLL_SECONDS``).

- PostgreSQL: ``LISTEN/NOTIFY``. A trigger on ``outbox`` notifies inside the writing transaction,
  so PostgreSQL delivers it only if that transaction commits, and folds repeats within it into one.
- SQLite has no such signal, but every connection can tell cheaply whether another one committed
  (``PRAGMA data_version``, which reads no table); only then is the outbox's highest id read, and
  a new one wakes the dispatcher. Looking every ``interval`` seconds costs a few microseconds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import Engine

log = logging.getLogger(__name__)

#: The LISTEN/NOTIFY channel that tells dispatchers new outbox rows were committed: a trigger on
#: ``outbox`` notifies it (migration 0017).
CHANNEL = "roombot_outbox"


class _Watcher:
    """A daemon thread that calls ``on_notify`` when other processes commit outbox rows;
    ``listening`` is set while it is connected and watching."""

    thread_name = "outbox-watch"

    def __init__(self, on_notify: Callable[[], None]) -> None:
        self.on_notify = on_notify
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        raise NotImplementedError


class PostgresWakeup(_Watcher):
    """Listens on :data:`CHANNEL` in a thread of its own and calls ``on_notify`` for each signal."""

    thread_name = "outbox-listen"

    def __init__(self, engine: Engine, on_notify: Callable[[], None]) -> None:
        super().__init__(on_notify)
        self.dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def _run(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    delay = 1.0
                    self.on_notify()  # rows committed while we were not listening
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self.on_notify()
            except psycopg.Error as exc:
                self.listening.clear()
                # The poll still delivers; the listener comes back when the database does.
                log.warning("outbox listener lost its connection (%s); retrying", exc)
                self._stop.wait(delay)
                delay = min(delay * 2, 30.0)


class SqliteWakeup(_Watcher):
    """Watches the SQLite file for outbox rows other processes commit; calls ``on_notify`` for
    each look that finds new ones. Same interface as :class:`PostgresWakeup`."""

    def __init__(
        self, engine: Engine, on_notify: Callable[[], None], interval: float = 0.05
    ) -> None:
        super().__init__(on_notify)
        self.engine = engine
        self.interval = interval

    def _run(self) -> None:
        # The driver's own connection, in autocommit: each look is a statement of its own, so
        # no read transaction is held between looks, and no write lock is ever taken.
        newest = "SELECT max(id) FROM outbox"
        while not self._stop.is_set():
            try:
                conn = self.engine.raw_connection()
                try:
                    cursor = conn.cursor()
                    seen = cursor.execute(newest).fetchall()[0][0]
                    version = cursor.execute("PRAGMA data_version").fetchall()[0][0]
                    self.listening.set()
                    self.on_notify()  # rows committed before we looked
                    while not self._stop.wait(self.interval):
                        now = cursor.execute("PRAGMA data_version").fetchall()[0][0]
                        if now == version:
                            continue
                        version = now
                        top = cursor.execute(newest).fetchall()[0][0]
                        if top is not None and (seen is None or top > seen):
                            seen = top
                            self.on_notify()
                finally:
                    conn.close()
            except Exception as exc:
                self.listening.clear()
                log.warning("outbox watcher failed (%s); retrying", exc)
                self._stop.wait(1.0)
