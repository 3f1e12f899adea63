"""Slack's rate limits, kept by the dispatcher before it calls, so it rarely meets a 429.

Slack limits each Web API method by tier, per workspace (Tier 2 about 20 calls a minute, Tier 3
about 50, Tier 4 about 100), and ``chat.postMessage`` about one message a second per channel,
with short bursts allowed. ``chat.update`` is Tier 3 and nothing more: updating a card does not
spend the channel's posting allowance, which new cards need. Each limit is a token bucket. A
send *reserves* its calls: it gets the moment at which all its buckets have a token for it, and
the tokens are taken from the future, so senders waiting on one bucket go out in order at its
rate while other buckets (another channel, another method) are not held up.

A 429 says the bucket was wrong (another app shares the workspace's limits, or Slack is
stricter right now): :meth:`RateLimiter.throttle` empties that bucket until ``Retry-After``
has passed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    """``per_second`` tokens a second, at most ``burst`` saved up."""

    per_second: float
    burst: float = 1.0

    @classmethod
    def per_minute(cls, calls: float, burst: float | None = None) -> Rate:
        return cls(calls / 60.0, burst if burst is not None else max(1.0, calls / 20.0))


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


class RateLimiter:
    def __init__(
        self,
        tiers: Mapping[int, Rate],
        per_channel: Rate,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tiers = dict(tiers)
        self.per_channel = per_channel
        self._now = monotonic
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str | None], _Bucket] = {}

    def reserve(self, calls: Iterable[Call]) -> float:
        """Reserve a token for each call; return how many seconds from now they may be made
        (0: at once). A caller that does not wait so long gives them back (:meth:`release`)."""
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
        """Slack answered 429 with ``Retry-After: seconds``: nothing on this method (and, for a
        per-channel method, this channel) goes out before then."""
        with self._lock:
            now = self._now()
            for key in self._keys([(method, channel)]):
                self._bucket(key, now).block(now + seconds, now)

    def _keys(self, calls: Iterable[Call]) -> list[tuple[str, str | None]]:
        keys: list[tuple[str, str | None]] = []
        for method, channel in calls:
            if method in METHOD_TIERS and METHOD_TIERS[method] in self.tiers:
                keys.append((method, None))
            if method in PER_CHANNEL and channel is not None:
                keys.append(("channel", channel))
        return list(dict.fromkeys(keys))

    def _bucket(self, key: tuple[str, str | None], now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            method, _ = key
            rate = self.per_channel if method == "channel" else self.tiers[METHOD_TIERS[method]]
            bucket = self._buckets[key] = _Bucket(rate, now)
        return bucket
