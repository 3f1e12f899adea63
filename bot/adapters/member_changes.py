"""Slack's ``user_change`` reaches one process (the web process Slack calls), while a worker
running apart sends the notifications; the receiver records each change
(:class:`bot.adapters.repositories.SqlMemberChanges`) and every process brings the changes it has
not seen into its users.info cache before it claims outbox rows, so someone deactivated gets
nothing more from a worker that had their profile cached, and a new time zone or language counts
from its next message, not when the cache expires.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine, select

from bot.adapters import orm
from bot.adapters.db import READ_ONLY
from bot.adapters.directory import Directory

CHANGES = orm.member_changes.c


class MemberChangeFeed:
    """The recorded changes, read from the last one this process saw, into ``directory``. The
    first look reads every change still kept: for a cache that is still empty, forgetting is
    nothing, and someone deactivated is known to be gone without asking Slack."""

    def __init__(self, engine: Engine, directory: Directory) -> None:
        self.engine = engine
        self.directory = directory
        self._seen = 0
        # One statement: on PostgreSQL it needs no transaction around it (a round trip to begin
        # and one to end it, which about doubled its cost before every claim).
        postgres = engine.dialect.name == "postgresql"
        self._options = {"isolation_level": "AUTOCOMMIT"} if postgres else READ_ONLY
        #: Lanes claim in threads of their own: one reads while the others wait for what it
        #: read, so none claims before the changes committed so far are in the cache.
        self._lock = threading.Lock()

    def catch_up(self) -> int:
        """Apply the changes recorded since the last look; return how many."""
        with self._lock:
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
