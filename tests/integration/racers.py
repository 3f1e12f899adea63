"""Code the concurrency tests run in separate processes (a module, so ``spawn`` finds it)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from multiprocessing.synchronize import Barrier
from typing import Any

from bot.adapters.db import make_engine
from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.domain import commands
from bot.domain.errors import QuotaExceeded, RoomUnavailable

#: Connections of one racing process's pool.
RACER_CONNECTIONS = 8


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


def race_one_booker(
    bus: Any, rooms: list[str], start: datetime, end: datetime, by: str
) -> list[str]:
    """``by`` requests the same hours in each of ``rooms`` from a thread per room, released
    together (double clicks, two tabs); each says ``booked`` or ``quota``."""
    gate = threading.Barrier(len(rooms))

    def request(room: str) -> str:
        gate.wait(timeout=30)
        try:
            bus.handle(commands.RequestBooking(room, start, end, by=by))
        except QuotaExceeded:
            return "quota"
        return "booked"

    with ThreadPoolExecutor(len(rooms)) as pool:
        return list(pool.map(request, rooms))


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


def burn_cpu(stop: Any, seconds: float) -> None:
    """Keep one core busy until ``stop`` is set (or ``seconds`` pass, whatever happens)."""
    import time

    deadline = time.monotonic() + seconds
    while not stop.is_set() and time.monotonic() < deadline:
        sum(i * i for i in range(10_000))


def race_threads_in_process(
    url: str, gate: Barrier, room: str, start: str, end: str, users: list[str], results: Any
) -> None:
    """One app process: each user requests the same slot from their own thread, as Bolt's
    listener pool would. Each reports the answer a loser reads: who holds the slot; then the
    process reports how many transactions the bus had to rerun after a race in the database."""
    import logging
    import threading

    from bot.domain.errors import BookingError
    from bot.views.mrkdwn import escape

    reruns: list[str] = []

    class CountReruns(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("rerunning"):
                reruns.append(record.getMessage())

    bus_log = logging.getLogger("bot.services.messagebus")
    bus_log.setLevel(logging.INFO)
    bus_log.addHandler(CountReruns())
    # Threads queue for a small pool, as a web process's listeners do; with the default pool
    # (up to 30), two processes of 32 threads took 60 of the server's 100 connections, and
    # tests running beside this one were refused theirs.
    engine = make_engine(url, pool_size=RACER_CONNECTIONS, max_overflow=0, pool_timeout=60)
    container = bootstrap(Settings(_env_file=None, database_url=url), engine=engine)
    container.queries.rooms()
    ready = threading.Barrier(len(users))

    def one(user: str) -> None:
        ready.wait(timeout=60)
        try:
            booking_id = container.bus.handle(
                commands.RequestBooking(
                    room, datetime.fromisoformat(start), datetime.fromisoformat(end), by=user
                )
            )
            results.put(("booked", user, booking_id))
        except RoomUnavailable as error:
            holder = error.conflict.booker if error.conflict else None
            results.put(("unavailable", user, holder and escape(holder)))
        except BookingError as error:
            results.put(("refused", user, error.message))
        except Exception as exc:  # reported to the test, which fails on it
            results.put(("error", user, repr(exc)))

    try:
        gate.wait(timeout=60)
        threads = [threading.Thread(target=one, args=(u,)) for u in users]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        results.put(("reruns", None, len(reruns)))
    finally:
        container.close()
