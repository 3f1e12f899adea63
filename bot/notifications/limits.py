"""Slack's rate limits, kept by the dispatcher before it calls, so it rarely meets a 429.

Slack limits each Web API method by tier, per workspace (Tier 2 about 20 calls a minute, Tier 3
about 50, Tier 4 about 100), and ``chat.postMessage`` about one message a second per channel,
with short bursts allowed. ``chat.update`` is Tier 3 and nothing more: updating a card does not
spend the channel's posting allowance, which new cards need. Each limit is a token bucket. A
send *reserves* its calls: it gets the moment at which all its buckets have a token for it, and
the tokens are taken from the future, so senders waiting on one bucket go out in order at its
rate while other buckets (another channel, another method) are not held up.

Slack counts a call when it arrives, not when it was reserved, and calls do not all travel
alike: the first of a burst may reach Slack a few hundred milliseconds after its turn (a new
connection, a loaded host) and a later one at once, closer to it than the bucket spaced them.
The channel's bucket therefore keeps that much refill in hand (:meth:`Rate.arriving_late`):
posts spaced by it reach Slack within Slack's own bucket when none is later than the assumed
jitter, at the cost of that jitter, once, for the posts past the burst.

A 429 says the bucket was wrong (another app shares the workspace's limits, or Slack is
stricter right now): :meth:`RateLimiter.throttle` empties that bucket until ``Retry-After``
has passed.

Several workers on one PostgreSQL database spend one allowance: :class:`SharedRateLimiter` keeps
the same buckets as rows of ``slack_buckets``, each reservation one short statement that takes
the rows' locks for its own duration only. One process (SQLite) keeps them in memory
(:class:`RateLimiter`); both answer the same questions the same way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine, text


@dataclass(frozen=True)
class Rate:
    """``per_second`` tokens a second, at most ``burst`` saved up."""

    per_second: float
    burst: float = 1.0

    @classmethod
    def per_minute(cls, calls: float, burst: float | None = None) -> Rate:
        return cls(calls / 60.0, burst if burst is not None else max(1.0, calls / 20.0))

    def arriving_late(self, seconds: float) -> Rate:
        """This rate for calls that may reach Slack up to ``seconds`` later than their turn, one
        more than another: ``seconds`` of refill are taken off the burst, so however unevenly
        the calls travel, they never come closer together at Slack than this rate allows."""
        burst = self.burst - self.per_second * seconds
        if burst < 1.0:
            raise ValueError(f"a burst of {self.burst:g} cannot absorb {seconds:g} s of jitter")
        return Rate(self.per_second, burst)


#: Web API tiers of the methods roombot calls while delivering (Slack's method pages).
METHOD_TIERS: Mapping[str, int] = {
    "chat.update": 3,
    "chat.delete": 3,
    "conversations.history": 3,
    "views.publish": 4,
    "users.info": 4,
}

#: Methods limited per channel (Slack's "special" limit for posting messages), on top of any tier.
PER_CHANNEL = frozenset({"chat.postMessage"})

#: A call a send makes: the Web API method and the channel it goes to (None: not per channel).
Call = tuple[str, str | None]

#: A bucket: ``(method, None)`` for a method's tier, ``("channel", id)`` for a channel's posts.
Key = tuple[str, str | None]


class Limiter(Protocol):
    def reserve(self, calls: Iterable[Call]) -> float:
        """Reserve a token for each call; return how many seconds from now they may be made
        (0: at once). A caller that does not wait so long gives them back (:meth:`release`)."""
        ...

    def release(self, calls: Iterable[Call]) -> None: ...

    def throttle(self, method: str, channel: str | None, seconds: float) -> None:
        """Slack answered 429 with ``Retry-After: seconds``: nothing on this method (and, for a
        per-channel method, this channel) goes out before then."""
        ...


class _Limits:
    """Which buckets a call spends, and at what rate each fills."""

    def __init__(self, tiers: Mapping[int, Rate], per_channel: Rate) -> None:
        self.tiers = dict(tiers)
        self.per_channel = per_channel

    def _keys(self, calls: Iterable[Call]) -> list[Key]:
        keys: list[Key] = []
        for method, channel in calls:
            if method in METHOD_TIERS and METHOD_TIERS[method] in self.tiers:
                keys.append((method, None))
            if method in PER_CHANNEL and channel is not None:
                keys.append(("channel", channel))
        return list(dict.fromkeys(keys))

    def _rate(self, key: Key) -> Rate:
        method, _ = key
        return self.per_channel if method == "channel" else self.tiers[METHOD_TIERS[method]]


class _Bucket:
    __slots__ = ("blocked_until", "rate", "tokens", "updated")

    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self.tokens = rate.burst
        self.updated = now
        self.blocked_until = 0.0

    def reserve(self, now: float) -> float:
        """Take a token (possibly one not there yet); return when it is there."""
        self._refill(now)
        self.tokens -= 1.0
        ready = now if self.tokens >= 0 else now + (-self.tokens) / self.rate.per_second
        return max(ready, self.blocked_until)

    def give_back(self, now: float) -> None:
        self._refill(now)
        self.tokens = min(self.tokens + 1.0, self.rate.burst)

    def block(self, until: float, now: float) -> None:
        self._refill(now)
        self.tokens = min(self.tokens, 0.0)
        self.blocked_until = max(self.blocked_until, until)

    def _refill(self, now: float) -> None:
        elapsed = max(now - self.updated, 0.0)
        self.tokens = min(self.rate.burst, self.tokens + elapsed * self.rate.per_second)
        self.updated = now


class RateLimiter(_Limits):
    """The buckets of one process, in memory."""

    def __init__(
        self,
        tiers: Mapping[int, Rate],
        per_channel: Rate,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(tiers, per_channel)
        self._now = monotonic
        self._lock = threading.Lock()
        self._buckets: dict[Key, _Bucket] = {}

    def reserve(self, calls: Iterable[Call]) -> float:
        with self._lock:
            now = self._now()
            ready = now
            for key in self._keys(calls):
                ready = max(ready, self._bucket(key, now).reserve(now))
            return ready - now

    def release(self, calls: Iterable[Call]) -> None:
        with self._lock:
            now = self._now()
            for key in self._keys(calls):
                self._bucket(key, now).give_back(now)

    def throttle(self, method: str, channel: str | None, seconds: float) -> None:
        with self._lock:
            now = self._now()
            for key in self._keys([(method, channel)]):
                self._bucket(key, now).block(now + seconds, now)

    def _bucket(self, key: Key, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self._rate(key), now)
        return bucket


# The statements below begin with ``now``: the clock given to the limiter, else the database's
# (the same for every worker, whatever host it runs on; fixed for the length of a statement).
# The buckets come as arrays of names, rates and bursts, so each statement is one constant text.
# A bucket's tokens are refilled up to ``now`` at the rate this limiter was given, as
# :meth:`_Bucket._refill` does; one that another worker moved a little after this ``now`` is not
# refilled backwards.

#: Take a token from each bucket (made full if it had no row) and say when the last is there.
_RESERVE = text("""
WITH now AS (
    SELECT coalesce(CAST(:now AS double precision), extract(epoch FROM statement_timestamp())) AS at
)
INSERT INTO slack_buckets AS b (key, per_second, burst, tokens, updated, blocked_until)
SELECT v.key, v.per_second, v.burst, v.burst - 1, now.at, 0
FROM unnest(
    CAST(:keys AS varchar[]), CAST(:rates AS float8[]), CAST(:bursts AS float8[])
) AS v (key, per_second, burst), now
ORDER BY v.key
ON CONFLICT (key) DO UPDATE SET
    per_second = excluded.per_second,
    burst = excluded.burst,
    tokens = least(
        excluded.burst, b.tokens + greatest(excluded.updated - b.updated, 0) * excluded.per_second
    ) - 1,
    updated = greatest(b.updated, excluded.updated)
