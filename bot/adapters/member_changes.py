"""Slack's ``user_change`` reaches one process (the web process Slack calls), while a worker
running apart sends the notifications; the receiver records each change
(:class:`bot.adapters.repositories.SqlMemberChanges`) and every process brings the changes it has
not seen into its users.info cache before it claims outbox rows, so someone deactivated gets
nothing more from a worker that had their profile cached, and a new time zone or language counts
from its next message, not when the cache expires. A web process reads them too, in the
background after a request, at most every :data:`CATCH_UP_EVERY` seconds
(:meth:`MemberChangeFeed.catch_up_soon`), so its listeners do not keep what another web process
heard changed until the cache expires either.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from bot.adapters import orm
from bot.adapters.db import READ_ONLY, is_postgres
from bot.adapters.directory import Directory

log = logging.getLogger(__name__)

CHANGES = orm.member_changes.c
#: How long a web process's listeners may go on with a profile another process heard changed.
CATCH_UP_EVERY = 5.0


class MemberChangeFeed:
    """The recorded changes, read from the last one this process saw, into ``directory``. The
    first look reads every change still kept: for a cache that is still empty, forgetting is
    nothing, and someone deactivated is known to be gone without asking Slack."""

    def __init__(
        self,
        engine: Engine,
        directory: Directory,
        *,
        every: float = CATCH_UP_EVERY,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.directory = directory
        self.every = every
        self._now = monotonic
        self._seen = 0
        self._looked = -math.inf  # when the last look began, on ``monotonic``'s clock
        self._background: threading.Thread | None = None
        self._starting = threading.Lock()
        # One statement: on PostgreSQL it needs no transaction around it (a round trip to begin
        # and one to end it, which about doubled its cost before every claim).
        self._options = {"isolation_level": "AUTOCOMMIT"} if is_postgres(engine) else READ_ONLY
        #: Lanes claim in threads of their own: one reads while the others wait for what it
        #: read, so none claims before the changes committed so far are in the cache.
        self._lock = threading.Lock()

    def catch_up(self) -> int:
        """Apply the changes recorded since the last look; return how many."""
        with self._lock:
            self._looked = self._now()
            query = (
                select(CHANGES.id, CHANGES.user_id, CHANGES.deleted)
                .where(CHANGES.id > self._seen)
                .order_by(CHANGES.id)
            )
            with self.engine.connect().execution_options(**self._options) as conn:
                changes = conn.execute(query).all()
            for change in changes:
                self.directory.changed({"id": change.user_id, "deleted": change.deleted})
            if changes:
                self._seen = changes[-1].id
            return len(changes)

    def catch_up_soon(self) -> None:
        """After a request: when the last look is :attr:`every` seconds old and none is under
        way, look again on a thread of its own. The request does not wait for it (and a
        dispatcher's look before a claim counts as one)."""
        with self._starting:
            running = self._background is not None and self._background.is_alive()
            if running or self._now() - self._looked < self.every:
                return
            self._looked = self._now()  # a request meanwhile starts no second one
            self._background = threading.Thread(
                target=self._look, name="member-changes", daemon=True
            )
            self._background.start()

    def _look(self) -> None:
        try:
            self.catch_up()
        except SQLAlchemyError:  # the database is away: the next request tries again
            log.warning("could not read the member changes", exc_info=True)

    def wait(self, timeout: float | None = None) -> None:
        """Until the look started in the background (if any) is over."""
        with self._starting:
            background = self._background
        if background is not None:
            background.join(timeout)
