"""Dispatchers the outbox tests run in separate processes (a module, so ``spawn`` finds it)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from bot.adapters.db import make_engine
from bot.notifications.dispatcher import Dispatcher, DispatchSettings
from bot.notifications.outbox import OutboxRow, OutboxStore


def drain_in_process(url: str, now: str, sent: Any, gate: Any) -> None:
    """Deliver everything due at ``now``, reporting each send on the ``sent`` queue."""
    engine = make_engine(url)
    try:

        def record(row: OutboxRow) -> None:
            sent.put(("sent", row.id))

        moment = datetime.fromisoformat(now)
        dispatcher = Dispatcher(
            OutboxStore(engine), {"dm": record}, DispatchSettings(batch_size=7), lambda: moment
        )
        engine.connect().close()  # connect before the gate, so the race is about the claims
        gate.wait(timeout=60)
        dispatcher.drain()
    except Exception as exc:  # reported to the test, which fails on it
        sent.put(("error", repr(exc)))
    finally:
        sent.put(("done", None))
        engine.dispose()


def hang_after(url: str, now: str, sends: int, sent: Any) -> None:
    """Send ``sends`` rows, then hang inside the next send, as a worker stuck on a dead socket
    would; the test kills this process with SIGKILL at that point."""
    engine = make_engine(url)
    count = 0

    def record_then_hang(row: OutboxRow) -> None:
        nonlocal count
        count += 1
        if count > sends:
            sent.put(("hanging", row.id))
            time.sleep(3600)
        sent.put(("sent", row.id))

    moment = datetime.fromisoformat(now)
    # one send at a time, so "the fifth send" is one row and the rest of the batch waits leased
    params = DispatchSettings(batch_size=10, lease_seconds=60, channel_in_flight=1)
    Dispatcher(OutboxStore(engine), {"dm": record_then_hang}, params, lambda: moment).drain()
