"""The worker's jobs: expiring undecided requests and polling the outbox, on APScheduler."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from bot.adapters.scheduler import build_scheduler
from bot.bootstrap import Container
from bot.domain import commands as c
from bot.domain.model import BookingStatus
from bot.notifications.dispatcher import Dispatcher, DispatchSettings
from bot.notifications.outbox import OutboxRow, OutboxStore
from tests.conftest import FixedClock
from tests.integration.helpers import add_rooms, bookings, outbox, slot


def _eventually(check: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_jobs_are_coalesced_single_instance_with_a_grace_time(container: Container) -> None:
    dispatcher = Dispatcher(OutboxStore(container.engine), {}, DispatchSettings(poll_seconds=7))
    scheduler = build_scheduler(container.bus, dispatcher)
    scheduler.start(paused=True)  # job defaults are applied when the scheduler starts
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown()
    periodic_jobs = (
        "expire-pending",
        "send-reminders",
        "release-unattended",
        "lapse-offers",
        "nudge-admins",
    )
    assert set(jobs) == {*periodic_jobs, "outbox-poll"}
    for periodic in periodic_jobs:
        assert jobs[periodic].trigger.interval == timedelta(seconds=60)
    assert jobs["outbox-poll"].trigger.interval == timedelta(seconds=7)
    for job in jobs.values():
        assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time > 0


def test_started_jobs_expire_stale_requests_and_deliver_their_notices(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")
    booking = container.bus.handle(c.RequestBooking("102", *slot(clock.now, 1, 2), by="UBOB"))
    clock.advance(timedelta(hours=1, minutes=1))  # it started, and no one decided
    kinds: list[str] = []

    def dm(row: OutboxRow) -> None:
        kinds.append(row.payload["kind"])

    ignore = {name: (lambda row: None) for name in ("email", "card", "home")}
    dispatcher = Dispatcher(
        OutboxStore(engine), {"dm": dm, **ignore}, DispatchSettings(poll_seconds=0.1), clock
    )
    container.bus.after_commit.append(dispatcher.after_commit)
    scheduler = build_scheduler(container.bus, dispatcher)
    scheduler.start()
    try:
        _eventually(lambda: {b["id"]: b["status"] for b in bookings(engine)}[booking] == "EXPIRED")
        _eventually(lambda: "expired" in kinds)
    finally:
        scheduler.shutdown(wait=True)
    assert sorted(kinds) == ["expired", "requested"]
    assert {r["status"] for r in outbox(engine)} == {"sent"}
    assert {b["id"]: b["status"] for b in bookings(engine)}[booking] == BookingStatus.EXPIRED
