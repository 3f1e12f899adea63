"""Concurrent, rate-limit aware delivery: many sends in flight, bounded per channel and in all;
a stalled channel holds only its own rows; Slack's limits kept before calling, and a 429 puts
its row back without spending an attempt."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.notifications.dispatcher import Dispatcher, DispatchSettings
from bot.notifications.failures import RateLimited, UpstreamUnavailable
from bot.notifications.limits import Call, Rate, RateLimiter
from bot.notifications.outbox import OutboxRow, OutboxStore
from tests.conftest import FixedClock
from tests.integration.test_outbox import add_rows, by_id, log_of

WAIT = 10.0  # seconds a test waits for an event that must happen (never reached when green)


class Gate:
    """A sender that holds every send until released, counting how many are inside at once."""

    def __init__(self, calls: list[Call] | None = None) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.inside = 0
        self.most = 0
        self.sent: list[int] = []
        self.arrived = threading.Condition(self.lock)
        self._calls = calls

    def calls(self, row: OutboxRow) -> list[Call]:
        return self._calls if self._calls is not None else []

    def __call__(self, row: OutboxRow) -> None:
        with self.lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
            self.arrived.notify_all()
        try:
            assert self.release.wait(WAIT), "never released"
        finally:
            with self.lock:
                self.inside -= 1
                self.sent.append(row.id)

    def wait_inside(self, count: int) -> None:
        with self.lock:
            assert self.arrived.wait_for(lambda: self.inside >= count, WAIT), self.inside


def make(engine: Engine, clock: FixedClock, senders: dict[str, Any], **params: Any) -> Dispatcher:
    settings = DispatchSettings(**{"lease_seconds": 60.0, "poll_seconds": 60.0, **params})
    return Dispatcher(OutboxStore(engine), senders, settings, clock)


def test_sends_of_one_channel_run_at_once_up_to_the_channel_bound(
    engine: Engine, clock: FixedClock
) -> None:
    ids = add_rows(engine, 12, clock.now, channel="dm")
    dm = Gate()
    d = make(engine, clock, {"dm": dm}, channel_in_flight=5, batch_size=20)
    runner = threading.Thread(target=d.run_once)
    runner.start()
    dm.wait_inside(5)
    assert dm.inside == 5  # the bound, not one at a time
    dm.release.set()
    runner.join(WAIT)
    assert sorted(dm.sent) == ids and dm.most == 5
    d.stop()


def test_the_overall_bound_holds_across_channels(engine: Engine, clock: FixedClock) -> None:
    add_rows(engine, 6, clock.now, channel="dm")
    add_rows(engine, 6, clock.now, channel="email")
    gate = Gate()
    d = make(engine, clock, {"dm": gate, "email": gate}, channel_in_flight=6, max_in_flight=4)
    runner = threading.Thread(target=d.run_once)
    runner.start()
    gate.wait_inside(4)
    gate.release.set()
    runner.join(WAIT)
    assert gate.most == 4 and len(gate.sent) == 12
    d.stop()


def test_a_stalled_channel_holds_only_its_own_rows(engine: Engine, clock: FixedClock) -> None:
    """The background lanes: email hangs on every row, DMs and cards all go out meanwhile."""
    add_rows(engine, 3, clock.now, channel="email")
    dms = add_rows(engine, 20, clock.now, channel="dm")
    email = Gate()
    sent = threading.Semaphore(0)

    def dm(row: OutboxRow) -> None:
        sent.release()

    d = make(engine, clock, {"email": email, "dm": dm}, channel_in_flight=2)
    d.start()
    try:
        email.wait_inside(2)
        for _ in dms:
            assert sent.acquire(timeout=WAIT)
        assert email.inside == 2 and email.sent == []  # still stuck, and only email waited
    finally:
        email.release.set()
        d.stop()
    stored = by_id(engine)
    assert {stored[i]["status"] for i in dms} == {"sent"}


class Steps:
    """A monotonic clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rows_held_back_by_the_limiter_keep_their_attempts(
    engine: Engine, clock: FixedClock
) -> None:
    ids = add_rows(engine, 5, clock.now, channel="dm")
    steps = Steps()
    # one DM channel per recipient; every row goes to a different one, so a tier bucket is what
    # binds here: two tokens, refilled every 30 s
    limiter = RateLimiter({4: Rate(1 / 30, burst=2)}, Rate(1.0, burst=4), monotonic=steps)
    sent: list[int] = []

    class Publish:
        def calls(self, row: OutboxRow) -> list[Call]:
            return [("views.publish", None)]

        def __call__(self, row: OutboxRow) -> None:
            sent.append(row.id)

    d = Dispatcher(
        OutboxStore(engine),
        {"dm": Publish()},
        DispatchSettings(pace_wait_max_seconds=1.0, channel_in_flight=1),
        clock,
        limiter=limiter,
        monotonic=steps,
    )
    assert d.run_once() == 5
    assert sent == ids[:2]
    stored = by_id(engine)
    assert [stored[i]["status"] for i in ids] == ["sent"] * 2 + ["pending"] * 3
    assert [stored[i]["attempts"] for i in ids] == [1, 1, 0, 0, 0]
    assert Counter(e["outcome"] for e in log_of(engine)) == {"sent": 2, "deferred": 3}


