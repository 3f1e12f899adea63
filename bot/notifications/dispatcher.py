"""Delivers outbox rows: claim due rows, hand each to its channel's sender, record the outcome.

Why it is shaped like this:

- Booking commands only *write* rows (in their own transaction); this is the only code that talks
  to Slack or SMTP for notifications, so a dead mail server never slows down or fails a booking.
- Delivery is I/O-bound (a Slack call costs a round trip), so many rows are in flight at once:
  up to ``channel_in_flight`` per channel, each in a thread of that channel's pool, and up to
  ``max_in_flight`` overall. In the background every channel (a *lane*) claims only its own rows,
  and only as many as it has free threads, so a row is never leased while it waits for a thread,
  and a channel that hangs (a mail server that accepts connections and never answers) holds only
  its own rows; the others go on at their own pace. Nothing takes turns across channels.
- Slack's rate limits are kept here, before calling (:mod:`bot.notifications.limits`): a send
  waits (in the dispatcher, holding only its own lane's thread) until its method's and channel's
  buckets have a token, or, when that is further away than ``pace_wait_max_seconds``, is put back
  until then. A 429 throttles that method or channel by ``Retry-After`` and puts its row back
  without spending an attempt; no sender ever sleeps.
- Each channel has its own circuit breaker (:mod:`bot.notifications.breaker`, which lets sends
  through concurrently). After ``breaker_fail_max`` consecutive failures the channel's rows are
  *deferred* (put back, the attempt not counted) until a trial send is allowed, so an outage
  does not burn every row's attempts: a failure that leaves the breaker open (the one opening
  it, a failed trial) is the channel's, not the row's, and its row waits uncounted too, as does
  a row whose sender could not reach something else it needs (:class:`UpstreamUnavailable`:
  ``users.info`` for an address). Attempts are spent by failures of the row itself. A setup
  problem (Slack refusing the token or a scope, :class:`Misconfigured`; the approvals channel
  refusing cards) opens the breaker at once and is logged once, not once per row;
  ``on_misconfigured`` has the admins told about the channel.
- Transient failures back off exponentially with full jitter, so rows failing together do not
  retry together; after the last attempt a row is dead and the operator sees it.
- App Home and approval card rows render *current* state: rows for the same home or card are
  coalesced into one publish, which is one send: its outcome is every row's, and a failure
  spends one attempt (the newest row's, see :meth:`Dispatcher._failed`). Rows for the same
  recipient (home, card, or one person's DMs or emails) go out one after the other in row
  order; different recipients' go out at once.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, Self

from bot.config import Settings
from bot.notifications.breaker import CLOSED, Breaker
from bot.notifications.failures import (
    Misconfigured,
    NoRecipient,
    PermanentFailure,
    RateLimited,
    RecipientGone,
    RetryLater,
    UpstreamUnavailable,
)
from bot.notifications.limits import Call, Limiter
from bot.notifications.outbox import OutboxRow, OutboxStore
from bot.services.ports import Channel

log = logging.getLogger(__name__)

#: How many times a row's calls are reserved afresh after they changed while it waited.
_REPACE_MAX = 3

#: Delivers one row. Raises :class:`PermanentFailure` when retrying cannot help, anything else
#: when it might. A sender that calls Slack also has ``calls(row)``: the Web API calls the row
#: costs, which the dispatcher paces by Slack's rate limits before sending.
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
    #: A row whose failures keep its channel's breaker open this long is dead, although none of
    #: them counted as an attempt (a row failing alone keeps its own breaker open).
    max_age_seconds: float = 24 * 3600.0
    #: Sends in flight at once: in all, and per channel.
    max_in_flight: int = 32
    channel_in_flight: int = 8
    #: A send that Slack's rate limits hold up longer than this is put back instead of waiting.
    pace_wait_max_seconds: float = 5.0

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
            "max_age_seconds": settings.outbox_max_age_hours * 3600,
            "max_in_flight": settings.outbox_max_in_flight,
            "channel_in_flight": settings.outbox_channel_in_flight,
        }
        values.update(overrides)
        return cls(**values)


_Queued = tuple[Sequence[OutboxRow], float, "Future[None]"]


class _Lane:
    """One channel's threads, and how many of them are busy."""

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size
        self.pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix=f"outbox-{name}")
        self.busy = 0
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.soonest: float | None = None  # monotonic time a row put back here is due

    def free(self) -> int:
        with self.lock:
            return self.size - self.busy

    def due_in(self, now: float, poll: float) -> float:
        with self.lock:
            if self.soonest is None:
                return poll
            return min(poll, max(self.soonest - now, 0.01))

    def put_back(self, due: float) -> None:
        with self.lock:
            self.soonest = due if self.soonest is None else min(self.soonest, due)

    def claiming(self, now: float) -> None:
        with self.lock:
            if self.soonest is not None and self.soonest <= now:
                self.soonest = None


