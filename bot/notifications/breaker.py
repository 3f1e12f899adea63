"""A circuit breaker per channel that lets many sends run through it at once.

pybreaker (used before) holds one lock around every guarded call, so a channel's sends went
through it one at a time: the dispatcher could not have two DMs in flight. This breaker only
counts: the caller asks :meth:`Breaker.admit` before a send and reports the outcome, and no lock
is held while the send runs.

- *closed*: every send is admitted; ``fail_max`` failures in a row open the breaker.
- *open*: nothing is admitted until ``reset_seconds`` have passed since it opened.
- *half-open*: one trial send is admitted; its success closes the breaker, its failure opens it
  again. Other sends wait as in *open*.

:meth:`Breaker.trip` opens it at once, for a failure every send would meet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


class Breaker:
    def __init__(
        self,
        name: str,
        fail_max: int,
        reset_seconds: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.fail_max = fail_max
        self.reset_seconds = reset_seconds
        self._now = monotonic
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial = False  # a half-open trial is in flight
        #: Called with the new state whenever it changes (the dispatcher logs and wakes lanes).
        self.on_change: Callable[[str, str], None] = lambda old, new: None

    @property
    def current_state(self) -> str:
        with self._lock:
            return self._state_now()

    @property
    def fail_counter(self) -> int:
        return self._failures

    def admit(self) -> float | None:
        """None if a send may go now (it must then report :meth:`success` or :meth:`failure`,
        or :meth:`abandon` if it was not made); otherwise seconds until one may be tried."""
        with self._lock:
            state = self._state_now()
            if state == CLOSED:
                return None
            if state == HALF_OPEN and not self._trial:
                self._trial = True
                return None
            left = self._opened_at + self.reset_seconds - self._now()
            # half-open with a trial in flight: ask again shortly
            return left if left > 0 else min(1.0, self.reset_seconds)

    def success(self) -> None:
        with self._lock:
            old = self._state_now()
            self._failures = 0
            self._trial = False
            self._set(old, CLOSED)

    def failure(self) -> None:
        with self._lock:
            old = self._state_now()
            self._failures += 1
            if old == HALF_OPEN or (old == CLOSED and self._failures >= self.fail_max):
                self._opened_at = self._now()
                self._trial = False
                self._set(old, OPEN)

    def trip(self) -> None:
        """Open now, whatever the count: a failure that every send would meet (a revoked
        token) needs no ``fail_max`` sends to prove it."""
        with self._lock:
            old = self._state_now()
            self._failures = max(self._failures, self.fail_max)
            self._opened_at = self._now()
            self._trial = False
            self._set(old, OPEN)

    def abandon(self) -> None:
        """An admitted send was not made (its row was deferred): free the half-open trial."""
        with self._lock:
            self._trial = False

    def _state_now(self) -> str:
        if self._state == OPEN and self._now() - self._opened_at >= self.reset_seconds:
            self._state = HALF_OPEN
        return self._state

    def _set(self, old: str, new: str) -> None:
        self._state = new
        if old != new:
            self.on_change(old, new)
