"""Slack's rate limits as the dispatcher keeps them: a bucket per method tier, and one per channel
for posting messages only."""

from __future__ import annotations

from bot.notifications.limits import Rate, RateLimiter


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
