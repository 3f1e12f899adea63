"""Racing requests for one room: exactly one wins, on both databases, in threads and processes."""

from __future__ import annotations

import dataclasses
import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event

from bot.bootstrap import Container
from bot.domain import commands as c
from bot.domain.model import BookingStatus
from bot.domain.rules import Quota
from tests.conftest import ADMIN, FixedClock
from tests.integration.helpers import add_rooms, booking_list, bookings
from tests.integration.racers import (
    burn_cpu,
    race_for_one_room,
    race_one_booker,
    race_threads_in_process,
    request_in_process,
)

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


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_64_users_over_two_processes_on_a_busy_machine_queue_for_one_room(
    container: Container, engine: Engine, database_url: str
) -> None:
    """Same-room requests queue on the room's advisory lock instead of deadlocking in the
    exclusion constraint: one winner, and every loser is told who holds the slot."""
    add_rooms(container.bus, "102")
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    burners = [ctx.Process(target=burn_cpu, args=(stop, 120.0)) for _ in range(2)]
    for b in burners:
        b.start()
    gate = ctx.Barrier(2)
    results = ctx.Queue()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    users = [f"UR{i:02d}" for i in range(64)]
    processes = [
        ctx.Process(
            target=race_threads_in_process,
            args=(
                database_url,
                gate,
                "102",
                start.isoformat(),
                (start + timedelta(hours=1)).isoformat(),
                users[half::2],
                results,
            ),
        )
        for half in range(2)
    ]
    try:
        for p in processes:
            p.start()
        outcomes = [results.get(timeout=180) for _ in range(len(users) + len(processes))]
        for p in processes:
            p.join(timeout=60)
            assert p.exitcode == 0
    finally:
        stop.set()
        for b in burners:
            b.join(timeout=30)
    reruns = sum(o[2] for o in outcomes if o[0] == "reruns")
    outcomes = [o for o in outcomes if o[0] != "reruns"]
    # Queued on the room's lock, every check sees the winner: no insert meets the exclusion
    # constraint, so nothing is rerun (without the lock: deadlocks and exclusion violations).
    assert reruns == 0
    winners = [o for o in outcomes if o[0] == "booked"]
    assert len(winners) == 1, outcomes
    winner = winners[0][1]
    losers = [o for o in outcomes if o[0] != "booked"]
    assert len(losers) == 63
    assert all(o == ("unavailable", o[1], winner) for o in losers), losers
    stored = bookings(engine)
    assert [b["booker"] for b in stored] == [winner]


@pytest.mark.parametrize("quota", [Quota(bookings=2), Quota(hours=2)], ids=["count", "hours"])
def test_one_booker_racing_into_many_rooms_stays_within_the_weekly_quota(
    container: Container, clock: FixedClock, engine: Engine, quota: Quota
) -> None:
    """Each transaction checks the booker's week before inserting; without a lock on the
    booker, concurrent ones all see the same count and all insert."""
    rooms = [f"Q{i}" for i in range(8)]
    add_rooms(container.bus, *rooms)
    container.bus.context = dataclasses.replace(container.bus.context, quota=quota)
    start = clock.now + timedelta(days=1)
    outcomes = race_one_booker(container.bus, rooms, start, start + timedelta(hours=1), "U1")
    assert sorted(outcomes) == ["booked"] * 2 + ["quota"] * 6
    assert len([b for b in bookings(engine) if b["booker"] == "U1"]) == 2


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_booking_request_takes_the_rooms_lock_once_with_the_room_read_before_the_check(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    """The lock the overlap checks queue on comes with the room's row, in one statement; the
    check runs in a later one, so its snapshot is taken with the lock held."""
    add_rooms(container.bus, "102", "103")
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        start = clock.now + timedelta(hours=2)
        container.bus.handle(c.RequestBooking("102", start, start + timedelta(hours=1), by="U1"))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    locking = [i for i, s in enumerate(statements) if "pg_advisory_xact_lock" in s]
    room_lock = [i for i in locking if "FROM rooms" in statements[i]]
    assert len(room_lock) == 1, statements
    check = next(i for i, s in enumerate(statements) if "FROM bookings" in s)
    assert room_lock[0] < check
    assert locking == room_lock  # the overlap check takes it no second time