RETURNING
    greatest(b.updated + greatest(-b.tokens, 0) / b.per_second, b.blocked_until)
    - (SELECT at FROM now)
""")

#: Give a token back to each bucket.
_RELEASE = text("""
WITH now AS (
    SELECT coalesce(CAST(:now AS double precision), extract(epoch FROM statement_timestamp())) AS at
)
UPDATE slack_buckets SET
    tokens = least(burst, tokens + greatest(now.at - updated, 0) * per_second + 1),
    updated = greatest(updated, now.at)
FROM now
WHERE key = ANY(CAST(:keys AS varchar[]))
""")

#: Empty each bucket and block it for ``seconds``.
_THROTTLE = text("""
WITH now AS (
    SELECT coalesce(CAST(:now AS double precision), extract(epoch FROM statement_timestamp())) AS at
)
INSERT INTO slack_buckets AS b (key, per_second, burst, tokens, updated, blocked_until)
SELECT v.key, v.per_second, v.burst, 0, now.at, now.at + CAST(:seconds AS double precision)
FROM unnest(
    CAST(:keys AS varchar[]), CAST(:rates AS float8[]), CAST(:bursts AS float8[])
) AS v (key, per_second, burst), now
ORDER BY v.key
ON CONFLICT (key) DO UPDATE SET
    tokens = least(
        excluded.burst,
        b.tokens + greatest(excluded.updated - b.updated, 0) * excluded.per_second,
        0
    ),
    updated = greatest(b.updated, excluded.updated),
    blocked_until = greatest(b.blocked_until, excluded.blocked_until)
