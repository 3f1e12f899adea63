"""Property: whatever users and admins do (request, decide, cancel, change, end early, check in,
release, let time pass so that unattended bookings are released and offers lapse, wait for a slot
and claim it, request a series, decide it as one, cancel a date of it alone or with every later
one), no two active bookings of a room overlap, the read model says exactly what the bookings
table says, and every change has its notification rows."""

from __future__ import annotations

import contextlib
import os
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from bot.adapters import orm
from bot.adapters.repositories import delete_all
from bot.bootstrap import Container
from bot.domain import commands as c
from bot.domain.errors import BookingError
from bot.domain.model import CHECKIN_OPENS_BEFORE, HOLDING
from bot.domain.recurrence import Frequency, Repeat
from tests.conftest import ADMIN, FixedClock
from tests.integration.helpers import add_rooms, booking_list, bookings, events, outbox, rows

ROOMS = ("A", "B")
CHECKIN_ROOM = "A"  # approves every request and has a check-in window; B has neither
CHECKIN_MINUTES = 20
USERS = ("U1", "U2", ADMIN)
HALF_HOUR = timedelta(minutes=30)

requests = st.tuples(
    st.just("request"),
    st.sampled_from(ROOMS),
    st.integers(0, 16),  # start, in half hours from now
    st.integers(-1, 6),  # length in half hours (may be invalid)
    st.sampled_from(USERS),
)
decisions = st.tuples(
    st.sampled_from(["approve", "deny", "cancel"]),
    st.integers(0, 12),  # which booking, by position
    st.sampled_from(USERS),
)
changes = st.tuples(
    st.just("change"),
    st.integers(0, 12),  # which booking, by position
    st.sampled_from(ROOMS),
    st.integers(-2, 16),  # new start, in half hours from now (may be in the past)
    st.integers(-1, 6),  # new length in half hours (may be invalid)
    st.sampled_from(USERS),
)
ends = st.tuples(st.just("end"), st.integers(0, 12), st.sampled_from(USERS))
check_ins = st.tuples(
    st.sampled_from(["checkin", "release"]), st.integers(0, 12), st.sampled_from(USERS)
)
waits = st.tuples(
    st.just("join"),
    st.sampled_from(ROOMS),
    st.integers(0, 16),
    st.integers(1, 4),
    st.sampled_from(USERS),
)
claims = st.tuples(st.just("claim"), st.integers(0, 12), st.sampled_from(USERS))
series_requests = st.tuples(
    st.just("series"),
    st.sampled_from(ROOMS),
    st.integers(0, 16),  # first start, in half hours from now
    st.integers(1, 4),  # length in half hours
    st.sampled_from([Frequency.DAILY, Frequency.WEEKLY]),
    st.integers(2, 5),  # how many times
    st.sampled_from(USERS),
)
series_cancels = st.tuples(
    st.just("cancel_occurrence"),
    st.integers(0, 12),  # which booking, by position (a single one is cancelled alone)
    st.booleans(),  # and every later date of its series
    st.sampled_from(USERS),
)
series_decisions = st.tuples(
    st.sampled_from(["approve_series", "deny_series"]),
    st.integers(0, 4),  # which series, by position
    st.sampled_from(USERS),
)
time_passes = st.tuples(st.just("wait"), st.integers(1, 4))
# time passes until the check-in window of a booking closes (if it has one still ahead)
no_shows = st.tuples(st.just("no_show"), st.integers(0, 12))
operations = st.lists(
    st.one_of(
        requests,
        decisions,
        decisions,
        changes,
        ends,
        check_ins,
        waits,
        claims,
        time_passes,
        no_shows,
        series_requests,
        series_cancels,
        series_decisions,
    ),
    max_size=25,
)

#: The profile's number of examples (tests/conftest.py), half as many again: a script is short
#: next to what it checks; PROPERTY_EXAMPLES sets another.
EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES") or settings.default.max_examples * 3 // 2)


