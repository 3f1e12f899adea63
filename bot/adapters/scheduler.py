"""Background jobs: expiring undecided requests, reminders, admin nudges, and the outbox poll
that backs up wake-ups.

APScheduler runs each job in a thread of its own pool. ``coalesce`` and ``max_instances=1`` make a
job that fell behind (a long GC pause, a slow database) run once, not in a burst or in parallel
with itself; ``misfire_grace_time`` lets a late run still happen instead of being dropped.
Several worker processes may run these jobs at once: both jobs are safe to repeat (expiry locks
rows with ``SKIP LOCKED``, the outbox claims rows the same way).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler

from bot.adapters.dispatcher import Dispatcher
from bot.domain.commands import ExpirePending, NudgeAdmins, SendReminders

if TYPE_CHECKING:
    from bot.bootstrap import Container
    from bot.services.messagebus import MessageBus

log = logging.getLogger(__name__)

EXPIRE_EVERY_SECONDS = 60
MISFIRE_GRACE_SECONDS = 30


def expire_pending(bus: MessageBus) -> None:
    expired = bus.handle(ExpirePending())
    if expired:
        log.info("expired %d request(s) that no one decided before they started", expired)


def send_reminders(bus: MessageBus) -> None:
    sent = bus.handle(SendReminders())
    if sent:
        log.info("queued %d reminder(s) of bookings starting soon", sent)


def nudge_admins(bus: MessageBus) -> None:
    nudged = bus.handle(NudgeAdmins())
    if nudged:
        log.info("nudged admins about %d request(s) waiting too long", nudged)


def build_scheduler(
    container: Container, dispatcher: Dispatcher, *, expire_every: float = EXPIRE_EVERY_SECONDS
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
    scheduler.add_job(
        expire_pending,
        "interval",
        seconds=expire_every,
        args=[container.bus],
        id="expire-pending",
        name="expire undecided requests",
        next_run_time=now,  # catch up at once after downtime
    )
    # Reminders and nudges are marked on the booking in the same transaction as their outbox
    # row, so running these every minute (or in several workers) sends each one once.
    scheduler.add_job(
        send_reminders,
        "interval",
        seconds=expire_every,
        args=[container.bus],
        id="send-reminders",
        name="remind bookers of bookings starting soon",
        next_run_time=now,
    )
    scheduler.add_job(
        nudge_admins,
        "interval",
        seconds=expire_every,
        args=[container.bus],
        id="nudge-admins",
        name="nudge admins about requests waiting too long",
        next_run_time=now,
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
