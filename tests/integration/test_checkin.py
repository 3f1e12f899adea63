"""Check-in and auto-release on SQLite and PostgreSQL: a booking nobody checked into is released
once its room's window passes, with its notification rows in the same transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from bot.bootstrap import Container
from bot.domain import commands as c
from bot.domain.errors import InvalidBooking, InvalidTransition
from tests.conftest import ADMIN, FixedClock
from tests.integration.helpers import add_rooms, booking_list, bookings, events, outbox, slot

MINUTE = timedelta(minutes=1)


def _approved(container: Container, clock: FixedClock, room: str, start: float, by: str) -> int:
    booking_id: int = container.bus.handle(
        c.RequestBooking(room, *slot(clock.now, start, start + 1), by=by)
    )
    container.bus.handle(c.ApproveBooking(booking_id, by=ADMIN))
    return booking_id


def test_a_booking_nobody_checked_into_is_released_with_its_notices_in_one_transaction(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102", "201")
    container.bus.handle(c.UpdateRoom("102", by="cli", checkin_minutes=10))
    unattended = _approved(container, clock, "102", 1, "UBOB")
    attended = _approved(container, clock, "102", 2, "UCAROL")
    elsewhere = _approved(container, clock, "201", 1, "UDAN")  # no check-in in room 201

    clock.advance(timedelta(hours=1) + 9 * MINUTE)
    assert container.bus.handle(c.ReleaseUnattended()) == 0  # the window is still open
    clock.advance(MINUTE)
    assert container.bus.handle(c.ReleaseUnattended()) == 1
    assert container.bus.handle(c.ReleaseUnattended()) == 0  # released once

    status = {b["id"]: b["status"] for b in bookings(engine)}
    assert status == {unattended: "RELEASED", attended: "APPROVED", elsewhere: "APPROVED"}
    listed = {r["booking_id"]: r["status"] for r in booking_list(engine)}
    assert listed == status
    [released] = [e for e in events(engine) if e["type"] == "BookingReleased"]
    rows = [r for r in outbox(engine) if r["event_id"] == released["event_id"]]
    assert sorted((r["channel"], r["recipient"]) for r in rows) == [
        ("card", "approvals"),
        ("dm", "UBOB"),
        ("email", "UBOB"),
        ("home", ADMIN),
        ("home", "UBOB"),
    ]
    email = next(r for r in rows if r["channel"] == "email")
    assert email["payload"]["kind"] == "released" and email["payload"]["automatic"]
    assert email["payload"]["booking"]["sequence"] == 1  # the CANCEL outranks the invite

    # the room is free again for the rest of the slot
    free = container.bus.handle(
        c.RequestBooking("102", clock.now + MINUTE, clock.now + 30 * MINUTE, by="UERIN")
    )
    assert {b["id"]: b["status"] for b in bookings(engine)}[free] == "PENDING"

    # Carol checks in on time: her booking is never released
    clock.advance(timedelta(hours=1) - 10 * MINUTE)
    container.bus.handle(c.CheckIn(attended, by="UCAROL"))
    clock.advance(timedelta(minutes=30))
    assert container.bus.handle(c.ReleaseUnattended()) == 0
    [carol] = [r for r in booking_list(engine) if r["booking_id"] == attended]
    assert carol["checked_in_at"] is not None and carol["status"] == "APPROVED"


def test_check_in_needs_a_room_with_check_in(container: Container, clock: FixedClock) -> None:
    add_rooms(container.bus, "201")
    booking = _approved(container, clock, "201", 1, "UBOB")
    clock.advance(timedelta(hours=1))
    with pytest.raises(InvalidTransition, match="does not use check-in"):
        container.bus.handle(c.CheckIn(booking, by="UBOB"))


def test_the_booker_releases_from_the_reminder(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    container.bus.handle(c.UpdateRoom("102", by="cli", checkin_minutes=10))
    booking = _approved(container, clock, "102", 1, "UBOB")
    clock.advance(timedelta(minutes=50))
    container.bus.handle(c.SendReminders())
    [reminder] = [r for r in outbox(engine) if r["payload"].get("kind") == "reminder"]
    assert reminder["payload"]["checkin"] == 10
    container.bus.handle(c.ReleaseBooking(booking, by="UBOB"))
    assert bookings(engine)[0]["status"] == "RELEASED"


@pytest.mark.parametrize("minutes", [-1, 121])
def test_a_check_in_window_is_1_to_120_minutes(container: Container, minutes: int) -> None:
    add_rooms(container.bus, "102")
    with pytest.raises(InvalidBooking, match="check-in window"):
        container.bus.handle(c.UpdateRoom("102", by="cli", checkin_minutes=minutes))


def test_zero_turns_check_in_off(container: Container, clock: FixedClock) -> None:
    add_rooms(container.bus, "102")
    container.bus.handle(c.UpdateRoom("102", by="cli", checkin_minutes=10))
    container.bus.handle(c.UpdateRoom("102", by="cli", checkin_minutes=0))
    booking = _approved(container, clock, "102", 1, "UBOB")
    clock.advance(timedelta(hours=1, minutes=30))
    assert container.bus.handle(c.ReleaseUnattended()) == 0
    with pytest.raises(InvalidTransition):
        container.bus.handle(c.CheckIn(booking, by="UBOB"))
