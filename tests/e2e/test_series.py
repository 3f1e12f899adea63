"""A recurring series end to end: signed clicks into the HTTP app, the real Slack client against
the strict fake Slack API. The series is requested through the bus (its form is another part),
then approved on its one card with one click.

Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.domain import commands
from bot.domain.model import BookingStatus
from bot.domain.recurrence import Frequency, Repeat
from bot.views import ids
from tests.conftest import ADMIN
from tests.e2e.conftest import AL, APPROVALS, BOB, Stack
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


def test_a_series_is_denied_as_one(stack: Stack) -> None:
    series_id = _request_series(stack, 3)
    stack.deliver()
    _click(stack, ADMIN, ids.DENY_SERIES, series_id, "1")
    stack.until(lambda: _statuses(stack, series_id) == [BookingStatus.DENIED] * 3)
    [update] = stack.delivered("chat.update")
    assert f"Denied by <@{ADMIN}>" in _texts(update.params["blocks"])
    assert len(stack.cards()) == 1
