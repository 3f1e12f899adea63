"""Changing bookings on SQLite and PostgreSQL: one transaction, the old slot given up and the new
one checked together, racing changes and requests for one slot ending with one winner."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.bootstrap import Container
from bot.domain import commands as c
from bot.domain.errors import InvalidBooking, RoomUnavailable
from bot.domain.model import BookingStatus
from tests.conftest import ADMIN, FixedClock
from tests.integration.helpers import (
    add_rooms,
    approvals,
    booking_list,
    bookings,
    events,
    outbox,
    slot,
)

HOUR = timedelta(hours=1)


def _approved(container: Container, clock: FixedClock, start: float, end: float, by: str) -> int:
    booking_id: int = container.bus.handle(
        c.RequestBooking("102", *slot(clock.now, start, end), by=by, title="Sync")
    )
    container.bus.handle(c.ApproveBooking(booking_id, by=ADMIN))
    return booking_id


def _by_id(engine: Engine) -> dict[int, dict[str, object]]:
    return {b["id"]: b for b in bookings(engine)}


def test_moving_an_approved_booking_sends_it_back_for_approval_with_its_notices(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102", "201")
    booking_id = _approved(container, clock, 2, 3, "UBOB")
    before = len(outbox(engine))

    assert container.bus.handle(
        c.ChangeBooking(
            booking_id,
            by="UBOB",
            room_id="201",
            starts_at=clock.now + 4 * HOUR,
            ends_at=clock.now + 5 * HOUR,
        )
    )

    [stored] = bookings(engine)
    assert (stored["room_id"], stored["status"], stored["sequence"]) == ("201", "PENDING", 1)
    assert stored["decided_by"] is None and stored["invited"]
    [row] = booking_list(engine)
    assert (row["room_id"], row["room_name"], row["status"]) == ("201", "Room 201", "PENDING")
    assert (row["was_room_id"], row["was_starts_at"]) == ("102", clock.now + 2 * HOUR)
    assert row["starts_at"] == clock.now + 4 * HOUR and row["sequence"] == 1
    [approval] = approvals(engine)
    assert (approval["status"], approval["decided_by"]) == ("REQUESTED", None)
    changed = [e for e in events(engine) if e["type"] == "BookingChanged"]
    assert len(changed) == 1
    new_rows = outbox(engine)[before:]
    assert {r["event_id"] for r in new_rows} == {changed[0]["event_id"]}
    assert sorted((r["channel"], r["recipient"]) for r in new_rows) == [
        ("card", "approvals"),
        ("dm", "UBOB"),
        ("email", "UBOB"),
        ("home", ADMIN),
        ("home", "UBOB"),
    ]
    dm = next(r for r in new_rows if r["channel"] == "dm")
    assert dm["payload"]["kind"] == "changed" and dm["payload"]["needs_approval"]
    assert dm["payload"]["booking"]["sequence"] == 1

    container.bus.handle(c.ApproveBooking(booking_id, by=ADMIN))
    assert bookings(engine)[0]["sequence"] == 2  # the new invite outranks the tentative one


def test_a_change_into_a_taken_slot_leaves_everything_as_it_was(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    mine = _approved(container, clock, 2, 3, "UBOB")
    _approved(container, clock, 4, 5, "UCAROL")
    tables = (bookings(engine), booking_list(engine), approvals(engine), outbox(engine))

    with pytest.raises(RoomUnavailable) as refused:
        container.bus.handle(c.ChangeBooking(mine, by="UBOB", ends_at=clock.now + 4.5 * HOUR))

    assert refused.value.conflict is not None and refused.value.conflict.booker == "UCAROL"
    assert (bookings(engine), booking_list(engine), approvals(engine), outbox(engine)) == tables


def test_a_booking_may_move_into_a_slot_overlapping_its_own(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    mine = _approved(container, clock, 2, 3, "UBOB")
    container.bus.handle(
        c.ChangeBooking(
            mine, by="UBOB", starts_at=clock.now + 2.5 * HOUR, ends_at=clock.now + 3.5 * HOUR
        )
    )
    assert _by_id(engine)[mine]["starts_at"] == clock.now + 2.5 * HOUR


def test_the_freed_part_of_a_shortened_booking_can_be_booked_at_once(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    mine = _approved(container, clock, 2, 4, "UBOB")
    container.bus.handle(c.ChangeBooking(mine, by="UBOB", ends_at=clock.now + 3 * HOUR))
    assert _by_id(engine)[mine]["status"] == "APPROVED"  # shorter: still approved
    other = container.bus.handle(c.RequestBooking("102", *slot(clock.now, 3, 4), by="UCAROL"))
    assert _by_id(engine)[other]["status"] == "PENDING"


def test_end_now_frees_the_rest_of_a_booking_in_progress(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    mine = _approved(container, clock, 1, 3, "UBOB")
    clock.advance(timedelta(hours=1, minutes=20))
    container.bus.handle(c.EndBooking(mine, by="UBOB"))

    [row] = booking_list(engine)
    assert row["ends_at"] == clock.now and row["status"] == "APPROVED"
    later = container.bus.handle(
        c.RequestBooking("102", clock.now + timedelta(minutes=5), clock.now + HOUR, by="UCAROL")
    )
    assert _by_id(engine)[later]["status"] == "PENDING"
    dm = [r for r in outbox(engine) if r["channel"] == "dm" and r["payload"]["kind"] == "changed"]
    assert dm and dm[0]["payload"]["ended_early"]


def test_a_meeting_under_way_keeps_its_room_when_asking_for_more_time(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    """A longer end would wait for approval, and a pending booking that has started expires on
    the next run of the job: refused, the booking stays approved; the extra time is a request."""
    add_rooms(container.bus, "102")
    mine = _approved(container, clock, 1, 2, "UBOB")
    clock.advance(timedelta(hours=1, minutes=20))
    before = bookings(engine)
    with pytest.raises(InvalidBooking) as refused:
        container.bus.handle(c.ChangeBooking(mine, by="UBOB", ends_at=clock.now + HOUR))
    assert (refused.value.field, refused.value.code) == ("end", "started_grows")
    assert container.bus.handle(c.ExpirePending()) == 0
    assert bookings(engine) == before

    old_end = before[0]["ends_at"]
    more = container.bus.handle(c.RequestBooking("102", old_end, old_end + HOUR, by="UBOB"))
    assert _by_id(engine)[more]["status"] == "PENDING"
    assert _by_id(engine)[mine]["status"] == "APPROVED"


def _race(container: Container, *commands: c.Command) -> list[str]:
    """Run the commands at the same moment; each ends ``done`` or ``unavailable``."""
    gate = threading.Barrier(len(commands))

    def run(command: c.Command) -> str:
        gate.wait(timeout=30)
        try:
            container.bus.handle(command)
        except RoomUnavailable:
            return "unavailable"
        return type(command).__name__

    with ThreadPoolExecutor(len(commands)) as pool:
        return sorted(pool.map(run, commands))


def _holding(engine: Engine, starts_at: datetime, ends_at: datetime) -> list[dict[str, Any]]:
    return [
        b
        for b in bookings(engine)
        if b["status"] in (BookingStatus.PENDING, BookingStatus.APPROVED)
        and b["starts_at"] < ends_at
        and b["ends_at"] > starts_at
    ]


def test_two_bookings_changed_into_the_same_slot_at_once_one_wins(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    first = _approved(container, clock, 1, 2, "UBOB")
    second = _approved(container, clock, 3, 4, "UCAROL")
    for attempt in range(6):
        start, end = slot(clock.now, 5 + 2 * attempt, 6 + 2 * attempt)
        outcomes = _race(
            container,
            c.ChangeBooking(first, by="UBOB", starts_at=start, ends_at=end),
            c.ChangeBooking(second, by="UCAROL", starts_at=start, ends_at=end),
        )
        assert outcomes == ["ChangeBooking", "unavailable"]
        assert len(_holding(engine, start, end)) == 1
    listed = {
        r["booking_id"]: (r["starts_at"], r["ends_at"], r["status"]) for r in booking_list(engine)
    }
    assert listed == {
        b["id"]: (b["starts_at"], b["ends_at"], b["status"]) for b in bookings(engine)
    }


def test_a_change_racing_a_new_request_for_the_same_slot_one_wins(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    for attempt in range(6):
        mine = _approved(container, clock, 1 + attempt, 1.5 + attempt, "UBOB")
        start, end = slot(clock.now, 20 + attempt * 2, 21 + attempt * 2)
        outcomes = _race(
            container,
            c.ChangeBooking(mine, by="UBOB", starts_at=start, ends_at=end),
            c.RequestBooking("102", start, end, by="UCAROL"),
        )
        assert outcomes in (["ChangeBooking", "unavailable"], ["RequestBooking", "unavailable"])
        assert len(_holding(engine, start, end)) == 1


def test_a_booking_moved_in_an_auto_approve_room_stays_approved(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    """The room approves every request on creation, so a move would be approved at once too:
    it does not wait for an admin (nobody would decide, and it would expire at its start)."""
    container.bus.handle(c.AddRoom("A", "Booth", 1, by="cli", auto_approve=True))
    add_rooms(container.bus, "102")
    booking_id = container.bus.handle(
        c.RequestBooking("A", *slot(clock.now, 2, 3), by="UBOB", title="Call")
    )
    assert bookings(engine)[0]["status"] == "APPROVED"

    container.bus.handle(
        c.ChangeBooking(
            booking_id, by="UBOB", starts_at=clock.now + 4 * HOUR, ends_at=clock.now + 6 * HOUR
        )
    )
    [stored] = bookings(engine)
    assert (stored["status"], stored["sequence"]) == ("APPROVED", 1)
    dm = next(r for r in outbox(engine) if r["payload"].get("kind") == "changed")
    assert not dm["payload"]["needs_approval"]

    # into a room that asks for approval, it waits for an admin again
    container.bus.handle(c.ChangeBooking(booking_id, by="UBOB", room_id="102"))
    assert bookings(engine)[0]["status"] == "PENDING"
