"""Email and DMs end to end: bookings through the bus, the outbox dispatcher, a real SMTP server on
loopback (aiosmtpd) and the real Slack client against the fake Slack API.

Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.bootstrap import Runtime, bootstrap
from bot.demo.loopback import Inbox, smtp_server
from bot.domain import commands as c
from bot.notifications.dispatcher import Dispatcher, DispatchSettings
from bot.notifications.mailer import SmtpMailer
from bot.notifications.outbox import OutboxStore
from bot.notifications.senders import EmailSender
from bot.services.ports import Channel
from tests.conftest import ADMIN, FixedClock, make_settings
from tests.e2e.mail import DeliveryClock
from tests.fakes.slack_api import StrictSlackApi
from tests.integration.helpers import add_rooms, outbox

BOOKER, NOMAIL = "UBOOKER", "UNOMAIL"
TITLE = "<script>alert('x')</script> & sync"

#: Card and App Home rows are someone else's senders; here they only need to go away quietly.
STATE_SENDERS = {Channel.CARD: lambda row: None, Channel.HOME: lambda row: None}


@dataclass
class Mail:
    container: Runtime
    dispatcher: Dispatcher
    fake: StrictSlackApi
    inbox: Inbox
    clock: FixedClock
    later: DeliveryClock
    engine: Engine
    mailer: SmtpMailer

    def request(self, by: str = BOOKER, hours: tuple[int, int] = (2, 3), title: str = TITLE) -> int:
        start, end = (self.clock.now + timedelta(hours=h) for h in hours)
        return int(self.container.bus.handle(c.RequestBooking("102", start, end, by, title)))

    def dms_to(self, user: str) -> list[Any]:
        return [x for x in self.fake.calls_to("chat.postMessage") if x.params["channel"] == user]


@pytest.fixture
def fake() -> Iterator[StrictSlackApi]:
    with StrictSlackApi() as api:
        api.add_user(BOOKER, tz="Asia/Seoul", email="booker@example.com", name="Bo")
        api.add_user(ADMIN, tz="Europe/Berlin", email="admin@example.com", name="Ada Admin")
        api.add_user(NOMAIL, tz="America/New_York")  # no email in their profile
        yield api


@pytest.fixture
def mail(
    database_url: str, engine: Engine, clock: FixedClock, fake: StrictSlackApi
) -> Iterator[Mail]:
    with smtp_server() as (inbox, port):
        settings = make_settings(
            database_url,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_starttls=False,
            smtp_timeout_seconds=5,
            mail_from="Roombot <rooms@example.com>",
            slack_bot_token="xoxb-test",
            slack_api_url=fake.url,
        )
        later = DeliveryClock(clock)
        mailer = SmtpMailer.from_settings(settings)
        container = bootstrap(
            settings,
            engine=engine,
            clock=clock,
            slack=True,
            receiving=False,
            client=WebClient(token="xoxb-test", base_url=fake.url),
            extra_senders=STATE_SENDERS,
            mailer=mailer,
            dispatch=DispatchSettings.from_settings(settings, poll_seconds=60),
            delivery_clock=later,
        )
        dispatcher = container.dispatcher
        add_rooms(container.bus, "102")
        yield Mail(container, dispatcher, fake, inbox, clock, later, engine, mailer)
        dispatcher.close()


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def _calendars(message: EmailMessage) -> list[tuple[str, Calendar]]:
    found = []
    assert list(message.iter_attachments()) == []  # Outlook ignores an iMIP attachment
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            assert message.get_content_type() == "multipart/alternative"
            data = part.get_payload(decode=True)
            assert isinstance(data, bytes)
            found.append((str(part.get_param("method")), Calendar.from_ical(data)))
    return found


def _event(calendar: Calendar) -> Any:
    [event] = calendar.walk("VEVENT")
    return event


def test_request_approve_cancel_sends_three_emails_with_invite_and_cancel(mail: Mail) -> None:
    booking = mail.request()
    mail.container.bus.handle(c.ApproveBooking(booking, by=ADMIN))
    mail.container.bus.handle(c.CancelBooking(booking, by=BOOKER))
    mail.dispatcher.drain()

    received = mail.inbox.wait_for(3)
    assert len(received) == 3
    assert all(r.rcpt_tos == ["booker@example.com"] for r in received)
    assert all(r.mail_from == "rooms@example.com" for r in received)
    requested, approved, cancelled = (r.message for r in received)

    # requested: received and waiting, never "complete"; no calendar yet
    assert requested["Subject"].startswith("Request received, waiting for approval: Room 102")
    assert "waiting for approval" in _text(requested)
    assert "complete" not in (_text(requested) + _html(requested)).lower()
    assert _calendars(requested) == []

    # the booker's zone, named: 10:00 UTC is 19:00 in Seoul
    assert "Tue 1 Dec, 19:00–20:00 (Asia/Seoul)" in _text(approved)
    assert "Tue 1 Dec, 19:00–20:00 (Asia/Seoul)" in _html(approved)
    assert "Ada Admin" in _text(approved)

    # user input is escaped in HTML, and only there
    for message in (requested, approved, cancelled):
        html = _html(message)
        assert "<script>" not in html
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; sync" in html
        assert TITLE in _text(message)

    [(method, invite)] = _calendars(approved)
    [(cancel_method, cancel)] = _calendars(cancelled)
    assert (method, str(invite["METHOD"])) == ("REQUEST", "REQUEST")
    assert (cancel_method, str(cancel["METHOD"])) == ("CANCEL", "CANCEL")
    first, second = _event(invite), _event(cancel)
    install = OutboxStore(mail.engine).install_id()
    assert install  # made by the migration, once per database
    assert str(first["UID"]) == str(second["UID"]) == f"booking-{booking}-{install}@example.com"
    assert int(second["SEQUENCE"]) > int(first["SEQUENCE"])
    start = first.decoded("DTSTART")
    assert start == mail.clock.now + timedelta(hours=2)
    assert start.utcoffset() == timedelta(0)
    assert first.to_ical().decode().count("DTSTART:20261201T100000Z") == 1
    assert str(first["STATUS"]) == "CONFIRMED" and str(second["STATUS"]) == "CANCELLED"
    assert str(first["SUMMARY"]) == TITLE and str(first["LOCATION"]) == "Room 102"
    assert "calendar invite is withdrawn" in _text(cancelled)

    # one Message-ID per notification, all over one SMTP connection
    assert len({r.message["Message-ID"] for r in received}) == 3
    assert mail.mailer.connections_opened == 1

    # and the DMs: one per event, to the booker's user id, with text and blocks
    dms = mail.dms_to(BOOKER)
    assert len(dms) == 3
    assert all(d.params["text"] and d.params["blocks"] for d in dms)
    assert "waiting for approval" in dms[0].params["text"]
    assert "(Asia/Seoul)" in dms[1].params["blocks"][0]["text"]["text"]
    assert "&lt;script&gt;" in dms[0].params["text"]
    assert {r["status"] for r in outbox(mail.engine)} == {"sent"}


def test_a_denial_says_why_and_sends_no_calendar(mail: Mail) -> None:
    booking = mail.request(title="Planning")
    mail.container.bus.handle(c.DenyBooking(booking, by=ADMIN, reason="<b>Deep</b> cleaning"))
    mail.dispatcher.drain()

    _, denied = (r.message for r in mail.inbox.wait_for(2))
    assert denied["Subject"].startswith("Denied: Room 102")
    assert "Reason:" in _text(denied) and "<b>Deep</b> cleaning" in _text(denied)
    assert "&lt;b&gt;Deep&lt;/b&gt; cleaning" in _html(denied)
    assert "<b>Deep" not in _html(denied)
    assert _calendars(denied) == []  # no invite ever went out, so none is withdrawn
    dm = mail.dms_to(BOOKER)[-1].params
    assert "denied" in dm["text"] and "&lt;b&gt;Deep&lt;/b&gt; cleaning" in dm["text"]


def test_a_user_without_email_is_skipped_once_and_never_retried(mail: Mail) -> None:
    booking = mail.request(by=NOMAIL)
    mail.container.bus.handle(c.ApproveBooking(booking, by=ADMIN))
    mail.dispatcher.drain()

    emails = [r for r in outbox(mail.engine) if r["channel"] == "email"]
    assert [(r["status"], r["attempts"]) for r in emails] == [("skipped", 1), ("skipped", 1)]
    assert "no email" in emails[0]["last_error"]
    assert len(mail.dms_to(NOMAIL)) == 2  # Slack still tells them
    mail.later.advance(timedelta(days=1))
    assert mail.dispatcher.drain() == 0
    assert mail.inbox.received == []


def test_a_retried_email_keeps_its_message_id(mail: Mail) -> None:
    """A send the server accepted but we never heard back about is sent again; the same
    Message-ID lets mail clients show it once."""
    mail.request()
    claimed = mail.dispatcher.store.claim(mail.later(), 10, 60)
    [row] = [r for r in claimed if r.channel == Channel.EMAIL]
    sender = mail.dispatcher.senders[Channel.EMAIL]
    assert isinstance(sender, EmailSender)
    first = sender.build(row, "booker@example.com", ZoneInfo("Asia/Seoul"))
    again = sender.build(row, "booker@example.com", ZoneInfo("Asia/Seoul"))
    assert first["Message-ID"] == again["Message-ID"]
    assert first["Message-ID"].endswith("@example.com>")


def test_a_commit_wakes_the_dispatcher_loop(mail: Mail) -> None:
    """With a one-minute poll, a DM within seconds can only come from the after-commit wake."""
    mail.dispatcher.start()
    started = datetime.now(UTC)
    mail.request()
    mail.fake.wait_for("chat.postMessage", 1, timeout=10)
    assert datetime.now(UTC) - started < timedelta(seconds=30)
    mail.inbox.wait_for(1)


def test_a_change_emails_the_updated_invite_same_uid_sequence_plus_one(mail: Mail) -> None:
    booking = mail.request()
    mail.container.bus.handle(c.ApproveBooking(booking, by=ADMIN))
    start = mail.clock.now + timedelta(hours=2)
    mail.container.bus.handle(
        c.ChangeBooking(booking, by=BOOKER, ends_at=start + timedelta(minutes=30))
    )
    mail.dispatcher.drain()

    _, approved, changed = (r.message for r in mail.inbox.wait_for(3))
    assert str(changed["Subject"]).startswith("Changed:")
    [(method, update)] = _calendars(changed)
    [(_, invite)] = _calendars(approved)
    assert method == "REQUEST"
    assert _event(update)["uid"] == _event(invite)["uid"]
    assert int(_event(update)["sequence"]) == int(_event(invite)["sequence"]) + 1
    assert _event(update).decoded("dtend") == start + timedelta(minutes=30)
    assert "The calendar invite is updated" in _text(changed)
