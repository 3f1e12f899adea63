"""For the email tests, beside the real SMTP server of ``bot.demo.loopback``: a server that
accepts connections and never says a word (a hung mail server), and the dispatcher's clock."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta
from typing import Any


class SilentServer:
    """Accepts TCP connections and never answers, like a mail server stuck behind a firewall
    that drops packets after the handshake. Counts the connections it accepted. Listens on a
    free port, or on the bound socket ``sock`` (``held_port``), which stays bound after it stops
    for a real server to listen on."""

    def __init__(self, sock: socket.socket | None = None) -> None:
        if sock is None:
            self._listener = socket.socket()
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind(("127.0.0.1", 0))
        else:
            self._listener = sock.dup()
        self._listener.listen(16)
        self._listener.settimeout(0.05)
        self.port = int(self._listener.getsockname()[1])
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="silent-smtp", daemon=True)

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self._held.append(conn)

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._held:
            conn.close()
        self._listener.close()


class DeliveryClock:
    """The dispatcher's clock in these tests: never behind the wall clock (outbox rows are stamped
    with it when written) nor behind the test's booking clock, plus whatever the test skips."""

    def __init__(self, booking_clock: Any) -> None:
        self.booking_clock = booking_clock
        self.skipped = timedelta(0)

    def __call__(self) -> datetime:
        return max(datetime.now(UTC), self.booking_clock()) + self.skipped

    def advance(self, delta: timedelta) -> None:
        self.skipped += delta