def test_a_row_whose_calls_changed_while_it_waited_gives_back_what_it_no_longer_needs(
    engine: Engine, clock: FixedClock
) -> None:
    """Another worker posted the card this row was to post: after its wait the row updates the
    card instead, and the post it had reserved goes back to the channel for the posts behind."""
    ids = add_rows(engine, 2, clock.now, channel="dm")
    steps = Steps()  # stands still: the second post's wait is the bucket's 10 ms, slept for real
    limiter = RateLimiter({3: Rate.per_minute(50)}, Rate(100.0, burst=1), monotonic=steps)
    asked: Counter[int] = Counter()
    sent: list[int] = []

    class Card:
        def calls(self, row: OutboxRow) -> list[Call]:
            asked[row.id] += 1
            return [("chat.postMessage", "C")] if asked[row.id] == 1 else [("chat.update", "C")]

        def __call__(self, row: OutboxRow) -> None:
            sent.append(row.id)

    d = Dispatcher(
        OutboxStore(engine),
        {"dm": Card()},
        DispatchSettings(pace_wait_max_seconds=1.0, channel_in_flight=1),
        clock,
        limiter=limiter,
        monotonic=steps,
    )
    assert d.run_once() == 2
    assert sent == ids
    assert asked == {ids[0]: 1, ids[1]: 2}  # the first went at once; the second waited
    # one post spent, not two: the next waits for one token, not two
    assert limiter.reserve([("chat.postMessage", "C")]) == pytest.approx(0.01)


def test_a_429_throttles_the_method_and_puts_the_row_back_without_an_attempt(
    engine: Engine, clock: FixedClock
) -> None:
    ids = add_rows(engine, 3, clock.now, channel="home")
    steps = Steps()
    limiter = RateLimiter({4: Rate.per_minute(100)}, Rate(1.0, burst=4), monotonic=steps)
    tried: list[int] = []

    class Home:
        def calls(self, row: OutboxRow) -> list[Call]:
            return [("views.publish", None)]

        def __call__(self, row: OutboxRow) -> None:
            tried.append(row.id)
            raise RateLimited("429", 30.0, "views.publish", None)

    d = Dispatcher(
        OutboxStore(engine),
        {"home": Home()},
        DispatchSettings(pace_wait_max_seconds=1.0, channel_in_flight=1),
        clock,
        limiter=limiter,
        monotonic=steps,
    )
    assert d.run_once() == 3
    assert len(tried) == 1  # the others saw the method throttled and were not tried
    stored = by_id(engine)
    assert [stored[i]["attempts"] for i in ids] == [0, 0, 0]
    assert {stored[i]["status"] for i in ids} == {"pending"}
    assert d.breaker("home").current_state == "closed"  # a 429 is no outage


class Outage:
    """A sender whose channel (or what it needs besides) is down until ``up`` is set."""

    def __init__(self, failure: Exception) -> None:
        self.failure = failure
        self.up = False
        self.tries = 0
        self.sent: list[int] = []

    def __call__(self, row: OutboxRow) -> None:
        self.tries += 1
        if not self.up:
            raise self.failure
        self.sent.append(row.id)


@pytest.mark.parametrize(
    "failure",
    [OSError("connection refused"), UpstreamUnavailable("users.info unreachable")],
    ids=["channel down", "upstream down"],
)
def test_an_outage_longer_than_every_attempt_loses_no_row(
    failure: Exception, engine: Engine, clock: FixedClock
) -> None:
    """Ten minutes down with three attempts a row: the failure that opens the breaker, its
    failed trials, and an unreachable upstream are not the rows' failures; none is spent."""
    ids = add_rows(engine, 3, clock.now, channel="email")
    steps = Steps()
    email = Outage(failure)
    d = Dispatcher(
        OutboxStore(engine),
        {"email": email},
        DispatchSettings(
            breaker_fail_max=1, breaker_reset_seconds=30, channel_in_flight=1, max_attempts=3
        ),
        clock,
        monotonic=steps,
    )
    for _ in range(20):
        d.run_once()
        steps.now += 31
        clock.advance(timedelta(seconds=31))
    stored = by_id(engine)
    assert email.tries >= 10  # tried all along
    assert [(stored[i]["status"], stored[i]["attempts"]) for i in ids] == [("pending", 0)] * 3

    email.up = True
    for _ in range(3):
        d.run_once()
        steps.now += 31
        clock.advance(timedelta(seconds=31))
    assert sorted(email.sent) == ids
    assert {by_id(engine)[i]["status"] for i in ids} == {"sent"}
