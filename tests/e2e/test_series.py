"""A recurring series end to end: signed clicks into the HTTP app, the real Slack client against
the strict fake Slack API. The series is requested through the bus (its form is another part),
then approved on its one card with one click.

Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, timedelta
from email.message import EmailMessage
from typing import Any

import recurring_ical_events
from icalendar import Calendar

from bot.demo.loopback import Inbox
from bot.domain import commands
from bot.domain.model import BookingStatus
from bot.domain.recurrence import Frequency, Repeat
from bot.views import ids
from tests.conftest import ADMIN
from tests.e2e.conftest import AL, APPROVALS, BOB, Stack
from tests.e2e.slack_client import booking_values, repeat_values
from tests.e2e.test_slack_app import _actions, _texts
from tests.integration.helpers import bookings

WEEKS = 4


def _request_series(stack: Stack, weeks: int = WEEKS) -> int:
    """A weekly series for BOB: Wednesdays 10:00-11:00 in Seoul (01:00 UTC), from tomorrow."""
    start = stack.clock.now.replace(hour=1) + timedelta(days=1)
    series_id: int = stack.container.bus.handle(
        commands.RequestSeries(
            "102",
            start,
            start + timedelta(hours=1),
            by=BOB,
            repeat=Repeat(Frequency.WEEKLY, count=weeks),
            timezone="Asia/Seoul",
            title="Weekly sync",
        )
    )
    return series_id


def _statuses(stack: Stack, series_id: int) -> list[str]:
    return [b["status"] for b in bookings(stack.engine) if b["series_id"] == series_id]


def _click(stack: Stack, user: str, action: str, series_id: int, ts: str) -> Any:
    return stack.send.click(user, action, str(series_id), channel=APPROVALS, message_ts=ts)


def test_a_series_is_one_card_approved_with_one_click(stack: Stack) -> None:
    series_id = _request_series(stack)
    stack.deliver()
    [card] = stack.cards()  # one card for four dates
    blocks = card.params["blocks"]
    assert _actions(blocks) == [ids.APPROVE_SERIES, ids.DENY_SERIES]
    text = _texts(blocks)
    assert f"Series request #{series_id}" in text
    assert "Every week on Wednesday, 4 times" in text and "4 dates" in text
    ts = card.response["ts"]

    # someone who may not decide is refused, and nothing changes
    assert _click(stack, AL, ids.APPROVE_SERIES, series_id, ts).status == 200
    assert "Only admins" in stack.replies()[-1].body["text"]
    assert _statuses(stack, series_id) == [BookingStatus.PENDING] * WEEKS

    assert _click(stack, ADMIN, ids.APPROVE_SERIES, series_id, ts).status == 200
    stack.until(lambda: _statuses(stack, series_id) == [BookingStatus.APPROVED] * WEEKS)
    [update] = stack.delivered("chat.update")
    assert stack.cards() == [card]  # updated in place, no card per date
    text = _texts(update.params["blocks"])
    assert f"Approved by <@{ADMIN}>" in text and "approved: 4" in text
    assert _actions(update.params["blocks"]) == []

    # a second click (or Deny after Approve) is a polite no-op
    replies = len(stack.fake.calls_to("chat.update"))
    _click(stack, ADMIN, ids.DENY_SERIES, series_id, ts)
    note = stack.replies(count=2)[-1].body["text"]
    assert f"Series #{series_id} was already approved" in note and "Nothing was changed" in note
    assert _statuses(stack, series_id) == [BookingStatus.APPROVED] * WEEKS
    stack.delivered("chat.update", replies + 1)  # the stale card is brought up to date


def test_a_series_is_denied_as_one_with_a_reason(stack: Stack) -> None:
    series_id = _request_series(stack, 3)
    stack.deliver()
    _click(stack, AL, ids.DENY_SERIES, series_id, "1")  # not theirs to decide: no form
    assert "Only admins" in stack.replies()[-1].body["text"]
    assert stack.fake.calls_to("views.open") == []

    _click(stack, ADMIN, ids.DENY_SERIES, series_id, "1")
    form = stack.last_view()
    assert "3 dates waiting" in _texts(form["blocks"])
    values = {
        ids.REASON_BLOCK: {ids.REASON_ACTION: {"type": "plain_text_input", "value": "Repairs"}}
    }
    assert stack.send.submit(ADMIN, form, values).status == 200
    assert _statuses(stack, series_id) == [BookingStatus.DENIED] * 3
    [update] = stack.delivered("chat.update")
    text = _texts(update.params["blocks"])
    assert f"Denied by <@{ADMIN}>" in text and "Repairs" in text
    assert len(stack.cards()) == 1
    denied = [d for d in stack.dms_to(BOB) if "denied" in d.params["text"]]
    assert len(denied) == 1 and "Repairs" in denied[0].params["text"]


def _calendar(message: EmailMessage) -> tuple[str, Calendar]:
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    return str(part.get_param("method")), Calendar.from_ical(data)


def _deliver(stack: Stack) -> None:
    stack.fake.refill_limits()  # DMs in a burst: Slack's posting window as after a quiet minute
    stack.deliver()


def test_one_click_approves_the_series_with_one_dm_and_one_invite_for_all(
    mailed: tuple[Stack, Inbox],
) -> None:
    stack, inbox = mailed
    # Al holds the third Wednesday; Bob asks for four Wednesdays with the booking form
    assert "booking #1" in stack.send.command(AL, "102 2026-12-15 20:00-21:00 Al's").text
    opened = len(stack.fake.calls_to("views.open"))
    stack.send.command(BOB)
    form = stack.fake.shown_view(opened)
    values = booking_values("102", "2026-12-02", "10:00", "11:00", "Weekly sync")
    preview = stack.send.submit(BOB, form, values | repeat_values("weekly", count=WEEKS)).json
    assert stack.send.submit(BOB, preview["view"], {}).status == 200  # Book the 3 free ones
    [series_id] = {b["series_id"] for b in bookings(stack.engine) if b["series_id"]}
    _deliver(stack)
    # Al's single request has a card of its own; the series one, whatever the posting order
    [card] = [c for c in stack.cards() if f"Series request #{series_id}" in c.params["text"]]
    text = _texts(card.params["blocks"])
    assert "3 dates" in text and "Skipped, 1 date already taken" in text
    [requested] = [d for d in stack.dms_to(BOB) if "recurring" in d.params["text"]]
    assert "recurring booking request was received" in requested.params["text"]
    assert len(stack.dms_to(BOB)) == 1
    [first] = _to_bob(inbox, 1)
    assert _calendar_parts(first.message) == []  # nothing is confirmed yet

    ts = card.response["ts"]
    assert _click(stack, ADMIN, ids.APPROVE_SERIES, series_id, ts).status == 200
    stack.until(lambda: _statuses(stack, series_id) == [BookingStatus.APPROVED] * (WEEKS - 1))
    _deliver(stack)
    dms = stack.dms_to(BOB)
    assert len(dms) == 2  # one for the request, one for the approval of all three dates
    assert "recurring booking was approved" in dms[1].params["text"]
    mails = _to_bob(inbox, 2)
    assert len(mails) == 2
    method, invite = _calendar(mails[1].message)
    assert method == "REQUEST"
    held = sorted(
        (b["starts_at"], b["ends_at"])
        for b in bookings(stack.engine)
        if b["series_id"] == series_id
    )
    found = recurring_ical_events.of(invite).between(date(2026, 1, 1), date(2028, 1, 1))
    assert (
        sorted((e["DTSTART"].dt.astimezone(UTC), e["DTEND"].dt.astimezone(UTC)) for e in found)
        == held
    )
    [master] = invite.walk("VEVENT")
    assert str(master["UID"]).startswith(f"series-{series_id}-")
    sequence = int(master["SEQUENCE"])

    # one date cancelled: one more DM and email, a cancel of that date only
    second = next(
        b["id"]
        for b in bookings(stack.engine)
        if b["series_id"] == series_id and b["starts_at"] == held[1][0]
    )
    stack.container.bus.handle(commands.CancelOccurrence(second, by=BOB))
    _deliver(stack)
    assert len(stack.dms_to(BOB)) == 3
    method, cancel = _calendar(_to_bob(inbox, 3)[2].message)
    [event] = cancel.walk("VEVENT")
    assert method == "CANCEL" and str(event["UID"]) == str(master["UID"])
    assert event["RECURRENCE-ID"].dt.astimezone(UTC) == held[1][0]
    assert int(event["SEQUENCE"]) > sequence
    assert len(stack.cards()) == 2  # Al's and the series'

    # the rest cancelled: the series ended, told once to Bob and once to the admin
    third = next(
        b["id"]
        for b in bookings(stack.engine)
        if b["series_id"] == series_id and b["starts_at"] == held[2][0]
    )
    stack.container.bus.handle(commands.CancelOccurrence(third, by=BOB, following=True))
    _deliver(stack)
    assert "recurring booking from this date on" in stack.dms_to(BOB)[-1].params["text"]
    [told] = [d for d in stack.dms_to(ADMIN) if "recurring" in d.params["text"]]
    assert "A recurring booking was cancelled from one date on" in told.params["text"]
    admins = [m for m in inbox.wait_for(6) if m.rcpt_tos == ["admin@example.com"]]
    [ended] = [m for m in admins if "Ended" in str(m.message["Subject"])]
    assert "Bob" in str(ended.message.get_body(preferencelist=("plain",)).get_content())
    assert _calendar_parts(ended.message) == []  # the admins get no invite


def _to_bob(inbox: Inbox, count: int) -> list[Any]:
    """Bob's emails once he has ``count`` (Al got one for his own request)."""
    return [m for m in inbox.wait_for(count + 1) if m.rcpt_tos == ["bob@example.com"]]


def _calendar_parts(message: EmailMessage) -> list[Any]:
    return [p for p in message.walk() if p.get_content_type() == "text/calendar"]


def test_the_admins_queue_decides_a_series_with_one_click(stack: Stack) -> None:
    series_id = _request_series(stack)
    stack.delivered("views.publish")
    home = stack.home_of(ADMIN)
    buttons = [
        e
        for b in home["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] in (ids.APPROVE_SERIES, ids.APPROVE)
    ]
    assert [(e["action_id"], e["value"]) for e in buttons] == [(ids.APPROVE_SERIES, str(series_id))]
    published = len(stack.fake.calls_to("views.publish"))
    stack.send.click(ADMIN, ids.APPROVE_SERIES, str(series_id), view=home)
    stack.until(lambda: _statuses(stack, series_id) == [BookingStatus.APPROVED] * WEEKS)
    stack.delivered("views.publish", published + 1)
    assert ids.APPROVE_SERIES not in _actions(stack.home_of(ADMIN)["blocks"])
    assert len(stack.cards()) == 1
