"""Property: whatever users and admins do, no two active bookings of a room overlap, and the read
model says exactly what the bookings table says."""

from __future__ import annotations

import contextlib
import os
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from bot.adapters.repositories import delete_all
from bot.bootstrap import Container
from bot.domain import commands as c
from bot.domain.errors import BookingError
from bot.domain.model import HOLDING
from tests.conftest import ADMIN, FixedClock
from tests.integration.helpers import add_rooms, booking_list, bookings

ROOMS = ("A", "B")
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
time_passes = st.tuples(st.just("wait"), st.integers(1, 4))
operations = st.lists(st.one_of(requests, decisions, decisions, time_passes), max_size=25)

EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "150"))


def _apply(container: Container, clock: FixedClock, operation: tuple, ids: list[int]) -> None:
    bus = container.bus
    kind = operation[0]
    if kind == "request":
        _, room, start, length, user = operation
        starts_at = clock.now + start * HALF_HOUR
        ids.append(
            bus.handle(c.RequestBooking(room, starts_at, starts_at + length * HALF_HOUR, by=user))
        )
    elif kind == "wait":
        clock.advance(operation[1] * HALF_HOUR)
        bus.handle(c.ExpirePending())
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
    ids: list[int] = []
    try:
        for operation in script:
            # refusals are part of the game; what matters is what got stored
            with contextlib.suppress(BookingError):
                _apply(container, clock, operation, ids)
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
        for field in ("room_id", "starts_at", "ends_at", "booker", "title", "status", "reason"):
            assert row[field] == b[field], (field, row, b)
        assert row["decided_by"] == b["decided_by"]
