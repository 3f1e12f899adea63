"""Fault isolation: booking keeps working while notification channels fail, and what was held back
is delivered exactly once when they recover.

The original system's requirement: "if notification is down, booking and approval keep working".
Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import socket
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.adapters.slack import make_client
from bot.bootstrap import bootstrap
from bot.demo.loopback import held_port, smtp_server
from bot.domain import commands as c
from bot.notifications.dispatcher import DispatchSettings
from bot.notifications.mailer import SmtpMailer
from bot.services.messagebus import MessageBus
from bot.services.ports import Channel
from tests.conftest import ADMIN, FixedClock, make_settings
from tests.e2e.conftest import BOOKER, booker_slack
from tests.e2e.mail import DeliveryClock, SilentServer
from tests.fakes.slack_api import SLACK_LIMITS, Rate, StrictSlackApi
from tests.integration.helpers import add_rooms, outbox

OTHER = "UOTHER"
STATE_SENDERS = {Channel.CARD: lambda row: None, Channel.HOME: lambda row: None}


@pytest.fixture
def fake() -> Iterator[StrictSlackApi]:
    # Five DMs to the booker within a second exceed Slack's burst for one channel (4); these
    # tests are about SMTP faults, so the DM channel gets a burst they stay within.
    limits = {**SLACK_LIMITS, "chat.postMessage": Rate(1, 1.0, burst=8)}
    with booker_slack(limits) as api:
        api.add_user(OTHER, tz="Europe/Paris", email="other@example.com")
        yield api


@pytest.fixture
def mail_port() -> Iterator[socket.socket]:
    """The mail server's port, held by the test until the server comes back on it."""
    with held_port() as held:
        yield held


class CountingMailer:
    """The real mailer, counting the messages handed to it (each one is an SMTP conversation)."""

    def __init__(self, inner: SmtpMailer) -> None:
        self.inner = inner
        self.sends = 0

    def send(self, message: EmailMessage) -> None:
        self.sends += 1
        self.inner.send(message)


def request_approve_deny(bus: MessageBus, clock: FixedClock) -> None:
    """Three requests by the booker; an admin approves the first and denies the second: five
    status changes, so five DMs and five emails to the booker."""
    bookings = [
        bus.handle(
            c.RequestBooking("102", *(clock.now + timedelta(hours=h + d) for d in (1, 2)), BOOKER)
        )
        for h in (0, 2, 4)
    ]
    bus.handle(c.ApproveBooking(bookings[0], by=ADMIN))
    bus.handle(c.DenyBooking(bookings[1], by=ADMIN, reason="cleaning"))


def _emails(engine: Engine) -> list[dict]:
    return [r for r in outbox(engine) if r["channel"] == "email"]


