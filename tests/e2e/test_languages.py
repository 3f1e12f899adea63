"""Each person in their own language, end to end: a ``ko-KR`` user books through the modal and is
approved; her modal, DMs, emails (subject, text, HTML, calendar entry) and Home are Korean, while
the ``en-US`` admin in the same run sees English, and the approval card speaks APPROVALS_LOCALE.
A second run takes her through the newer features (a change from App Home, the waitlist's offer,
its claim and its lapse, ``/book find`` and the Find form, a policy's auto-approval, a quota
refusal, the check-in reminder and ``/book checkin``, End now, a feed link). Nothing she reads
has a Latin letter beyond her own data, Slack markup and names (:func:`korean_only`).

Real HTTP (waitress + Bolt) with signed requests, the strict fake Slack Web API, a real SMTP
server.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import Engine

from bot.demo.loopback import Inbox
from bot.demo.signed import booking_values
from bot.domain import commands
from bot.domain.model import BookingStatus
from bot.views import ids
from tests.conftest import ADMIN, FixedClock
from tests.e2e.conftest import APPROVALS, GENERAL, Stack, mailing_stack
from tests.e2e.slack_client import Reply
from tests.fakes.slack_api import StrictSlackApi
from tests.integration.helpers import bookings

MINA = "UMINA"  # Mina reads Slack in Korean, in Seoul
PUBLIC = "https://rooms.example.com"
#: What Mina typed or an admin named (rooms, titles, tags), Slack markup and names that are the
#: same in every language; anything else in Latin letters is English the code wrote.
NOT_ENGLISH = re.compile(
    r"<[^>]*>|`[^`]*`|:[a-z0-9_+-]+:|https?://\S+|Asia/Seoul|"
    r"Small room|Board room|Studio|Design review|Retro|Standup|Offsite|Planning|"
    r"Ada Admin|roombot|/book|Slack|DM|ID"
)


def korean_only(where: str, text: str) -> None:
    """No Latin letters left once Mina's own data and markup are taken out."""
    rest = NOT_ENGLISH.sub(" ", text)
    found = re.findall(r"[A-Za-z][A-Za-z'.-]*", rest)
    assert not found, f"{where}: English {found} in what a Korean reader sees:\n{text}"


@pytest.fixture
def languages(
    database_url: str, engine: Engine, clock: FixedClock, fake_slack: StrictSlackApi
) -> Iterator[tuple[Stack, Inbox]]:
    fake_slack.add_user(
        MINA, tz="Asia/Seoul", email="mina@example.com", name="미나", locale="ko-KR"
    )
    with mailing_stack(
        database_url,
        engine,
        clock,
        fake_slack,
        approvals_locale="ko",  # the channel reads Korean; the admin's own texts do not
        public_base_url=PUBLIC,
        quota_hours_per_week=8,
    ) as running:
        yield running


def _buttons(blocks: list[dict[str, Any]], action_id: str) -> list[dict[str, Any]]:
    found = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    found += [b["accessory"] for b in blocks if "accessory" in b]
    return [e for e in found if e.get("action_id") == action_id]


def _approved_by_ada(stack: Stack, booking_id: int) -> None:
    ts = f"17000000{booking_id:02d}.000100"
    assert stack.send.click(ADMIN, ids.APPROVE, str(booking_id), channel=APPROVALS, message_ts=ts)
    stack.until(lambda: _status(stack, booking_id) == BookingStatus.APPROVED)
    _deliver(stack)


def _status(stack: Stack, booking_id: int) -> str | None:
    return {b["id"]: b["status"] for b in bookings(stack.engine)}.get(booking_id)


def _latest_id(stack: Stack) -> int:
    return int(max(b["id"] for b in bookings(stack.engine)))


def _deliver(stack: Stack) -> None:
    """Deliver what is due, Slack's posting windows full as after a quiet minute: this test is
    about what people read, and a DM deferred by a 429 would come only when the clock moves."""
    stack.fake.refill_limits()
    stack.deliver()


