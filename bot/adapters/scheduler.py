"""Background jobs: expiring undecided requests, reminders, admin nudges, and the outbox poll
that backs up wake-ups.

APScheduler runs each job in a thread of its own pool. ``coalesce`` and ``max_instances=1`` make a
job that fell behind (a long GC pause, a slow database) run once, not in a burst or in parallel
with itself; ``misfire_grace_time`` lets a late run still happen instead of being dropped.
Several worker processes may run these jobs at once: every job is safe to repeat (expiry locks
rows with ``SKIP LOCKED``, the outbox claims rows the same way).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler

from bot.domain.commands import (
    Command,
    ExpirePending,
    LapseOffers,
    NudgeAdmins,
    ReleaseUnattended,
    SendReminders,
)

if TYPE_CHECKING:
    from bot.notifications.dispatcher import Dispatcher
    from bot.services.messagebus import MessageBus

log = logging.getLogger(__name__)

EXPIRE_EVERY_SECONDS = 60
MISFIRE_GRACE_SECONDS = 30


#: Periodic commands: (job id, job name, command, what a non-zero count is logged as). Each is
#: safe to repeat and to run in several workers: expiry locks rows with SKIP LOCKED, and
#: reminders and nudges are marked on the booking in the same transaction as their outbox row.
PERIODIC: tuple[tuple[str, str, Command, str], ...] = (
    (
        "expire-pending",
        "expire undecided requests",
        ExpirePending(),
        "expired %d request(s) that no one decided before they started",
    ),
    (
        "send-reminders",
        "remind bookers of bookings starting soon",
        SendReminders(),
        "queued %d reminder(s) of bookings starting soon",
    ),
    (
        "release-unattended",
        "release bookings nobody checked into",
        ReleaseUnattended(),
        "released %d booking(s) nobody checked into",
    ),
    (
        "lapse-offers",
        "pass waitlist offers nobody took to the next person",
        LapseOffers(),
        "passed on %d waitlist offer(s) nobody took in time",
    ),
    (
        "nudge-admins",
        "nudge admins about requests waiting too long",
        NudgeAdmins(),
        "nudged admins about %d request(s) waiting too long",
    ),
)


def run_periodic(bus: MessageBus, command: Command, message: str) -> None:
    count = bus.handle(command)
    if count:
        log.info(message, count)


def build_scheduler(
    bus: MessageBus, dispatcher: Dispatcher, *, expire_every: float = EXPIRE_EVERY_SECONDS
) -> BackgroundScheduler:
    """The scheduler with its jobs added, not started (the caller owns start and shutdown)."""
    scheduler = BackgroundScheduler(
        timezone=UTC,
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
        },
    )
    now = datetime.now(UTC)
    for job_id, name, command, message in PERIODIC:
        scheduler.add_job(
            run_periodic,
            "interval",
            seconds=expire_every,
            args=[bus, command, message],
            id=job_id,
            name=name,
            next_run_time=now,  # catch up at once after downtime
        )
    scheduler.add_job(
        dispatcher.poll,
        "interval",
        seconds=dispatcher.params.poll_seconds,
        id="outbox-poll",
        name="deliver due outbox rows",
        next_run_time=now,
    )
    return scheduler
