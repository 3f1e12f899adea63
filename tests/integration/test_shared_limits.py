"""Slack's rate limits held across workers sharing a PostgreSQL database: two limiters on two
engines (as two processes would have) spend one allowance, and a 429 one of them met holds the
other too. Times come from a clock the test moves."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from bot.adapters import orm
from bot.adapters.db import make_engine
from bot.bootstrap import make_limiter
from bot.notifications.limits import Call, Rate, RateLimiter, SharedRateLimiter
from tests.conftest import make_settings

on_postgres = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)

CHANNEL = Rate(1.0, burst=4)
TIERS = {3: Rate.per_minute(50), 4: Rate.per_minute(100)}
CARD: list[Call] = [("chat.postMessage", "CAPPROVALS")]


class Steps:
    """A clock that moves only when told (seconds, read alike by every limiter given it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def steps() -> Steps:
    return Steps()


@pytest.fixture
def workers(database_url: str, steps: Steps) -> Iterator[tuple[SharedRateLimiter, ...]]:
    engines = [make_engine(database_url) for _ in range(2)]
    yield tuple(SharedRateLimiter(e, TIERS, CHANNEL, clock=steps) for e in engines)
    for engine in engines:
        engine.dispose()


def conforms(times: list[float], rate: Rate) -> bool:
    """Whether sends at ``times`` keep to the token bucket: in no stretch from one send to a
    later one did more go out than the burst plus what the rate refilled meanwhile."""
    ordered = sorted(times)
    return all(
        j - i + 1 <= rate.burst + (ordered[j] - ordered[i]) * rate.per_second + 1e-9
        for i in range(len(ordered))
        for j in range(i, len(ordered))
    )


@on_postgres
def test_two_workers_posting_to_one_channel_share_its_burst_and_its_rate(
    workers: tuple[SharedRateLimiter, ...],
) -> None:
    first, second = workers
    waits = [(first, second)[n % 2].reserve(CARD) for n in range(8)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0])
    # a DM channel has its own allowance, for both
    assert second.reserve([("chat.postMessage", "U1")]) == 0.0


@on_postgres
def test_sends_of_two_workers_together_never_exceed_the_channels_rate(
    workers: tuple[SharedRateLimiter, ...], steps: Steps
) -> None:
    """Reservations as they come, unevenly spaced, alternately from either worker: the moments
    they are told to send keep to one bucket's rate; one worker alone would have let the two
    send twice that."""
    gaps = [0.1, 0.0, 0.7, 0.2, 0.0, 1.3, 0.4, 0.1, 2.5, 0.0, 0.3, 0.9] * 3
    told: list[float] = []
    alone = [RateLimiter(TIERS, CHANNEL, monotonic=steps) for _ in workers]
    apart: list[float] = []
    for n, gap in enumerate(gaps):
        steps.now += gap
        told.append(steps.now + workers[n % 2].reserve(CARD))
        apart.append(steps.now + alone[n % 2].reserve(CARD))
    assert conforms(told, CHANNEL)
    assert not conforms(apart, CHANNEL)  # the in-memory buckets, one per process, as before


@on_postgres
def test_reservations_racing_from_two_workers_each_get_a_moment_of_their_own(
    workers: tuple[SharedRateLimiter, ...],
) -> None:
    """Many threads of both workers at the same instant: no reservation is lost between the
    read and the write of a bucket, so the moments are exactly one bucket's: the burst at once,
    then one a second."""
    waits: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def reserve(limiter: SharedRateLimiter) -> None:
        start.wait()
        for _ in range(5):
            wait = limiter.reserve(CARD)
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=reserve, args=(workers[n % 2],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(waits) == pytest.approx([0.0] * 4 + [float(n) for n in range(1, 37)])


@on_postgres
def test_a_method_tier_is_shared_as_a_channel_is(
    workers: tuple[SharedRateLimiter, ...],
) -> None:
    first, second = workers
    burst = int(TIERS[4].burst)
    waits = [(first, second)[n % 2].reserve([("views.publish", None)]) for n in range(burst + 1)]
    assert waits[:-1] == [0.0] * burst
    assert waits[-1] == pytest.approx(1 / TIERS[4].per_second)


@on_postgres
def test_a_429_one_worker_met_holds_the_other_until_retry_after(
    workers: tuple[SharedRateLimiter, ...], steps: Steps
) -> None:
    first, second = workers
    first.throttle("chat.postMessage", "CAPPROVALS", 30.0)
    assert second.reserve(CARD) == pytest.approx(30.0)
    assert second.reserve([("chat.postMessage", "U1")]) == 0.0  # other channels go on
    assert second.reserve([("chat.update", "CAPPROVALS")]) == 0.0  # and card updates
    steps.now += 30.0
    assert first.reserve(CARD) == 0.0


@on_postgres
def test_a_reservation_given_back_by_one_worker_is_the_others_to_take(
    workers: tuple[SharedRateLimiter, ...],
) -> None:
    first, second = workers
    for _ in range(4):
        first.reserve(CARD)
    assert first.reserve(CARD) == pytest.approx(1.0)
    first.release(CARD)  # it would not wait so long: the row went back to the outbox
    assert second.reserve(CARD) == pytest.approx(1.0)


@on_postgres
def test_full_buckets_are_pruned_and_a_throttled_one_is_kept(
    workers: tuple[SharedRateLimiter, ...], steps: Steps, engine: Engine
) -> None:
    first, second = workers
    for n in range(20):  # a DM channel each
        first.reserve([("chat.postMessage", f"U{n}")])
    first.reserve(CARD)
    second.throttle("chat.postMessage", "CAPPROVALS", 60.0)
    assert first.prune() == 0  # every bucket spent a token just now
    steps.now += 10.0
    assert second.prune() == 20  # the DM channels' buckets are full again
    with engine.connect() as conn:
        left = conn.execute(select(orm.slack_buckets.c.key)).scalars().all()
    assert left == ["channel:CAPPROVALS"]
    assert first.reserve(CARD) == pytest.approx(50.0)
    assert first.reserve([("chat.postMessage", "U1")]) == 0.0


@on_postgres
def test_on_the_databases_clock_a_429_holds_every_worker(database_url: str) -> None:
    """Without a clock given, the limiters read the database's: one clock for every worker,
    whichever host it runs on."""
    engines = [make_engine(database_url) for _ in range(2)]
    try:
        first, second = (SharedRateLimiter(e, TIERS, CHANNEL) for e in engines)
        assert first.reserve(CARD) == 0.0
        second.throttle("chat.postMessage", "CAPPROVALS", 30.0)
        assert 25.0 < first.reserve(CARD) <= 30.0
        with engines[0].connect() as conn:
            assert conn.execute(select(func.count()).select_from(orm.slack_buckets)).scalar() == 1
    finally:
        for engine in engines:
            engine.dispose()


@pytest.mark.parametrize("database_url", ["postgres", "sqlite"], indirect=True)
def test_workers_share_the_limits_on_postgresql_and_one_process_keeps_them_on_sqlite(
    database_url: str, engine: Engine
) -> None:
    limiter = make_limiter(make_settings(database_url), engine)
    shared = engine.dialect.name == "postgresql"
    assert isinstance(limiter, SharedRateLimiter if shared else RateLimiter)