def _dms(stack: Stack, user: str) -> list[dict[str, Any]]:
    """The DMs Slack took (a call answered with a 429 posted nothing)."""
    return [c.params for c in stack.dms_to(user)]


def _reply(stack: Stack, seen: int) -> dict[str, Any]:
    """The next post to a response_url after ``seen`` of them."""
    return dict(stack.fake.wait_for_responses(seen + 1)[seen].body)


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


def test_a_korean_booker_reads_korean_and_the_admin_english(
    languages: tuple[Stack, Inbox],
) -> None:
    stack, inbox = languages
    # Mina opens the form: Korean labels, her zone
    assert stack.send.command(MINA).status == 200
    modal = stack.fake.shown_view()  # a wordless placeholder first, then the form in her language
    placeholder = stack.fake.calls_to("views.open")[0].params["view"]
    assert placeholder["blocks"] != modal["blocks"]  # opened before Slack said her language
    korean_only("form placeholder", texts_of(placeholder))
    form = texts_of(modal)
    assert "회의실 예약" in form and "날짜" in form and "Asia/Seoul" in form
    korean_only("booking form", form)

    reply = stack.send.submit(
        MINA, modal, booking_values("102", "2026-12-02", "10:00", "11:00", "Design review")
    )
    assert reply.json["response_action"] == "update"
    sent = texts_of(reply.json["view"])
    assert "요청 완료" in sent and "12월 2일 (수) 오전 10:00~오전 11:00 (Asia/Seoul)" in sent
    assert "DM과 이메일로" in sent  # email is on here
    korean_only("request sent", sent)

    _deliver(stack)
    [dm] = _dms(stack, MINA)
    assert "예약 요청이 접수되어 승인을 기다리고 있습니다" in dm["text"]
    korean_only("requested DM", texts_of(dm))
    card = texts_of(stack.cards()[-1].params)
    assert "회의실 예약 요청 #1" in card and "<!date^" in card  # Korean words, readers' own zones
    korean_only("card", card)
    admin_home = texts_of(stack.home_of(ADMIN))
    assert "Waiting for your decision (1)" in admin_home and "Approve" in admin_home
    assert "Tue 1 Dec" not in admin_home and "Wed 2 Dec, 02:00–03:00 (Europe/Berlin)" in admin_home

    # the admin approves on the card: the card stays in the channel's language
    _approved_by_ada(stack, 1)
    approved = _dms(stack, MINA)[-1]
    assert "예약이 승인되었습니다" in approved["text"]
    korean_only("approved DM", texts_of(approved))
    card = texts_of(stack.fake.calls_to("chat.update")[-1].params)
    assert "님이" in card and "승인했습니다" in card
    korean_only("decided card", card)
    home = texts_of(stack.home_of(MINA))
    assert "다가오는 예약" in home and "12월 2일 (수) 오전 10:00~오전 11:00" in home
    korean_only("home", home)
    assert "Your upcoming bookings" in texts_of(stack.home_of(ADMIN))

    # her two emails: subject, text, HTML and the calendar entry in Korean
    received = inbox.wait_for(2)
    assert [r.rcpt_tos for r in received] == [["mina@example.com"]] * 2
    subject, text, body, events = _email_parts(received[1].message)
    assert subject.startswith("[승인됨] 회의실 102 (Small room), 12월 2일 (수) 오전 10:00")
    assert text.startswith("미나 님, 안녕하세요.") and "예약이 승인되었습니다." in text
    assert '<html lang="ko">' in body and "일시" in body
    [event] = events
    assert str(event["SUMMARY"]) == "Design review"
    assert "roombot으로 예약" in str(event["DESCRIPTION"])
    for part in (subject, text, html.unescape(re.sub(r"<[^>]+>", " ", body))):
        korean_only("approved email", part)
    korean_only("calendar entry", str(event["DESCRIPTION"]))
    first_subject = str(received[0].message["Subject"])
    assert first_subject.startswith("[요청 접수, 승인 대기 중] 회의실 102")

    # replies follow whoever asks
    mina_help = stack.send.command(MINA, "help")
    admin_help = stack.send.command(ADMIN, "help")
    assert "*회의실 예약:*" in mina_help.text and "Book a meeting room" not in mina_help.text
    korean_only("help", mina_help.text)
    assert "Book a meeting room" in admin_help.text
    assert "you get a DM and an email at each step" in admin_help.text


