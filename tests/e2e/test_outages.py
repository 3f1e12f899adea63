"""Outages lose nothing: with Slack down for three minutes, and separately the mail server, no
row dies; attempts are spent only by failures of a row itself, not by an open breaker or an
unreachable ``users.info``; once the outage is over every row is sent exactly once.

The three minutes pass on the dispatcher's clock (its backoffs, breakers and the users.info
cache) and the fake Slack's, moved by the test: nothing sleeps.
"""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from bot.bootstrap import Runtime
from bot.demo.loopback import Inbox, held_port, smtp_server
from bot.domain import commands as c
from bot.notifications.dispatcher import DispatchSettings
from tests.conftest import ADMIN, FixedClock
from tests.e2e.conftest import APPROVALS, BOOKER, booker_slack, slack_runtime
from tests.e2e.mail import DeliveryClock
from tests.e2e.test_slack_errors import deliver, skip
from tests.fakes.slack_api import SLACK_LIMITS, Rate, StrictSlackApi
from tests.integration.helpers import outbox

OUTAGE = timedelta(minutes=3)
STEP = 10.0  # seconds of the outage between two passes of the dispatcher
BOOKINGS = 4


@pytest.fixture
def fake() -> Iterator[StrictSlackApi]:
    # Four bookings' DMs to one person within a second: a burst Slack's channel limit allows
    limits = {**SLACK_LIMITS, "chat.postMessage": Rate(1, 1.0, burst=12)}
    with booker_slack(limits, booker_locale="ko-KR") as api:
        yield api


@pytest.fixture
def mail_port() -> Iterator[socket.socket]:
    """The mail server's port, refusing connections until a test starts the server on it."""
    with held_port() as held:
        yield held


@pytest.fixture
def runtime(
    database_url: str,
    engine: Engine,
    clock: FixedClock,
    fake: StrictSlackApi,
    later: DeliveryClock,
    mail_port: socket.socket,
) -> Iterator[Runtime]:
    # the production delivery settings: 8 attempts, backoff from 2 s, breakers of 5 and 30 s
    with slack_runtime(
        database_url,
        engine,
        clock,
        fake,
        later=later,
        smtp_host="127.0.0.1",
        smtp_port=mail_port.getsockname()[1],
        smtp_starttls=False,
        smtp_timeout_seconds=2,
        mail_from="rooms@example.com",
        # the app paces its calls in bursts as large as the fake allows (12 posts to a channel,
        # 50 Tier 3 calls, not 4 and 2.5), so no pass waits for a token in real time: the test
        # moves the outage's time
        slack_channel_post_burst=12,
        slack_tier3_per_minute=1000,
    ) as container:
        yield container


def book(runtime: Runtime, clock: FixedClock) -> list[int]:
    """Requests by the booker; the admin approves every other one."""
    made = []
    for n in range(BOOKINGS):
        start = clock.now + timedelta(hours=2 * n + 1)
        booking = runtime.bus.handle(
            c.RequestBooking("102", start, start + timedelta(hours=1), BOOKER, title=f"Sync {n}")
        )
        if n % 2:
            runtime.bus.handle(c.ApproveBooking(booking, by=ADMIN))
        made.append(booking)
    return made


def last(runtime: Runtime, later: DeliveryClock, fake: StrictSlackApi) -> None:
    """The outage lasts: the dispatcher keeps passing over the outbox while time goes by. Only
    the failures before a breaker opened spent attempts (a few, in the first minute); every
    failure since was the channel's, and every row stays far from its last attempt."""
    passes = int(OUTAGE.total_seconds() / STEP)
    spent: dict[int, int] = {}
    for n in range(passes):
        runtime.dispatcher.drain()
        skip(later, fake, STEP)
        rows = outbox(runtime.engine)
        assert not [r for r in rows if r["status"] == "dead"]
        if n == passes // 3:
            spent = {r["id"]: r["attempts"] for r in rows}
    rows = outbox(runtime.engine)
    assert {r["id"]: r["attempts"] for r in rows} == spent  # nothing spent in two minutes
    assert max(r["attempts"] for r in rows) < DispatchSettings().max_attempts // 2


def assert_each_sent_once(runtime: Runtime, fake: StrictSlackApi, inbox: Inbox) -> None:
    rows = outbox(runtime.engine)
    assert Counter(r["status"] for r in rows) == {"sent": len(rows)}  # 0 dead, 0 waiting
    dms = Counter(
        (x.params["channel"], x.params["text"])
        for x in fake.calls_to("chat.postMessage")
        if x.status == 200 and x.response.get("ok") and not x.params["channel"].startswith("C")
    )
    assert sum(dms.values()) == len([r for r in rows if r["channel"] == "dm"])
    assert set(dms.values()) == {1}
    cards = [m for m in fake.messages(APPROVALS) if (m.get("metadata") or {}).get("event_payload")]
    assert len(cards) == BOOKINGS  # one card each
    emails = [r for r in rows if r["channel"] == "email"]
    ids = Counter(str(r.message["Message-ID"]) for r in inbox.received)
    assert len(ids) == len(emails) and set(ids.values()) == {1}


def test_a_three_minute_slack_outage_loses_nothing_and_sends_each_row_once(
    runtime: Runtime,
    clock: FixedClock,
    later: DeliveryClock,
    fake: StrictSlackApi,
    mail_port: socket.socket,
) -> None:
    with smtp_server(sock=mail_port) as (inbox, _):
        fake.outage()
        book(runtime, clock)
        last(runtime, later, fake)
        rows = outbox(runtime.engine)
        assert {r["status"] for r in rows} == {"pending"}
        assert not inbox.received
        # DMs and emails wait for users.info (their language, zone, address), uncounted
        assert {r["attempts"] for r in rows if r["channel"] in ("dm", "email")} == {0}

        fake.outage(False)
        deliver(runtime, later, fake)
        assert_each_sent_once(runtime, fake, inbox)
        # in each reader's own language, not a guess made while Slack could not be asked
        booker_dms = [
            x.params["text"]
            for x in fake.calls_to("chat.postMessage")
            if x.params["channel"] == BOOKER and x.status == 200
        ]
        assert all("예약" in text for text in booker_dms)


def test_a_three_minute_mail_outage_loses_nothing_and_sends_each_email_once(
    runtime: Runtime,
    clock: FixedClock,
    later: DeliveryClock,
    fake: StrictSlackApi,
    mail_port: socket.socket,
) -> None:
    book(runtime, clock)  # nobody listens on the mail port: connections are refused
    last(runtime, later, fake)
    emails = [r for r in outbox(runtime.engine) if r["channel"] == "email"]
    assert emails and {r["status"] for r in emails} == {"pending"}
    # Slack went on meanwhile
    assert {r["status"] for r in outbox(runtime.engine) if r["channel"] != "email"} == {"sent"}

    with smtp_server(sock=mail_port) as (inbox, _):
        deliver(runtime, later, fake)
        inbox.wait_for(len(emails))
        assert_each_sent_once(runtime, fake, inbox)
