"""Typed input Slack lets through, answered where the user is with nothing stored; and real
elapsed time for bookings across a clock change or midnight, through the modal."""

from __future__ import annotations

import json

import pytest

from bot.views import ids
from tests.conftest import ADMIN
from tests.e2e.conftest import BOB, Stack
from tests.e2e.slack_client import booking_values
from tests.integration.helpers import bookings


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("cancel 99999999999999999999", "There is no booking #99999999999999999999"),
        ("cancel ²", "Which booking?"),
        ("cancel 1.0", "Which booking?"),
        ("102 2026-12-02 10:00-11:00 a\x00b", "control characters"),
        ("1\x002 2026-12-02 10:00-11:00", "There is no room"),
        ("102 0001-01-01 00:30-01:00", "does not exist"),  # no UTC moment in Seoul
        ("102 0001-01-02 10:00-11:00", "past"),
        ("102 9999-12-31 23:00-23:30", "days ahead"),
        ("102 2026-12-02 ²:00-11:00", "I could not read that booking"),
        ("102 2026-12-02 10:00-24:30", "does not exist"),
    ],
)
def test_typed_input_gets_a_clear_answer_and_stores_nothing(
    stack: Stack, text: str, says: str
) -> None:
    reply = stack.send.command(BOB, text)
    assert reply.status == 200 and says in reply.text
    assert bookings(stack.engine) == []


@pytest.mark.parametrize("value", ["abc", "1.0", "[1]", "null", "99999999999999999999", "²"])
def test_tampered_button_values_change_nothing(stack: Stack, value: str) -> None:
    stack.send.command(BOB, "102 2026-12-02 10:00-11:00")
    for action in (ids.APPROVE, ids.CANCEL):
        reply = stack.send.click(ADMIN, action, value, channel="CAPPROVALS", message_ts="1")
        assert reply.status == 200
    note = stack.replies(count=2)[-1].body["text"]
    assert "out of date" in note
    assert [b["status"] for b in bookings(stack.engine)] == ["PENDING"]


@pytest.mark.parametrize("meta", ["abc", "[1]", '{"booking_id": "1.0"}', '{"booking_id": null}'])
def test_a_tampered_denial_form_is_a_field_error(stack: Stack, meta: str) -> None:
    stack.send.command(BOB, "102 2026-12-02 10:00-11:00")
    values = {ids.REASON_BLOCK: {ids.REASON_ACTION: {"value": "no"}}}
    reply = stack.send.submit(
        ADMIN, {"callback_id": ids.DENY_MODAL, "private_metadata": meta}, values
    )
    assert reply.json["response_action"] == "errors"
    assert [b["status"] for b in bookings(stack.engine)] == ["PENDING"]


def _book_in_berlin(stack: Stack, day: str, start: str, end: str) -> dict:
    stack.fake.add_user("UBERLIN", tz="Europe/Berlin", name="Berta")
    meta = json.dumps({"tz": "Europe/Berlin"})
    view = {"callback_id": ids.BOOK_MODAL, "private_metadata": meta}
    reply = stack.send.submit("UBERLIN", view, booking_values("102", day, start, end))
    assert reply.status == 200
    return reply.json


def test_the_modal_measures_a_dst_night_in_real_hours(stack: Stack) -> None:
    stack.clock.now = stack.clock.now.replace(year=2026, month=10, day=1)
    autumn = _book_in_berlin(stack, "2026-10-25", "01:00", "09:00")  # 9 real hours
    assert autumn["response_action"] == "errors" and "at most 8 hours" in str(autumn["errors"])
    spring_clock = stack.clock.now.replace(year=2027, month=3, day=1)
    stack.clock.now = spring_clock
    spring = _book_in_berlin(stack, "2027-03-28", "01:00", "09:30")  # 7.5 real hours
    assert spring["response_action"] == "update"
    [booking] = bookings(stack.engine)
    assert (booking["ends_at"] - booking["starts_at"]).total_seconds() == 7.5 * 3600


def test_the_modal_books_across_midnight_and_shows_both_days(stack: Stack) -> None:
    answer = _book_in_berlin(stack, "2026-12-02", "22:00", "01:00")
    assert answer["response_action"] == "update"
    shown = json.dumps(answer["view"])
    assert "2 Dec" in shown and "3 Dec" in shown
    [booking] = bookings(stack.engine)
    assert (booking["ends_at"] - booking["starts_at"]).total_seconds() == 3 * 3600
