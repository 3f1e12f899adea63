"""The per-channel breaker: counted failures open it, a trip opens it at once."""

from __future__ import annotations

from bot.notifications.breaker import CLOSED, HALF_OPEN, OPEN, Breaker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_trip_opens_at_once_and_a_trial_after_the_reset_closes_it() -> None:
    clock = Clock()
    changes: list[tuple[str, str]] = []
    breaker = Breaker("dm", fail_max=5, reset_seconds=30, monotonic=clock)
    breaker.on_change = lambda old, new: changes.append((old, new))
    breaker.trip()
    assert breaker.current_state == OPEN and breaker.admit() == 30
    clock.now = 31
    assert breaker.current_state == HALF_OPEN and breaker.admit() is None  # the one trial
    assert breaker.admit() is not None  # the others wait for it
    breaker.trip()  # the trial met the same problem
    assert breaker.current_state == OPEN
    clock.now = 62
    assert breaker.admit() is None
    breaker.success()
    assert breaker.current_state == CLOSED
    assert changes == [
        (CLOSED, OPEN),
        (HALF_OPEN, OPEN),
        (HALF_OPEN, CLOSED),
    ]