class Dispatcher:
    def __init__(
        self,
        store: OutboxStore,
        senders: Mapping[str, Sender],
        params: DispatchSettings | None = None,
        clock: Callable[[], datetime] = _utcnow,
        *,
        limiter: Limiter | None = None,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.senders = dict(senders)
        self.params = params or DispatchSettings()
        self.clock = clock
        self.limiter = limiter
        self._rng = rng or random.Random()
        self._monotonic = monotonic
        self._breakers: dict[str, Breaker] = {}
        self._breakers_lock = threading.Lock()
        self._told_no_email: set[str] = set()
        #: Rows put back uncounted because their own failure kept the breaker open, with the
        #: monotonic time of the first such failure (kept in memory: a restart starts it again).
        self._down_since: dict[int, float] = {}
        #: Setup problems logged, each with the channels whose breaker it holds open.
        self._problems: dict[str, set[str]] = {}
        self._told_lock = threading.Lock()
        self._in_flight = threading.BoundedSemaphore(self.params.max_in_flight)
        #: Units waiting behind one in flight for the same recipient (see :meth:`_submit`).
        self._waiting: dict[tuple[object, ...], deque[_Queued]] = {}
        self._lanes: dict[str, _Lane] = {}
        self._lanes_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        #: Called by :meth:`close` after the loop stopped (the mailer's connections, say).
        self.closers: list[Callable[[], None]] = []
        #: Wakes this dispatcher when another process commits outbox rows (PostgreSQL).
        self.listener: Listener | None = None
        #: Told the user id when a sender finds its recipient left the workspace (the runtime
        #: releases their bookings), after their row was skipped.
        self.on_departed: Callable[[str], None] | None = None
        #: Told each setup problem a send met, every time (the approvals channel refusing cards:
        #: the runtime has the admins told once).
        self.on_misconfigured: Callable[[Misconfigured], None] | None = None
        #: Called before each claim: brings what other processes heard from Slack since (a
        #: member deactivated or changed) into this one's users.info cache, so no row claimed
        #: after it is sent as if it had not happened.
        self.before_claim: Callable[[], object] | None = None

    # -- batches in the caller's thread ---------------------------------------------------------

    @property
    def lanes(self) -> tuple[str, ...]:
        """Every channel rows may be written for (configured or not: rows of a channel without a
        sender are skipped, so they must be claimed too) and every channel with a sender."""
        return tuple(dict.fromkeys([*(str(c) for c in Channel), *self.senders]))

    def run_once(self, channels: Collection[str] | None = None) -> int:
        """Claim one batch of due rows (of ``channels``, or of any channel), deliver it with as
        many sends in flight as the lanes allow, and return how many rows were claimed."""
        p = self.params
        if self.before_claim is not None:
            self.before_claim()
        rows = self.store.claim(
            self.clock(),
            p.batch_size,
            p.lease_seconds,
            max_attempts=p.max_attempts,
            channels=channels,
        )
        started = self._monotonic()
        futures = [self._submit(unit, started) for unit in _coalesce(rows)]
        for future in futures:
            future.result()
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

    def breaker(self, channel: str) -> Breaker:
        with self._breakers_lock:
            found = self._breakers.get(channel)
            if found is None:
                found = Breaker(
                    channel,
                    self.params.breaker_fail_max,
                    self.params.breaker_reset_seconds,
                    monotonic=self._monotonic,
                )
                found.on_change = self._breaker_changed(channel)
                self._breakers[channel] = found
            return found

    def _breaker_changed(self, channel: str) -> Callable[[str, str], None]:
        def changed(old: str, new: str) -> None:
            # An outage is news when it begins; each failed trial after it is not.
            level = logging.WARNING if (old, new) == ("closed", "open") else logging.INFO
            log.log(level, "%s circuit breaker %s -> %s", channel, old, new)
            if new == "closed":
                self._fixed(channel)

        return changed

    # -- one unit -------------------------------------------------------------------------------

    def _lane(self, channel: str) -> _Lane:
        with self._lanes_lock:
            lane = self._lanes.get(channel)
            if lane is None:
                lane = self._lanes[channel] = _Lane(channel, self.params.channel_in_flight)
            return lane

    def _submit(self, unit: Sequence[OutboxRow], batch_started: float) -> Future[None]:
        """Hand a unit to its lane's threads. Units for the same recipient (the same home or
        card, the same person's DMs or emails) go out one after the other, in row order, so
        nobody reads "cancelled" before "approved"; a unit waiting behind another holds no
        thread."""
        lane = self._lane(unit[-1].channel)
        key = _order_key(unit[-1])
        future: Future[None] = Future()
        with lane.lock:
            lane.busy += 1
            waiting = self._waiting.get(key)
            if waiting is not None:
                waiting.append((unit, batch_started, future))
                return future
            self._waiting[key] = deque()
        lane.pool.submit(self._run_in_order, lane, key, unit, batch_started, future)
        return future

    def _run_in_order(
        self,
        lane: _Lane,
        key: tuple[object, ...],
        unit: Sequence[OutboxRow],
        batch_started: float,
        future: Future[None],
    ) -> None:
        while True:
            self._run_unit(unit, batch_started)
            with lane.lock:
                lane.busy -= 1
                waiting = self._waiting[key]
                following = waiting.popleft() if waiting else None
                if following is None:
                    del self._waiting[key]
            future.set_result(None)
            lane.wake.set()
            if following is None:
                return
            unit, batch_started, future = following

    def _run_unit(self, unit: Sequence[OutboxRow], batch_started: float) -> None:
        try:
            if self._monotonic() - batch_started > self.params.lease_seconds / 2:
                log.warning("%s row %d waited half its lease; handing it back", *_who(unit[-1]))
                for row in unit:
                    self.store.defer(row.id, self.clock(), now=self.clock())
                return
            self._deliver(unit)
        except Exception:
            # The database may be briefly unreachable; the rows keep their lease and come back.
            log.exception("delivering %s row %d failed", *_who(unit[-1]))

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
        describe = getattr(sender, "calls", None)
        if self.limiter is not None and describe is not None and not self._paced(unit, describe):
            return
        breaker = self.breaker(row.channel)
        closed_for = breaker.admit()
        if closed_for is not None:
            self._put_back(unit, closed_for)
            return
        started = time.perf_counter()
        down = False  # put back because its own failure keeps the channel's breaker open
        try:
            with self._in_flight:
                sender(row)
        except RateLimited as exc:
            breaker.abandon()
            if self.limiter is not None:
                self.limiter.throttle(exc.method, exc.channel, exc.after_seconds)
            log.info("%s row %d: %s; putting it back", row.channel, row.id, exc)
            self._put_back(unit, exc.after_seconds)
        except Misconfigured as exc:
            # Every row of the channel would fail alike: stop trying them until a trial.
            breaker.trip()
            self._put_back(unit, breaker.reset_seconds)
            self._tell_misconfigured(row.channel, exc)
        except NoRecipient as exc:
            breaker.success()  # the channel answered
            self._tell_no_recipient(row, exc)
            for each in unit:
                self.store.mark_skipped(
                    each.id, str(exc), now=self.clock(), duration_ms=_ms(started)
                )
            if isinstance(exc, RecipientGone) and self.on_departed is not None:
                self.on_departed(exc.user)
        except PermanentFailure as exc:
            breaker.success()
            log.warning("%s to %s (row %d) failed for good: %s", *_who(row, exc))
            self._dead(unit, exc, started)
        except UpstreamUnavailable as exc:
            # Not the channel's fault, nor the row's: it waits, the attempt given back.
            breaker.abandon()
            log.info("%s row %d: %s; putting it back", row.channel, row.id, exc)
            self._put_back(unit, self._rng.uniform(0.5, 1.0) * breaker.reset_seconds)
        except RetryLater as exc:
            breaker.abandon()  # not the channel's fault
            self._failed(unit, exc, started)
        except Exception as exc:
            breaker.failure()
            if breaker.current_state == CLOSED:
                self._failed(unit, exc, started)
            elif (
                self._monotonic() - self._down_since.setdefault(row.id, self._monotonic())
                > self.params.max_age_seconds
            ):
                log.error(
                    "%s to %s (row %d) is dead, failing for %.0f hours with its channel paused: %s",
                    row.channel,
                    row.recipient,
                    row.id,
                    self.params.max_age_seconds / 3600,
                    _describe(exc),
                )
                self._dead(unit, exc, started)
            else:
                # This failure opened the breaker, or was its failed trial: the channel is down,
                # which is no failure of the row's. It waits for the next trial, uncounted (up to
                # max_age_seconds: a row that fails alone keeps the breaker open by itself).
                log.info("%s row %d: %s; the channel is down, putting it back", *_who(row), exc)
                self._put_back(unit, breaker.reset_seconds)
                down = True
        else:
            breaker.success()
            self.store.mark_sent(
                row.id,
                self.clock(),
                duration_ms=_ms(started),
                covering=[each.id for each in unit[:-1]],
            )
        if not down:
            self._down_since.pop(row.id, None)

    def _failed(self, unit: Sequence[OutboxRow], exc: BaseException, started: float) -> None:
        """One failed send: the attempt is the newest row's, which stood for the unit. The rows
        it covered wait with it, their attempts given back, and are claimed with it again; when
        it is dead, they are dead with it, so a unit is tried ``max_attempts`` times in all."""
        row = unit[-1]
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
        self.store.mark_failed(
            row.id,
            _describe(exc),
            now,
            retry_at,
            duration_ms=_ms(started),
            covering=[each.id for each in unit[:-1]],
        )

    def _dead(self, unit: Sequence[OutboxRow], exc: BaseException, started: float) -> None:
        """The unit failed for good: one send, so one attempt (the newest row's)."""
        self.store.mark_failed(
            unit[-1].id,
            _describe(exc),
            self.clock(),
            None,
            duration_ms=_ms(started),
            covering=[each.id for each in unit[:-1]],
        )

    def backoff(self, attempts: int, exc: BaseException | None = None) -> float:
        """Full jitter: a random delay up to ``min(max, base * 2**(attempts-1))``, and never
        sooner than the server asked for."""
        p = self.params
        cap = min(p.backoff_max_seconds, p.backoff_base_seconds * 2 ** max(attempts - 1, 0))
        delay = self._rng.uniform(0, cap)
        if isinstance(exc, RetryLater):
            delay = max(delay, exc.after_seconds)
        return delay

    def _paced(
        self, unit: Sequence[OutboxRow], describe: Callable[[OutboxRow], list[Call]]
    ) -> bool:
        """Wait until the row's calls may be made (True), or put it back (False).

        What a row costs may change while it waits: another worker posts the card this row
        was to post, so it updates the card instead. The calls are asked again after a wait,
        and reserved afresh if they changed, so a token reserved for a post that is no longer
        needed goes back to the channel for the posts behind it.
        """
        assert self.limiter is not None
        row = unit[-1]
        calls = describe(row)
        for _ in range(_REPACE_MAX):
            wait = self.limiter.reserve(calls)
            if wait > self.params.pace_wait_max_seconds:
                self.limiter.release(calls)
                self._put_back(unit, wait)
                return False
            if wait <= 0:
                return True
            if self._stop.wait(wait):
                self.limiter.release(calls)
                self._put_back(unit, 0)
                return False
            now_costs = describe(row)
            if now_costs == calls:
                return True
            self.limiter.release(calls)
            calls = now_costs
        return True

    def _put_back(self, unit: Sequence[OutboxRow], seconds: float) -> None:
        """Defer rows without counting the attempt, and make their lane look again in time."""
        now = self.clock()
        for row in unit:
            self.store.defer(row.id, now + timedelta(seconds=seconds), now=now)
        self._lane(unit[-1].channel).put_back(self._monotonic() + seconds)

    def _tell_no_recipient(self, row: OutboxRow, exc: NoRecipient) -> None:
        user = exc.user or row.recipient
        with self._told_lock:
            if user in self._told_no_email:
                return
            self._told_no_email.add(user)
        log.info("not sending %s to %s: %s", row.channel, user, exc)

    def _tell_misconfigured(self, channel: str, exc: Misconfigured) -> None:
        """Log a setup problem once, however many rows and channels meet it, until every
        channel it held up works again."""
        with self._told_lock:
            held = self._problems.get(exc.key)
            new = held is None
            self._problems.setdefault(exc.key, set()).add(channel)
        if new:
            log.error(
                "%s: %s; notifications wait, none spends an attempt, until it is fixed",
                exc,
                exc.fix,
            )
        if self.on_misconfigured is not None:
            self.on_misconfigured(exc)

    def _fixed(self, channel: str) -> None:
        with self._told_lock:
            for key, held in list(self._problems.items()):
                held.discard(channel)
                if not held:
                    del self._problems[key]
                    log.info("%s works again (%s is fixed)", channel, key)

    # -- background loop ------------------------------------------------------------------------

    def wake(self) -> None:
        """Make every lane look for due rows now instead of at its next poll."""
        with self._lanes_lock:
            lanes = list(self._lanes.values())
        for lane in lanes:
            lane.wake.set()

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
        """Start one claiming thread per lane (and the cross-process listener, if any)."""
        if self.running:
            return
        self._stop.clear()
        self._threads = [
            threading.Thread(
                target=self._loop, args=(self._lane(lane),), name=f"outbox-{lane}", daemon=True
            )
            for lane in self.lanes
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
        with self._lanes_lock:
            lanes = list(self._lanes.values())
        for lane in lanes:
            lane.pool.shutdown(wait=True, cancel_futures=True)
        with self._lanes_lock:
            self._lanes.clear()

    def close(self) -> None:
        self.stop()
        for closer in self.closers:
            try:
                closer()
            except Exception:
                log.exception("closing %r failed", closer)

    def _loop(self, lane: _Lane) -> None:
        p = self.params
        while not self._stop.is_set():
            lane.wake.clear()
            free = min(lane.free(), p.batch_size)
            claimed = 0
            if free > 0:
                try:
                    lane.claiming(self._monotonic())
                    if self.before_claim is not None:
                        self.before_claim()
                    rows = self.store.claim(
                        self.clock(),
                        free,
                        p.lease_seconds,
                        max_attempts=p.max_attempts,
                        channels=(lane.name,),
                    )
                    started = self._monotonic()
                    for unit in _coalesce(rows):
                        self._submit(unit, started)
                    claimed = len(rows)
                except Exception:
                    # The database may be briefly unreachable; the rows wait there.
                    log.exception("%s dispatch failed; retrying in %ss", lane.name, p.poll_seconds)
            if claimed and claimed == free:
                continue  # more may be due: claim again as soon as a thread is free
            lane.wake.wait(lane.due_in(self._monotonic(), p.poll_seconds))


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
    if row.channel == Channel.CARD and "booking_id" in row.payload:
        return (row.channel, row.recipient, row.payload["booking_id"])
    return None  # a message about one event (a note to the approvals channel among them)


def _order_key(row: OutboxRow) -> tuple[object, ...]:
    """Rows that must not overtake each other: the same rendering, or the same person's."""
    return _rendering(row) or (row.channel, row.recipient)


def _who(row: OutboxRow, exc: BaseException | None = None) -> tuple[object, ...]:
    if exc is None:
        return (row.channel, row.id)
    return (row.channel, row.recipient, row.id, exc)


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:2000]
