"""Small readers of raw tables, so tests check what is stored, not what the code believes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from bot.adapters import orm
from bot.domain import commands
from bot.services.messagebus import MessageBus


def rows(engine: Engine, table: Any, *order: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        query = select(table).order_by(*order) if order else select(table)
        return [dict(r._mapping) for r in conn.execute(query)]


def bookings(engine: Engine) -> list[dict[str, Any]]:
    return rows(engine, orm.bookings, orm.bookings.c.id)


def booking_list(engine: Engine) -> list[dict[str, Any]]:
    return rows(engine, orm.booking_list, orm.booking_list.c.booking_id)


def outbox(engine: Engine) -> list[dict[str, Any]]:
    return rows(engine, orm.outbox, orm.outbox.c.id)


def approvals(engine: Engine) -> list[dict[str, Any]]:
    return rows(engine, orm.approvals, orm.approvals.c.booking_id)


def events(engine: Engine) -> list[dict[str, Any]]:
    return rows(engine, orm.event_log, orm.event_log.c.at)


def add_rooms(bus: MessageBus, *ids: str) -> None:
    for room_id in ids:
        bus.handle(commands.AddRoom(room_id, f"Room {room_id}", 6, by="cli"))


def slot(base: datetime, start_h: float, end_h: float) -> tuple[datetime, datetime]:
    return base + timedelta(hours=start_h), base + timedelta(hours=end_h)
