"""Racing requests for one room: exactly one wins, on both databases, in threads and processes."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from bot.bootstrap import Container
from bot.domain import commands as c
from bot.domain.model import BookingStatus
from tests.conftest import ADMIN, FixedClock
from tests.integration.helpers import add_rooms, booking_list, bookings
from tests.integration.racers import race_for_one_room, request_in_process

THREADS = 16


def test_sixteen_threads_racing_for_overlapping_slots_leave_one_booking(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    outcomes = race_for_one_room(container.bus, "102", clock.now + timedelta(hours=2), THREADS)
    assert sorted(outcomes) == ["booked"] + ["unavailable"] * (THREADS - 1)
    stored = bookings(engine)
    assert [b["status"] for b in stored] == [BookingStatus.PENDING]
    assert [r["booking_id"] for r in booking_list(engine)] == [stored[0]["id"]]


def test_racing_decisions_and_cancellations_end_in_one_consistent_state(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    """Approve, deny and cancel clicked at the same moment: the row lock orders them."""
    add_rooms(container.bus, "102")
    ids = [
        container.bus.handle(
            c.RequestBooking("102", *[clock.now + timedelta(hours=h + d) for d in (1, 2)], by="UB")
        )
        for h in range(0, 8, 2)
    ]
    actions = [
        cmd
        for booking in ids
        for cmd in (
            c.ApproveBooking(booking, by=ADMIN),
            c.DenyBooking(booking, by=ADMIN),
            c.CancelBooking(booking, by="UB"),
        )
    ]
    gate = threading.Barrier(len(actions))

    def run(cmd: c.Command) -> str:
        gate.wait(timeout=30)
        try:
            container.bus.handle(cmd)
        except Exception as exc:
            return type(exc).__name__
        return "ok"

    with ThreadPoolExecutor(len(actions)) as pool:
        outcomes = list(pool.map(run, actions))
    assert set(outcomes) <= {"ok", "InvalidTransition"}
    listed = {r["booking_id"]: r["status"] for r in booking_list(engine)}
    assert listed == {b["id"]: b["status"] for b in bookings(engine)}
    assert all(status != BookingStatus.PENDING for status in listed.values())


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_four_processes_racing_on_postgres_leave_one_booking(
    container: Container, clock: FixedClock, engine: Engine, database_url: str
) -> None:
    add_rooms(container.bus, "102")
    ctx = multiprocessing.get_context("spawn")
    gate = ctx.Barrier(4)
    results = ctx.Queue()
    # the processes read the real clock, so the slot is tomorrow in real time
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    processes = [
        ctx.Process(
            target=request_in_process,
            args=(
                database_url,
                gate,
                "102",
                (start + timedelta(minutes=10 * i)).isoformat(),
                (start + timedelta(hours=1, minutes=10 * i)).isoformat(),
                f"UP{i}",
                results,
            ),
        )
        for i in range(4)
    ]
    for p in processes:
        p.start()
    outcomes = [results.get(timeout=90) for _ in processes]
    for p in processes:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert sorted(o[0] for o in outcomes) == ["booked", "unavailable", "unavailable", "unavailable"]
    stored = bookings(engine)
    assert len(stored) == 1 and stored[0]["status"] == BookingStatus.PENDING
