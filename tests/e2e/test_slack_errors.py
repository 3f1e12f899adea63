"""Slack's errors handled the way Slack documents them, each produced by the strict fake: token
and scope errors hold every Slack row back (no attempt spent) and say once what to fix; the rows
go out once it is fixed."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from bot.adapters.slack import make_client
from bot.bootstrap import Runtime, bootstrap
from bot.domain import commands as c
from bot.notifications.dispatcher import DispatchSettings
from bot.notifications.failures import TOKEN_FIXES
from tests.conftest import ADMIN, FixedClock, make_settings
from tests.e2e.mail import DeliveryClock
from tests.fakes.slack_api import TOKEN, StrictSlackApi
from tests.integration.helpers import add_rooms, outbox

APPROVALS = "CAPPROVALS"
BOOKER = "UBOOKER"
SLACK = ("dm", "card", "home")


@pytest.fixture
def fake() -> Iterator[StrictSlackApi]:
    with StrictSlackApi(channels=(APPROVALS,)) as api:
        api.add_user(BOOKER, tz="Asia/Seoul", email="booker@example.com")
        api.add_user(ADMIN, tz="Europe/Berlin")
        yield api


@pytest.fixture
def later(clock: FixedClock) -> DeliveryClock:
    return DeliveryClock(clock)


@pytest.fixture
def runtime(
    database_url: str, engine: Engine, clock: FixedClock, fake: StrictSlackApi, later: DeliveryClock
) -> Iterator[Runtime]:
    settings = make_settings(database_url, slack_bot_token=TOKEN, slack_api_url=fake.url)
    container = bootstrap(
        settings,
        engine=engine,
        clock=clock,
        slack=True,
        receiving=False,
        client=make_client(TOKEN, fake.url, timeout=5),
        dispatch=DispatchSettings.from_settings(
            settings, backoff_base_seconds=1, backoff_max_seconds=1
        ),
        # the dispatcher's time, breakers included, is the test's to move
        delivery_clock=later,
        delivery_monotonic=lambda: later().timestamp(),
    )
    add_rooms(container.bus, "102")
    yield container
    container.close()


def request(runtime: Runtime, clock: FixedClock, hours: int = 1) -> int:
    start = clock.now + timedelta(hours=hours)
    booking: int = runtime.bus.handle(
        c.RequestBooking("102", start, start + timedelta(hours=1), BOOKER, title="Sync")
    )
    return booking


def deliver(runtime: Runtime, later: DeliveryClock, rounds: int = 20) -> None:
    """Drain, letting every backoff and breaker timeout pass, until nothing waits."""
    for _ in range(rounds):
        runtime.dispatcher.drain()
        if not {r["status"] for r in outbox(runtime.engine)} & {"pending", "sending"}:
            return
        later.advance(timedelta(seconds=31))
    raise AssertionError([(r["channel"], r["status"]) for r in outbox(runtime.engine)])


def told(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    """What the notification wing logged that mentions ``text``."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("bot.notifications") and text in r.getMessage()
    ]


def delivered_dms(fake: StrictSlackApi) -> Counter[str]:
    return Counter(
        x.params["text"]
        for x in fake.calls_to("chat.postMessage")
        if x.params["channel"] == BOOKER and x.status == 200 and x.response.get("ok")
    )


@pytest.mark.parametrize("error", [*sorted(TOKEN_FIXES), "missing_scope"])
def test_a_token_error_holds_slack_rows_back_says_once_what_to_fix_and_they_resume(
    error: str,
    runtime: Runtime,
    clock: FixedClock,
    later: DeliveryClock,
    fake: StrictSlackApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if error == "missing_scope":
        fake.require_scope("chat.postMessage", "chat:write")
        held, key = ("dm", "card"), "chat:write"
    else:
        fake.break_token(error)
        held, key = SLACK, error
    for hours in (1, 3, 5):
        request(runtime, clock, hours)
    with caplog.at_level(logging.INFO):
        runtime.dispatcher.drain()
        for _ in range(3):  # the breakers' trials meet the same error: still one line
            later.advance(timedelta(seconds=31))
            runtime.dispatcher.drain()

    waiting = [r for r in outbox(runtime.engine) if r["channel"] in held]
    assert len({r["channel"] for r in waiting}) == len(held)
    assert {(r["status"], r["attempts"]) for r in waiting} == {("pending", 0)}
    (line,) = told(caplog, key)
    assert "SLACK_BOT_TOKEN" in line or "workspace has been disabled" in line
    for channel in held:
        assert runtime.dispatcher.breaker(channel).current_state != "closed"

    if error == "missing_scope":
        fake.require_scope("chat.postMessage", None)
    else:
        fake.break_token(None)
    deliver(runtime, later)
    assert {r["status"] for r in outbox(runtime.engine) if r["channel"] in SLACK} == {"sent"}
    assert sorted(delivered_dms(fake).values()) == [1, 1, 1]  # each DM once
    for channel in held:
        assert runtime.dispatcher.breaker(channel).current_state == "closed"
