"""Find a room and the policies on SQLite and PostgreSQL: the free/busy query against a busy
schedule (edges included), its plan, auto-approval under racing requests, quotas in SQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, insert, text

from bench.suites._scale_plans import capturing, explain
from bot.adapters import orm
from bot.bootstrap import Container
from bot.domain import commands as c
from bot.domain.errors import QuotaExceeded
from bot.domain.model import BookingStatus
from bot.domain.rules import Quota
from tests.conftest import ADMIN, FixedClock
from tests.integration.helpers import booking_list, bookings, events
from tests.integration.racers import race_for_one_room

THREADS = 8


def _rooms(container: Container) -> None:
    bus = container.bus
    bus.handle(c.AddRoom("A", "Booth", 1, by="cli", tags=("phone",)))
    bus.handle(c.AddRoom("B", "Small", 4, by="cli", tags=("projector",), location="HQ 2F"))
    bus.handle(c.AddRoom("C", "Medium", 8, by="cli", tags=("projector", "video")))
    bus.handle(c.AddRoom("D", "Large", 20, by="cli", tags=("projector", "video", "whiteboard")))
    bus.handle(c.AddRoom("E", "Closed", 50, by="cli", tags=("projector",)))
    bus.handle(c.DeactivateRoom("E", by="cli"))


def test_find_against_a_busy_schedule(container: Container, clock: FixedClock) -> None:
    _rooms(container)
    bus, now = container.bus, clock.now
    h = lambda hours: now + timedelta(hours=hours)  # noqa: E731
    bus.handle(c.RequestBooking("B", h(1), h(2), by="U1"))  # ends exactly at the window start
    bus.handle(c.RequestBooking("C", h(2.5), h(3.5), by="U2"))  # inside the window
    denied = bus.handle(c.RequestBooking("D", h(2), h(3), by="U3"))
    bus.handle(c.DenyBooking(denied, by=ADMIN))  # a denied booking holds nothing
    bus.handle(c.RequestBooking("D", h(3), h(4), by="U4"))  # starts exactly at the window end
    bus.handle(c.RequestBooking("A", h(1.5), h(2.5), by="U5"))  # overlaps the start

    free = container.queries.free_rooms(h(2), h(3))
    assert [(f.room.id, f.free_until) for f in free] == [("B", None), ("D", h(3))]
    assert [f.room.id for f in container.queries.free_rooms(h(2), h(3), people=5)] == ["D"]
    tagged = container.queries.free_rooms(h(2), h(3), tags=("Video",))
    assert [f.room.id for f in tagged] == ["D"]
    assert tagged[0].room.tags == ("projector", "video", "whiteboard")
    assert container.queries.free_rooms(h(2), h(3), tags=("sauna",)) == []
    # until when: B is free until its next booking; after the one ending at the start
    bus.handle(c.RequestBooking("B", h(5), h(6), by="U6"))
    [b] = [f for f in container.queries.free_rooms(h(2), h(3)) if f.room.id == "B"]
    assert b.free_until == h(5)
    assert b.room.location == "HQ 2F"


def test_the_free_busy_query_is_one_indexed_statement(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    _rooms(container)
    start = clock.now + timedelta(days=1)
    rows = [
        {
            "booking_id": n,
            "room_id": "BCD"[n % 3],
            "room_name": "x",
            "starts_at": start + timedelta(hours=n),
            "ends_at": start + timedelta(hours=n, minutes=30),
            "booker": "U1",
            "title": "",
            "status": BookingStatus.APPROVED,
            "requested_at": clock.now,
        }
        for n in range(3000)
    ]
    with engine.begin() as conn:
        conn.execute(insert(orm.booking_list), rows)
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    window = (start + timedelta(hours=1), start + timedelta(hours=1, minutes=30))
    with capturing(engine) as seen:
        free = container.queries.free_rooms(*window, people=2)
    assert [f.room.id for f in free] == ["B", "D"]  # C holds hour 1; A is too small
    assert len(seen) == 1  # one statement for every room
    plan = explain(engine, "free rooms", seen[0])
    assert plan.indexed, plan.text
    assert "ix_booking_list_room_id_ends_at" in plan.text, plan.text
    # each room's next booking is looked up once, not again for each test of it in the filter
    lookups = [n for n in plan.nodes if n["relation"] == "booking_list"]
    assert len(lookups) == 1, plan.summary()


def test_racing_requests_under_auto_approve_give_one_winner(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    container.bus.handle(c.AddRoom("A", "Booth", 1, by="cli", auto_approve=True))
    outcomes = race_for_one_room(container.bus, "A", clock.now + timedelta(hours=2), THREADS)
    assert sorted(outcomes) == ["booked"] + ["unavailable"] * (THREADS - 1)
    [stored] = bookings(engine)
    assert (stored["status"], stored["decided_by"]) == (BookingStatus.APPROVED, "policy")
    [row] = booking_list(engine)
    assert (row["policy"], row["decided_by"], row["status"]) == (
        "room",
        "policy",
        BookingStatus.APPROVED,
    )
    logged = [(e["type"], e["actor"], e["payload"].get("policy")) for e in events(engine)]
    assert logged[-2:] == [
        ("BookingRequested", stored["booker"], "room"),
        ("BookingApproved", "policy", "room"),
    ]


def test_quotas_count_stored_bookings(container: Container, clock: FixedClock) -> None:
    import dataclasses

    container.bus.context = dataclasses.replace(container.bus.context, quota=Quota(hours=2))
    container.bus.handle(c.AddRoom("A", "Room", 4, by="cli"))
    day = clock.now + timedelta(days=1)
    container.bus.handle(c.RequestBooking("A", day, day + timedelta(hours=1.5), by="U1"))
    with pytest.raises(QuotaExceeded, match=r"0\.5 hours left"):
        container.bus.handle(
            c.RequestBooking("A", day + timedelta(hours=2), day + timedelta(hours=3), by="U1")
        )
    container.bus.handle(
        c.RequestBooking("A", day + timedelta(hours=2), day + timedelta(hours=2.5), by="U1")
    )


def test_a_change_cannot_take_the_booker_past_their_quota(
    container: Container, clock: FixedClock
) -> None:
    """Extending a booking, or moving it into a fuller week, counts like a new request; the
    booking being changed is not counted twice."""
    import dataclasses

    bus = container.bus
    bus.context = dataclasses.replace(bus.context, quota=Quota(hours=2, bookings=1))
    bus.handle(c.AddRoom("A", "Room", 4, by="cli"))
    day = clock.now + timedelta(days=1)
    first = bus.handle(c.RequestBooking("A", day, day + timedelta(hours=1), by="U1"))
    with pytest.raises(QuotaExceeded, match=r"2 hours left"):
        bus.handle(c.ChangeBooking(first, by="U1", ends_at=day + timedelta(hours=3)))
    assert bus.handle(c.ChangeBooking(first, by="U1", ends_at=day + timedelta(hours=2)))

    later = day + timedelta(days=7)
    second = bus.handle(c.RequestBooking("A", later, later + timedelta(hours=1), by="U1"))
    moved = {"starts_at": day + timedelta(hours=3), "ends_at": day + timedelta(hours=4)}
    with pytest.raises(QuotaExceeded, match="active booking"):
        bus.handle(c.ChangeBooking(second, by="U1", **moved))
    # an admin may change it anyway, as they may book past a quota
    assert bus.handle(c.ChangeBooking(second, by=ADMIN, **moved))


def test_over_a_lowered_quota_a_booking_may_still_shrink_move_in_its_week_or_be_retitled(
    container: Container, clock: FixedClock
) -> None:
    import dataclasses

    bus = container.bus
    bus.handle(c.AddRoom("A", "Room", 4, by="cli"))
    day = clock.now + timedelta(days=1)
    first = bus.handle(c.RequestBooking("A", day, day + timedelta(hours=2), by="U1"))
    bus.handle(c.RequestBooking("A", day + timedelta(hours=3), day + timedelta(hours=5), by="U1"))
    bus.context = dataclasses.replace(bus.context, quota=Quota(hours=1, bookings=1))
    assert bus.handle(c.ChangeBooking(first, by="U1", title="Renamed"))
    assert bus.handle(c.ChangeBooking(first, by="U1", ends_at=day + timedelta(hours=1.5)))
    later = {"starts_at": day + timedelta(hours=6), "ends_at": day + timedelta(hours=7)}
    assert bus.handle(c.ChangeBooking(first, by="U1", **later))
    with pytest.raises(QuotaExceeded):
        bus.handle(c.ChangeBooking(first, by="U1", ends_at=day + timedelta(hours=8)))