def _apply(
    container: Container,
    clock: FixedClock,
    operation: tuple,
    ids: list[int],
    waiting: list[int],
    series: list[int],
) -> None:
    bus = container.bus
    kind = operation[0]
    if kind == "series":
        _, room, start, length, frequency, count, user = operation
        starts_at = clock.now + start * HALF_HOUR
        series_id = bus.handle(
            c.RequestSeries(
                room,
                starts_at,
                starts_at + length * HALF_HOUR,
                by=user,
                repeat=Repeat(frequency, count=count),
                timezone="Asia/Seoul",
            )
        )
        series.append(series_id)
        ids.extend(b["id"] for b in bookings(container.engine) if b["series_id"] == series_id)
    elif kind == "cancel_occurrence" and ids:
        _, position, following, user = operation
        bus.handle(c.CancelOccurrence(ids[position % len(ids)], by=user, following=following))
    elif kind in ("approve_series", "deny_series") and series:
        _, position, user = operation
        series_id = series[position % len(series)]
        if kind == "approve_series":
            bus.handle(c.ApproveSeries(series_id, by=user))
        else:
            bus.handle(c.DenySeries(series_id, by=user, reason="busy"))
    elif kind in ("cancel_occurrence", "approve_series", "deny_series"):
        return
    elif kind == "request":
        _, room, start, length, user = operation
        starts_at = clock.now + start * HALF_HOUR
        ids.append(
            bus.handle(c.RequestBooking(room, starts_at, starts_at + length * HALF_HOUR, by=user))
        )
    elif kind == "change" and ids:
        _, position, room, start, length, user = operation
        starts_at = clock.now + start * HALF_HOUR
        bus.handle(
            c.ChangeBooking(
                ids[position % len(ids)],
                by=user,
                room_id=room,
                starts_at=starts_at,
                ends_at=starts_at + length * HALF_HOUR,
            )
        )
    elif kind == "end" and ids:
        _, position, user = operation
        bus.handle(c.EndBooking(ids[position % len(ids)], by=user))
    elif kind == "join":
        _, room, start, length, user = operation
        starts_at = clock.now + start * HALF_HOUR
        waiting.append(
            bus.handle(c.JoinWaitlist(room, starts_at, starts_at + length * HALF_HOUR, by=user))
        )
    elif kind == "claim" and waiting:
        _, position, user = operation
        ids.append(bus.handle(c.ClaimOffer(waiting[position % len(waiting)], by=user)))
    elif kind in ("checkin", "release") and ids:
        _, position, user = operation
        booking = ids[position % len(ids)]
        if kind == "checkin":
            # most bookings are far from their check-in window: aim at one that is open now
            opening = clock.now + CHECKIN_OPENS_BEFORE
            open_now = [
                b["id"]
                for b in bookings(container.engine)
                if b["room_id"] == CHECKIN_ROOM
                and b["status"] == "APPROVED"
                and b["starts_at"] <= opening
                and clock.now < b["starts_at"] + timedelta(minutes=CHECKIN_MINUTES)
            ]
            if open_now:
                booking = open_now[position % len(open_now)]
            bus.handle(c.CheckIn(booking, by=user))
        else:
            bus.handle(c.ReleaseBooking(booking, by=user))
    elif kind in ("change", "end", "claim", "checkin", "release"):
        return
    elif kind in ("wait", "no_show"):
        if kind == "wait":
            clock.advance(operation[1] * HALF_HOUR)
        elif ids:
            [booking] = [
                b for b in bookings(container.engine) if b["id"] == ids[operation[1] % len(ids)]
            ]
            closes = booking["starts_at"] + timedelta(minutes=CHECKIN_MINUTES)
            if booking["room_id"] != CHECKIN_ROOM or closes <= clock.now:
                return
            clock.now = closes
        bus.handle(c.ExpirePending())
        bus.handle(c.ReleaseUnattended())
        bus.handle(c.LapseOffers())
    elif ids:
        _, position, user = operation
        booking = ids[position % len(ids)]
        command = {
            "approve": c.ApproveBooking(booking, by=user),
            "deny": c.DenyBooking(booking, by=user, reason="busy"),
            "cancel": c.CancelBooking(booking, by=user),
        }[kind]
        bus.handle(command)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=operations)
def test_no_overlap_and_the_read_model_mirrors_the_bookings(
    container: Container, engine: Engine, clock: FixedClock, script: list[tuple]
) -> None:
    start = clock.now
    with container.engine.begin() as conn:
        from sqlalchemy.orm import Session

        delete_all(Session(bind=conn))
    add_rooms(container.bus, *ROOMS)
    container.bus.handle(
        c.UpdateRoom(CHECKIN_ROOM, by="cli", auto_approve=True, checkin_minutes=CHECKIN_MINUTES)
    )
    ids: list[int] = []
    waiting: list[int] = []
    series: list[int] = []
    try:
        for operation in script:
            # refusals are part of the game; what matters is what got stored
            with contextlib.suppress(BookingError):
                _apply(container, clock, operation, ids, waiting, series)
    finally:
        clock.now = start

    stored = bookings(engine)
    active = [b for b in stored if b["status"] in HOLDING]
    for i, a in enumerate(active):
        for b in active[i + 1 :]:
            if a["room_id"] == b["room_id"]:
                assert not (a["starts_at"] < b["ends_at"] and b["starts_at"] < a["ends_at"]), (a, b)

    listed = {r["booking_id"]: r for r in booking_list(engine)}
    assert set(listed) == {b["id"] for b in stored}
    for b in stored:
        row = listed[b["id"]]
        for field in (
            "room_id",
            "starts_at",
            "ends_at",
            "booker",
            "title",
            "status",
            "reason",
            "series_id",
            "recurrence_id",
            "checked_in_at",
        ):
            assert row[field] == b[field], (field, row, b)
        assert row["decided_by"] == b["decided_by"]
        assert row["sequence"] == b["sequence"], (row, b)

    # every change has its notification rows, written with it
    kinds = {e["event_id"]: e["type"] for e in events(engine)}
    noticed = {r["event_id"] for r in outbox(engine) if r["channel"] == "dm"}
    changed = [
        event_id
        for event_id, kind in kinds.items()
        if kind in ("BookingChanged", "BookingReleased", "SeriesEnded", "WaitlistOffered")
    ]
    assert set(changed) <= noticed

    # one open offer at a time for any part of a slot
    offered = [e for e in rows(engine, orm.waitlist) if e["status"] == "OFFERED"]
    for i, a in enumerate(offered):
        for b in offered[i + 1 :]:
            if a["room_id"] == b["room_id"]:
                assert not (a["starts_at"] < b["ends_at"] and b["starts_at"] < a["ends_at"])