""")

#: A bucket that is full again and not blocked is the same as none: its row goes.
_PRUNE = text("""
WITH now AS (
    SELECT coalesce(CAST(:now AS double precision), extract(epoch FROM statement_timestamp())) AS at
)
DELETE FROM slack_buckets USING now
WHERE blocked_until <= now.at AND tokens + (now.at - updated) * per_second >= burst
""")


class SharedRateLimiter(_Limits):
    """The buckets as rows of ``slack_buckets`` (PostgreSQL), spent by every worker together.

    A reservation is one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` in autocommit: it
    refills, takes the tokens and returns the wait under the rows' locks, which it holds for
    that statement only (a worker that dies holds nothing; its reservations just pass). Rows
    are locked in key order, so two reservations never deadlock. ``clock``: seconds on a clock
    every limiter sharing the table reads alike (tests); None: the database's.
    """

    #: How often (by this process's monotonic clock) rows of full, unblocked buckets are deleted:
    #: every DM recipient is a channel with a bucket of its own.
    PRUNE_EVERY_SECONDS = 300.0

    def __init__(
        self,
        engine: Engine,
        tiers: Mapping[int, Rate],
        per_channel: Rate,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(tiers, per_channel)
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._clock = clock
        self._next_prune = time.monotonic() + self.PRUNE_EVERY_SECONDS

    def reserve(self, calls: Iterable[Call]) -> float:
        keys = self._keys(calls)
        if not keys:
            return 0.0
        with self._engine.connect() as conn:
            waits = [float(w) for w in conn.execute(_RESERVE, self._params(keys)).scalars()]
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + self.PRUNE_EVERY_SECONDS
            self.prune()
        return max(0.0, *waits)

    def release(self, calls: Iterable[Call]) -> None:
        keys = self._keys(calls)
        if keys:
            with self._engine.connect() as conn:
                conn.execute(_RELEASE, self._params(keys))

    def throttle(self, method: str, channel: str | None, seconds: float) -> None:
        keys = self._keys([(method, channel)])
        if keys:
            with self._engine.connect() as conn:
                conn.execute(_THROTTLE, {**self._params(keys), "seconds": seconds})

    def prune(self) -> int:
        """Delete the rows of buckets that are full and unblocked; return how many went."""
        with self._engine.connect() as conn:
            return conn.execute(_PRUNE, {"now": self._now()}).rowcount

    def _params(self, keys: Sequence[Key]) -> dict[str, object]:
        rates = [self._rate(key) for key in keys]
        return {
            "now": self._now(),
            "keys": [_name(key) for key in keys],
            "rates": [float(rate.per_second) for rate in rates],
            "bursts": [float(rate.burst) for rate in rates],
        }

    def _now(self) -> float | None:
        return self._clock() if self._clock is not None else None


def _name(key: Key) -> str:
    method, channel = key
    return method if channel is None else f"{method}:{channel}"
