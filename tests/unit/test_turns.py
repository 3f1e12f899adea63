"""Dispatcher lanes take turns, and a lane stuck on its channel loses its turn to the others."""

from __future__ import annotations

import threading
import time

from bot.notifications.dispatcher import _Turns


def test_one_lane_at_a_time_while_they_are_quick() -> None:
    turns = _Turns(patience=5.0)
    inside, most = 0, 0
    lock = threading.Lock()

    def lane() -> None:
        nonlocal inside, most
        for _ in range(20):
            with turns.turn():
                with lock:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.001)
                with lock:
                    inside -= 1

    threads = [threading.Thread(target=lane) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert most == 1


def test_a_lane_stuck_past_its_patience_holds_nobody_back() -> None:
    turns = _Turns(patience=0.05)
    release, stuck = threading.Event(), threading.Event()

    def stuck_lane() -> None:
        with turns.turn():
            stuck.set()
            release.wait(30)

    holder = threading.Thread(target=stuck_lane)
    holder.start()
    assert stuck.wait(10)
    done, most, inside = 0, 0, 0
    lock = threading.Lock()

    def quick_lane() -> None:
        nonlocal done, most, inside
        for _ in range(25):  # each would wait for a turn forever if the stuck lane held it
            with turns.turn():
                with lock:
                    inside += 1
                    most = max(most, inside)
                    done += 1
                time.sleep(0.001)
                with lock:
                    inside -= 1

    quick = [threading.Thread(target=quick_lane) for _ in range(2)]
    for t in quick:
        t.start()
    for t in quick:
        t.join(30)
    assert most == 1  # the others still take turns among themselves
    release.set()
    holder.join(10)
    assert done == 50
    with turns.turn():  # and once it is done, turns are taken again
        pass
