"""Delivers outbox rows: claim a batch, hand each row to its channel's sender, record the outcome.

Why it is shaped like this:

- Booking commands only *write* rows (in their own transaction); this is the only code that talks
  to Slack or SMTP for notifications, so a dead mail server never slows down or fails a booking.
- Each channel is a *lane*: in the background, every channel has its own thread claiming only
  that channel's rows. A mail server that accepts connections and never answers holds up the
  email lane for its timeout on every try; approval cards, DMs and home tabs go on meanwhile.
- Lanes take turns: only one sends at a time, and one that has been sending longer than
  ``turn_patience_seconds`` (it is waiting on a slow channel) loses its turn to the others.
  Python runs one thread at a time, so four lanes busy at once would take four shares of the
  interpreter from the web threads answering Slack; taking turns keeps notification work to one
  share, and a stalled channel still stalls only itself.
- Each channel has its own circuit breaker (``pybreaker``). After ``fail_max`` consecutive failures
  the channel's rows are *deferred* (put back, the attempt not counted) until the breaker lets a
  trial call through, so an outage does not burn every row's attempts.
- Transient failures back off exponentially with full jitter, so rows failing together do not
  retry together; after the last attempt a row is dead and the operator sees it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, Self

import pybreaker

from bot.config import Settings
from bot.notifications.failures import (
    NoRecipient,
    PermanentFailure,
    RetryLater,
    UpstreamUnavailable,
)
from bot.notifications.outbox import OutboxRow, OutboxStore
from bot.services.ports import Channel

log = logging.getLogger(__name__)

#: Delivers one row. Raises :class:`PermanentFailure` when retrying cannot help, anything else
#: when it might.
Sender = Callable[[OutboxRow], None]


class Listener(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DispatchSettings:
    batch_size: int = 50
    max_attempts: int = 8
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 900.0
    poll_seconds: float = 5.0
    #: How long a claimed row is this worker's. A batch stops taking new rows after half of it,
    #: so a slow batch hands its rest back instead of letting another worker send them twice.
    lease_seconds: float = 300.0
    breaker_fail_max: int = 5
    breaker_reset_seconds: float = 30.0
    #: How long a lane may send before the others stop waiting for their turn.
    turn_patience_seconds: float = 0.25

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> Self:
        """Read the OUTBOX_* settings."""
        values: dict[str, Any] = {
            "batch_size": settings.outbox_batch_size,
            "max_attempts": settings.outbox_max_attempts,
            "backoff_base_seconds": settings.outbox_backoff_base_seconds,
            "backoff_max_seconds": settings.outbox_backoff_max_seconds,
            "poll_seconds": settings.outbox_poll_seconds,
            "lease_seconds": settings.outbox_lease_seconds,
            "breaker_fail_max": settings.outbox_breaker_fail_max,
            "breaker_reset_seconds": settings.outbox_breaker_reset_seconds,
        }
        values.update(overrides)
        return cls(**values)


class _OpenSince(pybreaker.CircuitBreakerListener):
    """Remembers when the breaker opened, so deferred rows can wait exactly until it half-opens."""

    def __init__(self) -> None:
        self.opened_at: float | None = None

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        self.opened_at = time.monotonic() if new_state.name == pybreaker.STATE_OPEN else None


@dataclass
class _Channel:
    breaker: pybreaker.CircuitBreaker
    opened: _OpenSince

    def wait_seconds(self) -> float | None:
        """Seconds until the breaker lets a trial call through; None when it lets calls now."""
        if self.breaker.current_state != pybreaker.STATE_OPEN:
            return None
        since = self.opened.opened_at
        if since is None:
            return None
        remaining = self.breaker.reset_timeout - (time.monotonic() - since)
        return remaining if remaining > 0 else None


class _Turns:
    """One lane sends at a time. A lane whose send outlasts ``patience`` (it is waiting on a slow
    channel) loses its turn to the next lane waiting, and the others keep taking turns among
    themselves; when the slow send ends, its lane simply waits for a turn again."""

    def __init__(self, patience: float) -> None:
        self.patience = patience
        self._changed = threading.Condition()
        self._since: float | None = None
        self._holder = 0  # which turn is current; a turn taken over is not released twice

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._changed:
            while self._since is not None:
                left = self.patience - (time.monotonic() - self._since)
                if left <= 0:
                    break  # the lane sending is stuck on its channel: take the turn over
                self._changed.wait(left)
            self._holder += 1
            mine = self._holder
            self._since = time.monotonic()
        try:
            yield
        finally:
            with self._changed:
                if self._holder == mine:
                    self._since = None
                    self._changed.notify()


class Dispatcher:
    def __init__(
        self,
        store: OutboxStore,
        senders: Mapping[str, Sender],
        params: DispatchSettings | None = None,
        clock: Callable[[], datetime] = _utcnow,
        breakers: Mapping[str, pybreaker.CircuitBreaker] | None = None,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.senders = dict(senders)
        self.params = params or DispatchSettings()
        self.clock = clock
        self._rng = rng or random.Random()
        self._channels: dict[str, _Channel] = {}
        self._channels_lock = threading.Lock()
        for channel, breaker in (breakers or {}).items():
            self._channels[channel] = self._watch(breaker)
        self._told_no_email: set[str] = set()
        self._told_lock = threading.Lock()
        self._turns = _Turns(self.params.turn_patience_seconds)
        self._wakes: dict[str, threading.Event] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        #: Called by :meth:`close` after the loop stopped (the mailer's connection, say).
        self.closers: list[Callable[[], None]] = []
        #: Wakes this dispatcher when another process commits outbox rows (PostgreSQL).
        self.listener: Listener | None = None

    # -- one batch ------------------------------------------------------------------------------

    @property
    def lanes(self) -> tuple[str, ...]:
        """Every channel rows may be written for (configured or not: rows of a channel without a
        sender are skipped, so they must be claimed too) and every channel with a sender."""
        return tuple(dict.fromkeys([*(str(c) for c in Channel), *self.senders]))

    def run_once(self, channels: Collection[str] | None = None) -> int:
        """Claim one batch of due rows (of ``channels``, or of any channel) and deliver it; return
        how many rows were claimed."""
        p = self.params
        rows = self.store.claim(
            self.clock(),
            p.batch_size,
            p.lease_seconds,
            max_attempts=p.max_attempts,
            channels=channels,
        )
        started = time.monotonic()
        units = _coalesce(rows)
        for index, unit in enumerate(units):
            if index and time.monotonic() - started > p.lease_seconds / 2:
                rest = [row for later in units[index:] for row in later]
                log.warning(
                    "batch is slow; handing %d row(s) back before the lease ends", len(rest)
                )
                for late in rest:
                    self.store.defer(late.id, self.clock(), now=self.clock())
                break
            with self._turns.turn():
                self._deliver(unit)
        return len(rows)

    def drain(self, max_batches: int = 1000, channels: Collection[str] | None = None) -> int:
        """Run batches until none is due (or ``max_batches``, so a flood cannot starve the loop's
        stop check); return how many rows were handled."""
        total = 0
        for _ in range(max_batches):
            if self._stop.is_set():
                break
            handled = self.run_once(channels)
            total += handled
            if handled < self.params.batch_size:
                break
        return total

    def breaker(self, channel: str) -> pybreaker.CircuitBreaker:
        return self._channel(channel).breaker

    def _deliver(self, unit: Sequence[OutboxRow]) -> None:
        """Send one row, or one rendering standing for several rows (see :func:`_coalesce`):
        the newest row is sent, and its outcome is every row's."""
        row = unit[-1]
        sender = self.senders.get(row.channel)
        if sender is None:
            for each in unit:
                self.store.mark_skipped(
                    each.id, f"{row.channel} is not configured", now=self.clock()
                )
            return
        channel = self._channel(row.channel)
        wait = channel.wait_seconds()
        if wait is not None:
            for each in unit:
                self._defer(each, wait)
            return
        started = time.perf_counter()
        try:
            channel.breaker.call(sender, row)
        except pybreaker.CircuitBreakerError as exc:
            tried = exc.__context__
            if tried is None or isinstance(tried, pybreaker.CircuitBreakerError):
                # Another thread opened the breaker between the check above and the call, or
                # the breaker's own clock is a hair behind ours: look again soon.
                wait = channel.wait_seconds() or min(1.0, channel.breaker.reset_timeout)
                for each in unit:
                    self._defer(each, wait)
            else:
                # A breaker made with throw_new_error_on_trip=True: this attempt was made and
                # failed, which is what tripped it.
                for each in unit:
                    self._failed(each, tried, started)
        except NoRecipient as exc:
            self._tell_no_recipient(row, exc)
            for each in unit:
                self.store.mark_skipped(
                    each.id, str(exc), now=self.clock(), duration_ms=_ms(started)
                )
        except PermanentFailure as exc:
            log.warning(
                "%s to %s (row %d) failed for good: %s", row.channel, row.recipient, row.id, exc
            )
            for each in unit:
                self.store.mark_failed(
                    each.id, _describe(exc), self.clock(), None, duration_ms=_ms(started)
                )
        except Exception as exc:
            for each in unit:
                self._failed(each, exc, started)
        else:
            self.store.mark_sent(
                row.id,
                self.clock(),
                duration_ms=_ms(started),
                covering=[each.id for each in unit[:-1]],
            )

    def _failed(self, row: OutboxRow, exc: BaseException, started: float) -> None:
        now = self.clock()
        if row.attempts >= self.params.max_attempts:
            log.error(
                "%s to %s (row %d) is dead after %d attempts: %s",
                row.channel,
                row.recipient,
                row.id,
                row.attempts,
                _describe(exc),
            )
            retry_at = None
        else:
            retry_at = now + timedelta(seconds=self.backoff(row.attempts, exc))
            log.info(
                "%s to %s (row %d) failed (attempt %d), retrying at %s: %s",
                row.channel,
                row.recipient,
                row.id,
                row.attempts,
                retry_at.isoformat(timespec="seconds"),
                _describe(exc),
            )
        self.store.mark_failed(row.id, _describe(exc), now, retry_at, duration_ms=_ms(started))

    def backoff(self, attempts: int, exc: BaseException | None = None) -> float:
        """Full jitter: a random delay up to ``min(max, base * 2**(attempts-1))``, and never
        sooner than the server asked for."""
        p = self.params
        cap = min(p.backoff_max_seconds, p.backoff_base_seconds * 2 ** max(attempts - 1, 0))
        delay = self._rng.uniform(0, cap)
        if isinstance(exc, RetryLater):
            delay = max(delay, exc.after_seconds)
        return delay

    def _defer(self, row: OutboxRow, seconds: float) -> None:
        now = self.clock()
        self.store.defer(row.id, now + timedelta(seconds=seconds), now=now)

    def _tell_no_recipient(self, row: OutboxRow, exc: NoRecipient) -> None:
        user = exc.user or row.recipient
        with self._told_lock:
            if user in self._told_no_email:
                return
            self._told_no_email.add(user)
        log.info("not sending %s to %s: %s", row.channel, user, exc)

    def _channel(self, name: str) -> _Channel:
        with self._channels_lock:
            found = self._channels.get(name)
            if found is None:
                found = self._watch(
                    pybreaker.CircuitBreaker(
                        fail_max=self.params.breaker_fail_max,
                        reset_timeout=self.params.breaker_reset_seconds,
                        exclude=[PermanentFailure, UpstreamUnavailable],
                        name=name,
                        # The call that trips the breaker raises its own error: it was tried.
                        throw_new_error_on_trip=False,
                    )
                )
                self._channels[name] = found
            return found

    @staticmethod
    def _watch(breaker: pybreaker.CircuitBreaker) -> _Channel:
        opened = _OpenSince()
        breaker.add_listener(opened)
        return _Channel(breaker, opened)

    # -- background loop ------------------------------------------------------------------------

    def wake(self) -> None:
        """Make every lane run a batch now instead of at its next poll."""
        for event in self._wakes.values():
            event.set()

    def after_commit(self, events: Sequence[object]) -> None:
        """Message-bus hook: a command committed, and may have written outbox rows (the notices
        of its events, or a refresh someone asked for): send them now. A wake with nothing due
        costs one claim per lane."""
        self.wake()

    def poll(self) -> None:
        """Scheduler job: nudge the lanes if they run, otherwise deliver in the caller's thread."""
        if self.running:
            self.wake()
        else:
            self.drain()

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def start(self) -> None:
        """Start one delivery thread per lane (and the cross-process listener, if any)."""
        if self.running:
            return
        self._stop.clear()
        self._wakes = {lane: threading.Event() for lane in self.lanes}
        self._threads = [
            threading.Thread(
                target=self._loop, args=(lane, wake), name=f"outbox-{lane}", daemon=True
            )
            for lane, wake in self._wakes.items()
        ]
        for thread in self._threads:
            thread.start()
        if self.listener is not None:
            self.listener.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the rows in flight; a row still unsent keeps its lease and is retried."""
        if self.listener is not None:
            self.listener.stop()
        self._stop.set()
        self.wake()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0))
        self._threads = []

    def close(self) -> None:
        self.stop()
        for closer in self.closers:
            try:
                closer()
            except Exception:
                log.exception("closing %r failed", closer)

    def _loop(self, lane: str, wake: threading.Event) -> None:
        while not self._stop.is_set():
            wake.clear()
            try:
                self.drain(channels=(lane,))
            except Exception:
                # The database may be briefly unreachable; the rows wait there, so try again later.
                log.exception("%s dispatch failed; retrying in %ss", lane, self.params.poll_seconds)
            wake.wait(self.params.poll_seconds)


def _coalesce(rows: Sequence[OutboxRow]) -> list[list[OutboxRow]]:
    """Group a batch into units to send, oldest first.

    A DM or an email is a message about one event: each row is its own unit. An App Home or an
    approval card is a rendering of *current* state, made when it is sent, so one publish answers
    every refresh of the same home (or the same booking's card) queued before it. In a burst
    (an admin approving a queue of requests) this sends the admin's home once per batch instead
    of once per approval.
    """
    units: list[list[OutboxRow]] = []
    same: dict[tuple[object, ...], list[OutboxRow]] = {}
    for row in rows:
        key = _rendering(row)
        if key is None:
            units.append([row])
        elif key in same:
            same[key].append(row)
        else:
            same[key] = [row]
            units.append(same[key])
    return units


def _rendering(row: OutboxRow) -> tuple[object, ...] | None:
    """What a state row renders (rows with the same key publish the same thing), or None."""
    if row.channel == Channel.HOME:
        return (row.channel, row.recipient)
    if row.channel == Channel.CARD:
        return (row.channel, row.recipient, row.payload.get("booking_id"))
    return None


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:2000]
