"""Reminders, admin nudges and expiry: driven from the database, so each fires once, also across
a restart (a second container on the same database stands for the restarted process)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from bot.bootstrap import Container, bootstrap
from bot.domain import commands as c
from bot.domain.model import BookingStatus
from tests.conftest import ADMIN, FixedClock, make_settings
from tests.integration.helpers import add_rooms, booking_list, events, outbox


def _dms(engine: Engine, kind: str) -> list[dict]:
    return [r for r in outbox(engine) if r["channel"] == "dm" and r["payload"]["kind"] == kind]


def test_a_reminder_goes_out_once_within_the_lead_time_even_after_a_restart(
    container: Container, clock: FixedClock, engine: Engine, database_url: str
) -> None:
    add_rooms(container.bus, "102")
    start = clock.now + timedelta(hours=1)
    booking = container.bus.handle(
        c.RequestBooking("102", start, start + timedelta(hours=1), by="UB")
    )
    container.bus.handle(c.ApproveBooking(booking, by=ADMIN))
    pending = container.bus.handle(
        c.RequestBooking("102", start + timedelta(hours=2), start + timedelta(hours=3), by="UB")
    )

    clock.advance(timedelta(minutes=49))  # 11 minutes before the start: not yet
    assert container.bus.handle(c.SendReminders()) == 0
    clock.advance(timedelta(minutes=1))
    assert container.bus.handle(c.SendReminders()) == 1
    assert container.bus.handle(c.SendReminders()) == 0

    restarted = bootstrap(make_settings(database_url), clock=clock)
    clock.advance(timedelta(minutes=5))
    assert restarted.bus.handle(c.SendReminders()) == 0
    restarted.close()

    [reminder] = _dms(engine, "reminder")
    assert reminder["recipient"] == "UB" and reminder["payload"]["minutes"] == 10
    assert reminder["payload"]["booking"]["booking_id"] == booking
    assert all(r["payload"]["booking"]["booking_id"] != pending for r in _dms(engine, "reminder"))
    assert [e["type"] for e in events(engine)].count("BookingReminderDue") == 1


def test_admins_are_nudged_once_about_a_request_waiting_too_long(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    start = clock.now + timedelta(days=1)
    waiting = container.bus.handle(
        c.RequestBooking("102", start, start + timedelta(hours=1), by="UB")
    )
    clock.advance(timedelta(hours=1, minutes=59))
    assert container.bus.handle(c.NudgeAdmins()) == 0
    clock.advance(timedelta(minutes=1))
    assert container.bus.handle(c.NudgeAdmins()) == 1
    clock.advance(timedelta(hours=3))
    assert container.bus.handle(c.NudgeAdmins()) == 0
    [nudge] = _dms(engine, "nudge")
    assert nudge["recipient"] == ADMIN and nudge["payload"]["waiting_minutes"] == 120
    assert nudge["payload"]["booking"]["booking_id"] == waiting


def test_undecided_requests_expire_once_their_start_has_passed(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    start = clock.now + timedelta(minutes=30)
    booking = container.bus.handle(
        c.RequestBooking("102", start, start + timedelta(hours=1), by="UB")
    )
    assert container.bus.handle(c.ExpirePending()) == 0
    clock.advance(timedelta(minutes=31))
    assert container.bus.handle(c.ExpirePending()) == 1
    assert container.bus.handle(c.ExpirePending()) == 0
    [row] = booking_list(engine)
    assert row["booking_id"] == booking and row["status"] == BookingStatus.EXPIRED
    channels = {
        (r["channel"], r["recipient"])
        for r in outbox(engine)
        if r["payload"].get("kind", "") == "expired"
    }
    assert channels == {("dm", "UB"), ("email", "UB")}
    card_rows = [r for r in outbox(engine) if r["channel"] == "card"]
    assert len(card_rows) == 2  # posted when requested, refreshed when it expired
