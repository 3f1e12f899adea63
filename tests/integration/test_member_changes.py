"""Member changes on a real database: what one process heard of Slack's ``user_change``, read by
another process's cache from where it last looked. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.adapters import orm
from bot.adapters.directory import Directory
from bot.adapters.member_changes import MemberChangeFeed
from bot.bootstrap import Container
from bot.domain.commands import NoteMemberChange
from tests.conftest import FixedClock
from tests.integration.helpers import rows


class Users:
    """Just enough of WebClient: everyone is here, in Seoul; the calls counted."""

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def users_info(self, user: str, include_locale: bool = False) -> dict[str, Any]:
        with self.lock:
            self.calls += 1
        return {"user": {"id": user, "tz": "Asia/Seoul"}}


def test_a_feed_brings_each_change_once_into_its_cache(container: Container) -> None:
    users = Users()
    cache = Directory(users, ZoneInfo("UTC"))  # type: ignore[arg-type]
    feed = MemberChangeFeed(container.engine, cache)
    for user in ("UA", "UB", "UC"):
        cache.profile(user)

    container.bus.handle(NoteMemberChange("UA"))  # a new zone, say
    container.bus.handle(NoteMemberChange("UB", deleted=True))
    assert feed.catch_up() == 2
    assert cache.cached("UA") is None  # asked again at its next use
    gone = cache.cached("UB")
    assert gone is not None and gone.gone
    assert cache.cached("UC") is not None
    cache.profile("UA")
    assert feed.catch_up() == 0  # nothing new: UA's fresh profile stays
    assert cache.cached("UA") is not None and users.calls == 4

    container.bus.handle(NoteMemberChange("UC"))
    assert feed.catch_up() == 1
    assert cache.cached("UC") is None and cache.cached("UA") is not None


def test_a_new_feed_hears_the_departures_still_kept(container: Container) -> None:
    container.bus.handle(NoteMemberChange("UB", deleted=True))
    cache = Directory(Users(), ZoneInfo("UTC"))  # type: ignore[arg-type]
    assert MemberChangeFeed(container.engine, cache).catch_up() == 1
    gone = cache.cached("UB")
    assert gone is not None and gone.gone


def test_changes_older_than_a_day_are_dropped(container: Container, clock: FixedClock) -> None:
    container.bus.handle(NoteMemberChange("UA"))
    [first] = rows(container.engine, orm.member_changes)
    clock.advance(timedelta(hours=25))
    container.bus.handle(NoteMemberChange("UB"))
    kept = rows(container.engine, orm.member_changes, orm.member_changes.c.id)
    assert [r["user_id"] for r in kept] == ["UB"]
    assert kept[0]["id"] > first["id"]  # never reused, or a feed would miss the next change


def test_a_web_process_looks_after_a_request_at_most_every_few_seconds(
    container: Container,
) -> None:
    cache = Directory(Users(), ZoneInfo("UTC"))  # type: ignore[arg-type]
    ticks = [0.0]
    feed = MemberChangeFeed(container.engine, cache, every=5.0, monotonic=lambda: ticks[0])
    cache.profile("UA")
    container.bus.handle(NoteMemberChange("UB", deleted=True))
    feed.catch_up_soon()  # never looked: it looks
    feed.wait(timeout=10)
    gone = cache.cached("UB")
    assert gone is not None and gone.gone

    container.bus.handle(NoteMemberChange("UA"))
    ticks[0] = 4.9
    feed.catch_up_soon()  # looked 4.9 s ago: not yet
    feed.wait(timeout=10)
    assert cache.cached("UA") is not None
    ticks[0] = 5.0
    feed.catch_up_soon()
    feed.wait(timeout=10)
    assert cache.cached("UA") is None

    cache.profile("UA")
    container.bus.handle(NoteMemberChange("UA"))
    ticks[0] = 11.0
    assert feed.catch_up() == 1  # a dispatcher's look before a claim counts as one
    cache.profile("UA")
    container.bus.handle(NoteMemberChange("UA"))
    ticks[0] = 15.0
    feed.catch_up_soon()
    feed.wait(timeout=10)
    assert cache.cached("UA") is not None
