"""A dispatcher in one process hears about rows committed by another at once (PostgreSQL: LISTEN/
NOTIFY; SQLite: a watcher of the file's data version)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import Engine, insert

from bot.adapters import orm
from bot.bootstrap import Container
from bot.domain import commands as c
from bot.notifications.dispatcher import Dispatcher, DispatchSettings
from bot.notifications.outbox import OutboxStore
from bot.notifications.wakeup import CHANNEL, PostgresWakeup, SqliteWakeup
from tests.conftest import FixedClock
from tests.integration.helpers import add_rooms, slot


@pytest.mark.parametrize("database_url", ["postgres", "sqlite"], indirect=True)
def test_a_commit_elsewhere_wakes_a_dispatcher_long_before_its_poll(
    container: Container, engine: Engine, clock: FixedClock
) -> None:
    add_rooms(container.bus, "102")
    delivered = threading.Event()
    sent: list[str] = []

    def record(row: object) -> None:
        sent.append(row.channel)  # type: ignore[attr-defined]
        if sent[-1] == "dm":  # the booker's DM: the row every lane's wake-up is checked by
            delivered.set()

    # a worker that would otherwise look only once an hour
    worker = Dispatcher(
        OutboxStore(engine),
        {"dm": record, "email": record, "card": record, "home": record},
        DispatchSettings(poll_seconds=3600),
        clock,
    )
    listener = (
        PostgresWakeup(engine, worker.wake)
        if engine.dialect.name == "postgresql"
        else SqliteWakeup(engine, worker.wake)
    )
    worker.listener = listener
    worker.start()
    try:
        assert listener.listening.wait(10)
        delivered.clear()
        sent.clear()
        # the web process: commits through its own bus, with no hook that could wake the worker
        assert container.bus.after_commit == []
        container.bus.handle(c.RequestBooking("102", *slot(clock.now, 1, 2), by="UB"))
        assert delivered.wait(10), "the worker was not woken by the commit"
    finally:
        worker.stop()
    assert "dm" in sent


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_any_statement_writing_outbox_rows_notifies_on_commit_only(engine: Engine) -> None:
    """The notification is the database's (a trigger), not each writer's: a plain insert into
    the outbox is heard once it commits, and a rolled back one never."""
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    row = {
        "channel": "dm",
        "recipient": "UB",
        "payload": {},
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": datetime.now(UTC),
        "created_at": datetime.now(UTC),
    }
    with psycopg.connect(dsn, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        with engine.connect() as conn:
            conn.execute(insert(orm.outbox), [row, {**row, "recipient": "UC"}])
            conn.rollback()
        assert list(listener.notifies(timeout=0.5)) == []
        with engine.begin() as conn:
            conn.execute(insert(orm.outbox), [row, {**row, "recipient": "UC"}])
        heard = list(listener.notifies(timeout=2, stop_after=1))
        assert [n.channel for n in heard] == [CHANNEL]