@pytest.mark.parametrize("fault", ["refused", "hanging"])
def test_bookings_work_while_smtp_is_down_and_each_email_goes_out_once_it_is_back(
    fault: str,
    database_url: str,
    engine: Engine,
    clock: FixedClock,
    fake: StrictSlackApi,
    mail_port: socket.socket,
) -> None:
    # refused: nobody listens on the port; hanging: a server takes connections and says nothing
    silent = SilentServer(mail_port).__enter__() if fault == "hanging" else None
    port = mail_port.getsockname()[1]
    settings = make_settings(
        database_url,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        smtp_timeout_seconds=0.3,
        mail_from="rooms@example.com",
        slack_bot_token="xoxb-test",
        slack_api_url=fake.url,
    )
    mailer = CountingMailer(SmtpMailer.from_settings(settings))
    later = DeliveryClock(clock)
    params = DispatchSettings.from_settings(
        settings,
        breaker_fail_max=2,
        channel_in_flight=1,  # one email at a time, so the breaker opens before the third
        breaker_reset_seconds=1.0,
        backoff_base_seconds=1,
        backoff_max_seconds=1,
    )
    container = bootstrap(
        settings,
        engine=engine,
        clock=clock,
        slack=True,
        receiving=False,
        client=WebClient(token="xoxb-test", base_url=fake.url),
        extra_senders=STATE_SENDERS,
        mailer=mailer,
        dispatch=params,
        # the breakers' time too: their reset timeout passes when the test moves it
        delivery_clock=later,
        delivery_monotonic=lambda: later().timestamp(),
    )
    dispatcher = container.dispatcher
    add_rooms(container.bus, "102")
    try:
        # booking, approving and denying never wait for the mail server, nor even call it
        began = time.monotonic()
        request_approve_deny(container.bus, clock)
        assert time.monotonic() - began < 5
        assert mailer.sends == 0
        assert silent is None or silent.accepted == 0

        # the dispatcher tries, the breaker opens after two failures (the second one's row
        # waits uncounted: the channel failed it), the rest wait uncounted too
        dispatcher.run_once()
        emails = _emails(engine)
        assert len(emails) == 5
        assert {r["status"] for r in emails} == {"pending"}
        assert [r["attempts"] for r in emails] == [1, 0, 0, 0, 0]
        assert mailer.sends == 2
        assert silent is None or silent.accepted == 2
        assert dispatcher.breaker(Channel.EMAIL).current_state in ("open", "half-open")
        # ... while Slack DMs flow as usual
        dms = [x for x in fake.calls_to("chat.postMessage") if x.params["channel"] == BOOKER]
        assert len(dms) == 5

        # the mail server comes back on the same port; from now on the mailer waits as long as it
        # would in production: 0.3 s could run out on a loaded machine after the server took the
        # message, and the row's retry would then send it a second time
        if silent is not None:
            silent.stop()
        mailer.inner = SmtpMailer.from_settings(
            settings.model_copy(update={"smtp_timeout_seconds": 10})
        )
        with smtp_server(sock=mail_port) as (inbox, _):
            # the breaker's reset timeout passes (a trial is allowed), and every backoff
            later.advance(timedelta(seconds=2))
            dispatcher.drain()
            received = inbox.wait_for(5)
            later.advance(timedelta(hours=1))
            dispatcher.drain()
            assert len(inbox.received) == 5
        ids = Counter(str(r.message["Message-ID"]) for r in received)
        assert len(ids) == 5 and set(ids.values()) == {1}  # each email once
        assert {r["status"] for r in _emails(engine)} == {"sent"}
        assert dispatcher.breaker(Channel.EMAIL).current_state == "closed"
    finally:
        dispatcher.close()
        if silent is not None:
            silent.stop()


def test_a_mail_server_that_never_answers_holds_up_email_only(
    database_url: str, engine: Engine, clock: FixedClock, fake: StrictSlackApi
) -> None:
    """The production wiring (``bootstrap(slack=True)``, the background dispatcher) with
    SMTP accepting connections and never answering, at the default 10 s timeout: while the first
    email is still stuck, every approval card, card update, DM and home tab has gone out."""
    with SilentServer() as silent:
        settings = make_settings(
            database_url,
            slack_bot_token="xoxb-test",
            slack_signing_secret="secret",
            slack_api_url=fake.url,
            smtp_host="127.0.0.1",
            smtp_port=silent.port,
            smtp_starttls=False,
            mail_from="rooms@example.com",
        )
        assert settings.smtp_timeout_seconds == 10  # the default, not shortened for the test
        client = make_client("xoxb-test", fake.url, timeout=5)
        container = bootstrap(
            settings,
            engine=engine,
            clock=clock,
            slack=True,
            client=client,
            delivery_clock=DeliveryClock(clock),
        )
        dispatcher = container.dispatcher
        add_rooms(container.bus, "102")
        dispatcher.start()
        try:
            request_approve_deny(container.bus, clock)

            def others_done() -> bool:
                rows = [r for r in outbox(engine) if r["channel"] != Channel.EMAIL]
                return bool(rows) and {r["status"] for r in rows} == {"sent"}

            began = (
                time.monotonic()
            )  # until the email lane is in its conversation, and the rest sent
            while not (others_done() and silent.accepted) and time.monotonic() - began < 30:
                time.sleep(0.05)
            emails = _emails(engine)
            # the first email is still in its SMTP conversation: nothing else waited for it
            # (the rows its batch claimed are leased; rows written later wait, never tried)
            assert silent.accepted == 1
            assert len(emails) == 5
            assert {(r["status"], r["attempts"]) for r in emails} <= {
                ("sending", 1),
                ("pending", 0),
            }
            assert emails[0]["status"] == "sending"
            assert others_done()
        finally:
            silent.stop()
            dispatcher.close()
    dms = [x for x in fake.calls_to("chat.postMessage") if x.params["channel"] == BOOKER]
    assert len(dms) == 5  # requested x3, approved, denied
    cards = [x for x in fake.calls_to("chat.postMessage") if x.params["channel"] == "CAPPROVALS"]
    assert len(cards) == 3
    # each card ends up showing its booking's outcome (posted that way, or updated in place)
    shown: dict[str, str] = {}
    for call in sorted([*cards, *fake.calls_to("chat.update")], key=lambda x: x.at):
        number = call.params["text"].split("#")[1].split(":")[0]
        shown[number] = call.params["text"].rsplit(" ", 1)[-1]
    assert sorted(shown.values()) == ["approved", "denied", "pending"]
    assert {x.params["user_id"] for x in fake.calls_to("views.publish")} >= {BOOKER, ADMIN}