def test_the_newer_features_speak_korean_to_a_korean_reader(
    languages: tuple[Stack, Inbox],
) -> None:
    stack, inbox = languages
    bus, mina = stack.container.bus, MINA
    bus.handle(commands.UpdateRoom("102", by="cli", checkin_minutes=10))
    bus.handle(commands.UpdateRoom("201", by="cli", approvers=(ADMIN,)))
    bus.handle(commands.AddRoom("301", "Studio", 8, by="cli", tags=("프로젝터",)))
    bus.handle(commands.UpdateRoom("301", by="cli", auto_approve=True))
    seen: dict[str, str] = {}  # what Mina saw, by where she saw it

    def saw(where: str, thing: Any) -> str:
        if isinstance(thing, Reply):  # a command's answer: a message, or its text alone
            thing = thing.json if thing.body.startswith(b"{") else thing.text
        text = thing if isinstance(thing, str) else texts_of(thing)
        seen[where] = text
        return text

    # a request and its change from App Home
    reply = stack.send.command(mina, "102 2026-12-02 10:00-11:00 Design review")
    assert "#1" in saw("one-line reply", reply)
    _deliver(stack)
    _approved_by_ada(stack, 1)
    home = stack.home_of(mina)
    saw("home", home)
    [change] = _buttons(home["blocks"], ids.CHANGE)
    opened = len(stack.fake.calls_to("views.open"))
    stack.send.click(mina, ids.CHANGE, change["value"], view=home)
    form = stack.fake.wait_for("views.open", opened + 1)[-1].params["view"]
    saw("change form", form)
    changed = stack.send.submit(
        mina, form, booking_values("201", "2026-12-02", "11:00", "12:00", "Design review")
    )
    assert changed.json["response_action"] == "update"
    saw("change saved", changed.json["view"])
    _deliver(stack)
    card = texts_of(stack.fake.calls_to("chat.update")[-1].params)
    korean_only("card after the change", card)
    assert f"<@{ADMIN}>" in card  # the room's approver is named
    assert "Waiting for your decision" in texts_of(stack.home_of(ADMIN))
    _approved_by_ada(stack, 1)

    # the waitlist: Ada holds a slot, Mina asks to be told, Ada cancels, Mina books it
    english = [stack.send.command(ADMIN, "102 2026-12-03 02:00-03:00 Planning")]  # 10:00 Seoul
    assert "Requested" in english[0].text
    taken = stack.send.command(mina, "102 2026-12-03 10:00-11:00 Retro").json
    saw("taken", taken)
    [wait] = _buttons(taken["blocks"], ids.WAIT)
    replies = len(stack.fake.responses)
    stack.send.click(mina, ids.WAIT, wait["value"], channel=GENERAL, message_ts="9", ephemeral=True)
    saw("on the waitlist", _reply(stack, replies))
    english.append(stack.send.command(ADMIN, f"cancel {_latest_id(stack)}"))
    assert "cancelled" in english[-1].text
    _deliver(stack)
    offer = _dms(stack, mina)[-1]
    saw("offer", offer)
    [book_it] = _buttons(offer["blocks"], ids.BOOK_IT)
    replies = len(stack.fake.responses)
    stack.send.click(mina, ids.BOOK_IT, book_it["value"], channel="D0MINA", message_ts="7")
    saw("offer booked", _reply(stack, replies))
    stack.send.click(mina, ids.BOOK_IT, book_it["value"], channel="D0MINA", message_ts="7")
    saw("offer booked already", _reply(stack, replies + 1))

    # find a room: typed, then from App Home; the Studio approves by policy
    found = stack.send.command(mina, "find 6 2026-12-04 10:00 1시간 프로젝터").json
    saw("found", found)
    [book] = _buttons(found["blocks"], ids.FIND_BOOK)
    replies = len(stack.fake.responses)
    stack.send.click(
        mina, ids.FIND_BOOK, book["value"], channel=GENERAL, message_ts="5", ephemeral=True
    )
    saw("found and booked", _reply(stack, replies))
    [edit] = _buttons(found["blocks"], ids.FIND_EDIT)
    opened = len(stack.fake.calls_to("views.open"))
    stack.send.click(mina, ids.FIND_EDIT, edit["value"], channel=GENERAL, message_ts="5")
    saw("found, to change", stack.fake.wait_for("views.open", opened + 1)[-1].params["view"])
    _deliver(stack)
    home = stack.home_of(mina)
    [find] = _buttons(home["blocks"], ids.FIND)
    opened = len(stack.fake.calls_to("views.open"))
    stack.send.click(mina, ids.FIND, find["value"], view=home)
    form = stack.fake.wait_for("views.open", opened + 1)[-1].params["view"]
    saw("find form", form)
    values = {
        ids.FIND_PEOPLE_BLOCK: {ids.FIND_PEOPLE_ACTION: {"type": "number_input", "value": "10"}},
        ids.FIND_DATE_BLOCK: {
            ids.FIND_DATE_ACTION: {"type": "datepicker", "selected_date": "2026-12-04"}
        },
        ids.FIND_START_BLOCK: {
            ids.FIND_START_ACTION: {"type": "timepicker", "selected_time": "14:00"}
        },
        ids.FIND_LENGTH_BLOCK: {
            ids.FIND_LENGTH_ACTION: {"type": "static_select", "selected_option": {"value": "60"}}
        },
        ids.FIND_TAGS_BLOCK: {ids.FIND_TAGS_ACTION: {"type": "plain_text_input", "value": ""}},
    }
    results = stack.send.submit(mina, form, values).json["view"]
    saw("find results", results)
    [book] = _buttons(results["blocks"], ids.FIND_BOOK)
    updated = len(stack.fake.calls_to("views.update"))
    stack.send.click(
        mina, ids.FIND_BOOK, book["value"], view={**results, "id": "V123", "type": "modal"}
    )
    saw("found and booked, modal", stack.fake.wait_for("views.update", updated + 1)[-1].params)

    # a quota refusal says what is left
    over = stack.send.command(mina, "201 2026-12-04 16:00-21:00 Offsite")
    saw("over the quota", over)

    # check-in: three bookings from an hour from now in the check-in room
    later = []
    for hours in ("18:00-19:00", "19:00-19:30", "19:30-20:00"):
        assert "#" in stack.send.command(mina, f"102 2026-12-01 {hours} Standup").text
        later.append(_latest_id(stack))
        _deliver(stack)
        _approved_by_ada(stack, later[-1])
    saw("nothing to check in", stack.send.command(mina, "checkin"))
    stack.clock.advance(timedelta(minutes=52))
    bus.handle(commands.SendReminders())
    _deliver(stack)
    reminder = _dms(stack, mina)[-1]
    saw("reminder", reminder)
    assert _buttons(reminder["blocks"], ids.CHECK_IN) and _buttons(reminder["blocks"], ids.RELEASE)
    saw("checked in", stack.send.command(mina, "checkin"))
    [release] = _buttons(reminder["blocks"], ids.RELEASE)
    replies = len(stack.fake.responses)
    stack.send.click(mina, ids.RELEASE, release["value"], channel="D0MINA", message_ts="6")
    saw("release refused", _reply(stack, replies))
    stack.clock.advance(timedelta(minutes=10))
    listing = stack.send.command(mina, "list").json
    saw("list under way", listing)
    [end] = _buttons(listing["blocks"], ids.END_NOW)
    replies = len(stack.fake.responses)
    stack.send.click(
        mina, ids.END_NOW, end["value"], channel=GENERAL, message_ts="9", ephemeral=True
    )
    saw("ended now", _reply(stack, replies))
    _deliver(stack)
    # the next one checked in from its reminder, the last one released from its reminder
    for button, shown in ((ids.CHECK_IN, "checked in, a click"), (ids.RELEASE, "released")):
        stack.clock.advance(timedelta(minutes=30 if button == ids.RELEASE else 50))
        bus.handle(commands.SendReminders())
        _deliver(stack)
        [clicked] = _buttons(_dms(stack, mina)[-1]["blocks"], button)
        replies = len(stack.fake.responses)
        stack.send.click(mina, button, clicked["value"], channel="D0MINA", message_ts="6")
        saw(shown, _reply(stack, replies))
    assert [_status(stack, n) for n in later[1:]] == [
        BookingStatus.APPROVED,
        BookingStatus.RELEASED,
    ]

    # an offer that lapses before she clicks
    stack.send.command(ADMIN, "102 2026-12-03 06:00-07:00 Planning")  # 14:00 in Seoul
    taken = stack.send.command(mina, "102 2026-12-03 14:00-15:00 Retro").json
    [wait] = _buttons(taken["blocks"], ids.WAIT)
    replies = len(stack.fake.responses)
    stack.send.click(mina, ids.WAIT, wait["value"], channel=GENERAL, message_ts="9", ephemeral=True)
    _reply(stack, replies)
    stack.send.command(ADMIN, f"cancel {_latest_id(stack)}")
    _deliver(stack)
    [book_it] = _buttons(_dms(stack, mina)[-1]["blocks"], ids.BOOK_IT)
    stack.clock.advance(timedelta(minutes=20))
    bus.handle(commands.LapseOffers())
    stack.send.click(mina, ids.BOOK_IT, book_it["value"], channel="D0MINA", message_ts="8")
    saw("offer lapsed", _reply(stack, replies + 1))

    # calendar feed links on App Home
    opened = len(stack.fake.calls_to("views.open"))
    stack.send.click(mina, ids.FEED_LINK, "user", view={"type": "home"})
    saw("feed link", stack.fake.wait_for("views.open", opened + 1)[-1].params["view"])

    _deliver(stack)
    saw("home at the end", stack.home_of(mina))
    for n, dm in enumerate(_dms(stack, mina)):
        saw(f"DM {n}", dm)
    mails = [m for m in inbox.received if "mina@example.com" in m.rcpt_tos]
    assert len(mails) >= 4
    assert any("회의실 정책" in m.message.get_body(("plain",)).get_content() for m in mails)
    for n, mail in enumerate(mails):
        subject, text, body, _events = _email_parts(mail.message)
        saw(f"email {n} subject", subject)
        saw(f"email {n} text", text)
        saw(f"email {n} body", html.unescape(re.sub(r"<[^>]+>", " ", body)))
    problems = []
    for where, text in seen.items():
        try:
            korean_only(where, text)
        except AssertionError as e:
            problems.append(str(e))
    assert not problems, "\n\n".join(problems)

    # the approvals channel reads APPROVALS_LOCALE (Korean), whoever clicked
    cards = [c.params for c in stack.cards()] + [
        c.params for c in stack.fake.calls_to("chat.update")
    ]
    assert any("정책" in texts_of(card) for card in cards)  # the Studio's auto-approval
    for n, card in enumerate(cards):
        korean_only(f"card {n}", texts_of(card))

    # the admin in the same run reads English: her replies, DMs and Home
    english.append(stack.send.command(ADMIN, "list"))
    ada = [r.text for r in english] + [texts_of(dm) for dm in _dms(stack, ADMIN)]
    ada.append(texts_of(stack.home_of(ADMIN)))
    assert "Waiting for your decision" in ada[-1] and "Approve" in ada[-1]
    for text in ada:
        assert not re.search(r"[가-힣]", text), f"Korean in what the English admin reads:\n{text}"
