"""Each person in their own language, end to end: a ``ko-KR`` user books through the modal and is
approved; her modal, DMs, emails (subject, text, HTML, calendar entry) and Home are Korean, while
the ``en-US`` admin in the same run sees English, and the approval card speaks APPROVALS_LOCALE.

Real HTTP (waitress + Bolt) with signed requests, the fake Slack Web API, a real SMTP server.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import Engine

from bot.adapters import orm
from bot.adapters.http import HttpServer
from bot.adapters.slack import make_client
from bot.bootstrap import bootstrap, build_web
from bot.demo.signed import booking_values
from bot.domain import commands
from bot.notifications.dispatcher import Dispatcher
from bot.views import ids
from tests.conftest import ADMIN, FixedClock, make_settings
from tests.e2e.mail import Inbox, smtp_server
from tests.e2e.slack_client import SlackSender
from tests.fakes.slack_api import FakeSlackApi

SECRET = "a-signing-secret-for-the-language-tests"
APPROVALS = "CAPPROVALS"
MINJI = "UMINJI"
#: English words the code says; none may reach a Korean reader.
ENGLISH = re.compile(
    r"\b(booking|bookings|room|request|requested|approved|approve|denied|cancel|cancelled|"
    r"waiting|upcoming|hello|reason|when|status|title)\b",
    re.IGNORECASE,
)


@dataclass
class Run:
    fake: FakeSlackApi
    send: SlackSender
    dispatcher: Dispatcher
    inbox: Inbox

    def deliver(self) -> None:
        self.dispatcher.drain()

    def until_dm(self, user: str, words: str, tries: int = 50) -> dict[str, Any]:
        """Deliver until ``user`` got a DM saying ``words``, waiting for Slack calls between."""
        for _ in range(tries):
            self.deliver()
            found = [dm for dm in self.dms_to(user) if words in dm["text"]]
            if found:
                return found[-1]
            with contextlib.suppress(AssertionError):
                posted = len(self.fake.calls_to("chat.postMessage"))
                self.fake.wait_for("chat.postMessage", posted + 1, timeout=0.1)
        raise AssertionError(f"{user} got no DM saying {words!r}")

    def dms_to(self, user: str) -> list[dict[str, Any]]:
        calls = self.fake.calls_to("chat.postMessage")
        return [c.params for c in calls if c.params["channel"] == user]

    def home_of(self, user: str) -> str:
        calls = [c for c in self.fake.calls_to("views.publish") if c.params["user_id"] == user]
        assert calls, f"no home published for {user}"
        return texts_of(calls[-1].params["view"])

    def card(self) -> str:
        posted = [
            c.params
            for c in self.fake.calls_to("chat.postMessage")
            if c.params["channel"] == APPROVALS
        ]
        updated = [c.params for c in self.fake.calls_to("chat.update")]
        return texts_of((posted + updated)[-1])


def texts_of(thing: Any) -> str:
    """Every visible string of a view or message, one per line."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("type") in ("plain_text", "mrkdwn"):
                found.append(value["text"])
                return
            for key, item in value.items():
                if key == "text" and isinstance(item, str):
                    found.append(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(thing)
    return "\n".join(found)


def _no_english(text: str) -> None:
    text = re.sub(r"`[^`]*`|<[^>]*>|Asia/Seoul|Europe/Berlin", " ", text)
    text = text.replace("Design review", " ").replace("Small room", " ")
    found = ENGLISH.findall(text)
    assert not found, f"English words {found} in a Korean text:\n{text}"


@pytest.fixture
def run(database_url: str, engine: Engine, clock: FixedClock) -> Iterator[Run]:
    orm.start_mappers()
    with FakeSlackApi() as fake, smtp_server() as (inbox, port):
        fake.add_user(
            MINJI, tz="Asia/Seoul", email="minji@example.com", name="민지", locale="ko-KR"
        )
        fake.add_user(
            ADMIN, tz="Europe/Berlin", email="ada@example.com", name="Ada", locale="en-US"
        )
        settings = make_settings(
            database_url,
            slack_bot_token="xoxb-test",
            slack_signing_secret=SECRET,
            slack_api_url=fake.url,
            approvals_channel=APPROVALS,
            approvals_locale="ko",  # the channel is read in Korean; the admin's own texts are not
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_starttls=False,
            mail_from="roombot@example.com",
        )
        client = make_client("xoxb-test", fake.url, timeout=5)
        container = bootstrap(settings, engine=engine, clock=clock, slack=True, client=client)
        dispatcher = container.dispatcher
        server = HttpServer(build_web(container), host="127.0.0.1", port=0, threads=4).start()
        container.bus.handle(commands.AddRoom("102", "Small room", 4, by="cli"))
        try:
            yield Run(fake, SlackSender(server.url, SECRET, fake), dispatcher, inbox)
        finally:
            server.stop()
            dispatcher.stop()


def _email_parts(message: EmailMessage) -> tuple[str, str, str, list[Any]]:
    text = message.get_body(preferencelist=("plain",))
    body = message.get_body(preferencelist=("html",))
    assert text is not None and body is not None
    events = []
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            data = part.get_payload(decode=True)
            assert isinstance(data, bytes)
            events += Calendar.from_ical(data).walk("VEVENT")
    return str(message["Subject"]), str(text.get_content()), str(body.get_content()), events


def test_a_korean_booker_reads_korean_and_the_admin_english(run: Run) -> None:
    # Minji opens the form: Korean labels, her zone
    assert run.send.command(MINJI).status == 200
    modal = run.fake.shown_view()  # the placeholder first, then the form in her language
    form = texts_of(modal)
    assert "회의실 예약" in form and "날짜" in form and "Asia/Seoul" in form
    _no_english(form)

    reply = run.send.submit(
        MINJI, modal, booking_values("102", "2026-12-02", "10:00", "11:00", "Design review")
    )
    assert reply.json["response_action"] == "update"
    sent = texts_of(reply.json["view"])
    assert "요청 완료" in sent and "12월 2일 (수) 오전 10:00~오전 11:00 (Asia/Seoul)" in sent
    assert "DM과 이메일로" in sent  # email is on here
    _no_english(sent)

    run.deliver()
    dm = run.dms_to(MINJI)[0]
    assert "예약 요청이 접수되어 승인을 기다리고 있습니다" in dm["text"]
    _no_english(dm["text"] + texts_of(dm["blocks"]))
    card = run.card()
    assert "회의실 예약 요청 #1" in card and "<!date^" in card  # Korean words, readers' own zones
    admin_home = run.home_of(ADMIN)
    assert "Waiting for your decision (1)" in admin_home and "Approve" in admin_home
    assert "Tue 1 Dec" not in admin_home and "Wed 2 Dec, 02:00–03:00 (Europe/Berlin)" in admin_home

    # the admin approves on the card
    assert (
        run.send.click(ADMIN, ids.APPROVE, "1", channel=APPROVALS, message_ts="1.1").status == 200
    )
    approved = run.until_dm(MINJI, "예약이 승인되었습니다")  # acked before the approval commits
    _no_english(approved["text"] + texts_of(approved["blocks"]))
    assert "님이" in run.card() and "승인했습니다" in run.card()
    home = run.home_of(MINJI)
    assert "다가오는 예약" in home and "12월 2일 (수) 오전 10:00~오전 11:00" in home
    _no_english(home)
    assert "Your upcoming bookings" in run.home_of(ADMIN)

    # her two emails: subject, text, HTML and the calendar entry in Korean
    received = run.inbox.wait_for(2)
    assert [r.rcpt_tos for r in received] == [["minji@example.com"]] * 2
    subject, text, body, events = _email_parts(received[1].message)
    assert subject.startswith("[승인됨] 회의실 102 (Small room), 12월 2일 (수) 오전 10:00")
    assert text.startswith("민지 님, 안녕하세요.") and "예약이 승인되었습니다." in text
    assert '<html lang="ko">' in body and "일시" in body
    [event] = events
    assert str(event["SUMMARY"]) == "Design review"
    assert "roombot으로 예약" in str(event["DESCRIPTION"])
    for part in (subject, text, re.sub(r"<[^>]+>", " ", body), str(event["DESCRIPTION"])):
        _no_english(part)
    first_subject = str(received[0].message["Subject"])
    assert first_subject.startswith("[요청 접수, 승인 대기 중] 회의실 102")

    # replies follow whoever asks
    minji_help = run.send.command(MINJI, "help")
    admin_help = run.send.command(ADMIN, "help")
    assert "*회의실 예약:*" in minji_help.text and "Book a meeting room" not in minji_help.text
    assert "Book a meeting room" in admin_help.text
    assert "you get a DM and an email at each step" in admin_help.text