@pytest.mark.parametrize("client_kind", ["plain", "production"])
def test_slack_rate_limits_and_outages_delay_dms_but_never_duplicate_them(
    client_kind: str, database_url: str, engine: Engine, clock: FixedClock, fake: StrictSlackApi
) -> None:
    """``plain``: a bare WebClient, so the dispatcher's own retries do the work. ``production``:
    the app's client, whose retry handlers wait out 429s and retry 500s themselves."""
    # no SMTP_HOST: email is off
    settings = make_settings(database_url, slack_bot_token="xoxb-test", slack_api_url=fake.url)
    client = (
        WebClient(token="xoxb-test", base_url=fake.url)
        if client_kind == "plain"
        else make_client("xoxb-test", fake.url, timeout=5)
    )
    later = DeliveryClock(clock)
    container = bootstrap(
        settings,
        engine=engine,
        clock=clock,
        slack=True,
        receiving=False,
        client=client,
        extra_senders=STATE_SENDERS,
        dispatch=DispatchSettings.from_settings(
            settings, backoff_base_seconds=1, backoff_max_seconds=1
        ),
        delivery_clock=later,
    )
    dispatcher = container.dispatcher
    add_rooms(container.bus, "102")
    first = container.bus.handle(
        c.RequestBooking(
            "102", clock.now + timedelta(hours=1), clock.now + timedelta(hours=2), BOOKER
        )
    )
    container.bus.handle(
        c.RequestBooking(
            "102", clock.now + timedelta(hours=3), clock.now + timedelta(hours=4), OTHER
        )
    )
    container.bus.handle(c.ApproveBooking(first, by=ADMIN))

    fake.rate_limit_next("chat.postMessage", retry_after=0)
    fake.fail_next("chat.postMessage", status=500)
    fake.rate_limit_next("chat.postMessage", retry_after=0)
    try:
        for _ in range(10):
            dispatcher.drain()
            dms = [r for r in outbox(engine) if r["channel"] == "dm"]
            if {r["status"] for r in dms} == {"sent"}:
                break
            later.advance(timedelta(seconds=2))
        assert {r["status"] for r in dms} == {"sent"}
    finally:
        dispatcher.close()

    posts = fake.calls_to("chat.postMessage")
    assert Counter(p.status for p in posts if p.status != 200) == {429: 2, 500: 1}
    delivered = Counter((p.params["channel"], p.params["text"]) for p in posts if p.status == 200)
    assert len(delivered) == 3 and set(delivered.values()) == {1}
    assert sorted(channel for channel, _ in delivered) == [BOOKER, BOOKER, OTHER]
    # email is off: its rows are skipped, said so, and never retried
    emails = _emails(engine)
    assert {(r["status"], r["last_error"]) for r in emails} == {
        ("skipped", "email is not configured")
    }
