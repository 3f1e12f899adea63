"""Slack's rate limits as the dispatcher keeps them: a bucket per method tier, and one per channel
for posting messages only."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from bot.notifications.limits import Rate, RateLimiter
from tests.fakes.slack_api import POST_PER_CHANNEL


class Steps:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def limiter(clock: Steps) -> RateLimiter:
    return RateLimiter(
        {3: Rate.per_minute(50), 4: Rate.per_minute(100)}, Rate(1.0, burst=4), monotonic=clock
    )


def test_posts_to_one_channel_go_at_its_rate_after_the_burst() -> None:
    clock = Steps()
    limits = limiter(clock)
    waits = [limits.reserve([("chat.postMessage", "CAPPROVALS")]) for _ in range(6)]
    assert waits == [0.0, 0.0, 0.0, 0.0, 1.0, 2.0]
    # another channel (a DM) has its own allowance
    assert limits.reserve([("chat.postMessage", "U1")]) == 0.0


def test_card_updates_do_not_spend_the_channels_posting_allowance() -> None:
    clock = Steps()
    limits = limiter(clock)
    for _ in range(4):
        assert limits.reserve([("chat.postMessage", "CAPPROVALS")]) == 0.0
    # chat.update is Tier 3 only: it goes out now, and the next new card is not pushed back
    assert limits.reserve([("chat.update", "CAPPROVALS")]) == 0.0
    assert limits.reserve([("chat.postMessage", "CAPPROVALS")]) == 1.0


def test_updates_keep_their_tier() -> None:
    clock = Steps()
    limits = limiter(clock)
    burst = Rate.per_minute(50).burst
    waits = [limits.reserve([("chat.update", f"C{n}")]) for n in range(int(burst) + 1)]
    assert waits[:-1] == [0.0] * int(burst)
    assert waits[-1] > 0.0


def test_a_429_on_one_channel_holds_that_channel_only() -> None:
    clock = Steps()
    limits = limiter(clock)
    limits.throttle("chat.postMessage", "CAPPROVALS", 30.0)
    assert limits.reserve([("chat.postMessage", "CAPPROVALS")]) == 30.0
    assert limits.reserve([("chat.postMessage", "U1")]) == 0.0
    assert limits.reserve([("chat.update", "CAPPROVALS")]) == 0.0


class SlackChannel:
    """A channel's posting bucket as the strict fake keeps it: spent when a post arrives."""

    def __init__(self) -> None:
        self.tokens = POST_PER_CHANNEL.capacity
        self.at: float | None = None

    def arrive(self, at: float) -> bool:
        if self.at is not None:
            refilled = self.tokens + (at - self.at) * POST_PER_CHANNEL.refill
            self.tokens = min(POST_PER_CHANNEL.capacity, refilled)
        self.at = at
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


JITTER = 0.5


def refused_at_slack(per_channel: Rate, late: Sequence[float]) -> int:
    """Posts asked for within a second, each sent when the limiter says and reaching Slack
    ``late[n]`` seconds after that; how many Slack refuses."""
    clock = Steps()
    limits = RateLimiter({}, per_channel, monotonic=clock)
    arrivals = []
    for n in range(len(late)):
        clock.now = 100.0 + n / len(late)
        wait = limits.reserve([("chat.postMessage", "CAPPROVALS")])
        arrivals.append(clock.now + wait + late[n])
    slack = SlackChannel()
    return sum(not slack.arrive(at) for at in sorted(arrivals))


def test_posts_paced_by_the_channel_bucket_reach_slack_within_its_limit_despite_jitter() -> None:
    per_channel = Rate(POST_PER_CHANNEL.refill, POST_PER_CHANNEL.capacity).arriving_late(JITTER)
    # the first of the burst travels slowest, the rest at once: the bench's 429
    assert refused_at_slack(per_channel, [JITTER] + [0.0] * 23) == 0
    for seed in range(20):
        delays = random.Random(seed)
        assert refused_at_slack(per_channel, [delays.uniform(0.0, JITTER) for _ in range(24)]) == 0


def test_without_the_margin_a_slow_first_post_meets_a_429() -> None:
    exact = Rate(POST_PER_CHANNEL.refill, POST_PER_CHANNEL.capacity)
    assert refused_at_slack(exact, [0.01] + [0.0] * 23) == 1


def test_the_margin_delays_the_posts_past_the_burst_by_the_jitter_once() -> None:
    clock = Steps()
    limits = RateLimiter({}, Rate(1.0, burst=4).arriving_late(JITTER), monotonic=clock)
    waits = [limits.reserve([("chat.postMessage", "CAPPROVALS")]) for _ in range(6)]
    assert waits == [0.0, 0.0, 0.0, JITTER, 1.0 + JITTER, 2.0 + JITTER]


def test_a_burst_too_small_for_the_jitter_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot absorb"):
        Rate(1.0, burst=1).arriving_late(JITTER)
