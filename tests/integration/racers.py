"""Code the concurrency tests run in separate processes (a module, so ``spawn`` finds it)."""

from __future__ import annotations

from datetime import datetime
from multiprocessing.synchronize import Barrier
from typing import Any

from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.domain import commands
from bot.domain.errors import RoomUnavailable


def request_in_process(
    url: str, gate: Barrier, room: str, start: str, end: str, user: str, results: Any
) -> None:
    container = bootstrap(Settings(_env_file=None, database_url=url))
    try:
        container.queries.rooms()  # connect before the gate, so the race is about the insert
        gate.wait(timeout=60)
        try:
            booking_id = container.bus.handle(
                commands.RequestBooking(
                    room, datetime.fromisoformat(start), datetime.fromisoformat(end), by=user
                )
            )
            results.put(("booked", user, booking_id))
        except RoomUnavailable:
            results.put(("unavailable", user, None))
        except Exception as exc:  # reported to the test, which fails on it
            results.put(("error", user, repr(exc)))
    finally:
        container.close()
