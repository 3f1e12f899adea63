"""Code the concurrency tests run in separate processes (a module, so ``spawn`` finds it)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from multiprocessing.synchronize import Barrier
from typing import Any

from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.domain import commands
from bot.domain.errors import RoomUnavailable


def race_for_one_room(bus: Any, room: str, base: datetime, threads: int) -> list[str]:
    """``threads`` requests for overlapping hours of one room (each contains base+30min to
    base+60min), released together; each says ``booked`` or ``unavailable``."""
    gate = threading.Barrier(threads)

    def request(i: int) -> str:
        start = base + timedelta(minutes=i)
        gate.wait(timeout=30)
        try:
            bus.handle(
                commands.RequestBooking(room, start, start + timedelta(hours=1), by=f"U{i:02d}")
            )
        except RoomUnavailable:
            return "unavailable"
        return "booked"

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(request, range(threads)))


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
