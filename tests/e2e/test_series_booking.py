"""A repeating booking from Slack end to end: the booking form's Repeat fields turn it into a
preview of every date, free or taken and by whom; *Book the N free ones* holds a booking row per
free date; a date is cancelled alone or with every later one from ``/book list`` and App Home,
and changed alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from bot.adapters import orm
from bot.adapters.db import READ_ONLY
from bot.domain.model import BookingStatus
from bot.views import ids
from tests.e2e.conftest import AL, BOB, GENERAL, Stack
from tests.e2e.slack_client import booking_values, repeat_values
from tests.e2e.test_slack_app import _actions, _texts
from tests.fakes.slack_api import view_problems
from tests.integration.helpers import booking_list, bookings, rows

#: Wednesday 2 December 2026, 10:00-11:00 in Seoul (Bob's zone), weekly.
FIRST = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
WEEK = timedelta(weeks=1)


def _form(stack: Stack, user: str = BOB) -> dict[str, Any]:
    opened = len(stack.fake.calls_to("views.open"))
    assert stack.send.command(user).status == 200
    return stack.fake.shown_view(opened)


def _weekly_values(count: int = 6, **repeat: Any) -> dict[str, Any]:
    values = booking_values("102", "2026-12-02", "10:00", "11:00", "Weekly sync")
    return values | repeat_values("weekly", count=count, **repeat)


def _series_of(stack: Stack, series_id: int) -> dict[int, dict[str, Any]]:
    return {b["id"]: b for b in bookings(stack.engine) if b["series_id"] == series_id}


def _until_status(stack: Stack, booking_id: int, status: BookingStatus) -> None:
    stack.until(
        lambda: {b["id"]: b["status"] for b in bookings(stack.engine)}[booking_id] == status
    )


def _elements(blocks: list[dict[str, Any]], action_id: str) -> list[dict[str, Any]]:
    return [
        e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    ]


def _button(blocks: list[dict[str, Any]], action_id: str, value: str) -> dict[str, Any]:
    found = [e for e in _elements(blocks, action_id) if e["value"] == value]
    assert found, f"no {action_id} button for #{value}"
    return found[0]


def test_a_weekly_series_previews_books_the_free_dates_and_cancels_one_or_the_rest(
    stack: Stack,
) -> None:
    # Al (New York) holds the third Wednesday, 10:00-11:00 in Seoul
    assert "booking #1" in stack.send.command(AL, "102 2026-12-15 20:00-21:00 Al's").text

    form = _form(stack)
    assert ids.REPEAT_BLOCK in {b.get("block_id") for b in form["blocks"]}
    reply = stack.send.submit(BOB, form, _weekly_values(6))

    # the form turns into the preview; nothing is held yet
    assert reply.status == 200 and reply.json["response_action"] == "update"
    preview = reply.json["view"]
    assert view_problems(preview) == []
    text = _texts(preview["blocks"])
    assert text.count(":white_check_mark:") == 5 and text.count(":no_entry:") == 1
    assert "Wed 16 Dec, 10:00–11:00" in text and "taken by <@UAL> (booking #1)" in text
    assert "Asia/Seoul" in text
    assert preview["submit"]["text"] == "Book the 5 free ones"
    assert len(bookings(stack.engine)) == 1

    # Change the pattern: the form again in the preview's place, as it was filled in
    updates = len(stack.fake.calls_to("views.update"))
    stack.send.click(BOB, ids.SERIES_EDIT, "edit", view={**preview, "id": "VPREVIEW"})
    [again] = stack.fake.wait_for("views.update", count=updates + 1)[updates:]
    assert again.params["view_id"] == "VPREVIEW" and again.params["view"]["callback_id"] == (
        ids.BOOK_MODAL
    )
    count = next(b for b in again.params["view"]["blocks"] if b.get("block_id") == ids.COUNT_BLOCK)
    assert count["element"]["initial_value"] == "6"

    booked = stack.send.submit(BOB, preview, {})
    assert booked.status == 200 and booked.json["response_action"] == "update"
    assert view_problems(booked.json["view"]) == []
    sent = _texts(booked.json["view"]["blocks"])
    assert "5 dates requested" in sent and "1 taken date was skipped" in sent
    [series] = rows(stack.engine, orm.series)
    held = _series_of(stack, series["id"])
    assert [b["starts_at"] for b in held.values()] == [FIRST + w * WEEK for w in (0, 1, 3, 4, 5)]
    assert {b["status"] for b in held.values()} == {BookingStatus.PENDING}
    listed = {r["booking_id"] for r in booking_list(stack.engine) if r["series_id"]}
    assert listed == set(held)
    second, fourth, fifth = sorted(held)[1], sorted(held)[2], sorted(held)[3]

    # /book list: a date of the series offers both cancels, each behind a confirm
    listing = stack.send.command(BOB, "list").json
    assert _button(listing["blocks"], ids.CANCEL_OCCURRENCE, str(second))["confirm"]
    assert _button(listing["blocks"], ids.CANCEL_FOLLOWING, str(second))["confirm"]
    assert ids.CANCEL not in _actions(listing["blocks"])  # every one of them is a date of it
    stack.send.click(
        BOB, ids.CANCEL_OCCURRENCE, str(second), channel=GENERAL, message_ts="9", ephemeral=True
    )
    [response] = stack.fake.wait_for_responses()
    assert f"Booking #{second} is cancelled." in response.body["text"]
    statuses = {i: b["status"] for i, b in _series_of(stack, series["id"]).items()}
    assert [i for i, s in statuses.items() if s == BookingStatus.CANCELLED] == [second]

    # App Home: this and later dates, from the fourth week on
    stack.deliver()
    home = stack.home_of(BOB)
    assert _button(home["blocks"], ids.CANCEL_FOLLOWING, str(fourth))["confirm"]
    stack.send.click(BOB, ids.CANCEL_FOLLOWING, str(fourth), view=home)
    _until_status(stack, fifth, BookingStatus.CANCELLED)
    after = _series_of(stack, series["id"])
    assert [after[i]["status"] for i in sorted(after)] == [
        BookingStatus.PENDING,
        BookingStatus.CANCELLED,
        BookingStatus.CANCELLED,
        BookingStatus.CANCELLED,
        BookingStatus.CANCELLED,
    ]
    [ended] = rows(stack.engine, orm.series)
    assert ended["ended_at"] is not None
    stack.deliver()
    left = [e["value"] for e in _elements(stack.home_of(BOB)["blocks"], ids.CANCEL_FOLLOWING)]
    assert left == [str(sorted(held)[0])]
    # Al's booking was never touched
    assert bookings(stack.engine)[0]["status"] == BookingStatus.PENDING


def test_no_free_date_is_said_on_the_form_with_who_holds_the_first(stack: Stack) -> None:
    for week in range(3):
        day = (FIRST + week * WEEK - timedelta(hours=14)).date().isoformat()  # New York
        assert "booking #" in stack.send.command(AL, f"102 {day} 20:00-21:00").text
    reply = stack.send.submit(BOB, _form(stack), _weekly_values(3))
    assert reply.json["response_action"] == "errors"
    error = reply.json["errors"][ids.START_BLOCK]
    assert error == (
        "None of its 3 dates is free: the first, Wed 2 Dec, 10:00–11:00 (Asia/Seoul), "
        "is held by Al."
    )
    assert len(bookings(stack.engine)) == 3


def test_a_bad_pattern_or_one_beyond_the_horizon_is_a_field_error(stack: Stack) -> None:
    form = _form(stack)
    both = _weekly_values(6, until="2026-12-30")
    reply = stack.send.submit(BOB, form, both)
    assert reply.json == {
        "response_action": "errors",
        "errors": {ids.COUNT_BLOCK: "Give a last date or a number of times, not both."},
    }
    far = booking_values("102", "2026-12-02", "10:00", "11:00") | repeat_values(
        "weeks", interval=4, count=30
    )
    reply = stack.send.submit(BOB, form, far)
    assert reply.json["response_action"] == "errors"
    assert "more than 90 days ahead" in reply.json["errors"][ids.COUNT_BLOCK]
    assert bookings(stack.engine) == []


def test_one_date_of_a_series_changes_alone(stack: Stack) -> None:
    preview = stack.send.submit(BOB, _form(stack), _weekly_values(4)).json["view"]
    stack.send.submit(BOB, preview, {})
    [series] = rows(stack.engine, orm.series)
    before = _series_of(stack, series["id"])
    second = sorted(before)[1]

    opened = len(stack.fake.calls_to("views.open"))
    stack.send.click(BOB, ids.CHANGE, str(second), channel=GENERAL, message_ts="9", ephemeral=True)
    change = stack.fake.wait_for("views.open", count=opened + 1)[-1].params["view"]
    assert ids.REPEAT_BLOCK not in {b.get("block_id") for b in change["blocks"]}
    reply = stack.send.submit(
        BOB, change, booking_values("102", "2026-12-09", "14:00", "15:30", "Moved once")
    )
    assert reply.json["response_action"] == "update"
    assert "Booking changed" in json.dumps(reply.json["view"])

    after = _series_of(stack, series["id"])
    moved = after.pop(second)
    assert moved["starts_at"] == FIRST + WEEK + timedelta(hours=4)
    assert moved["title"] == "Moved once" and moved["recurrence_id"] == before[second]["starts_at"]
    assert after == {i: b for i, b in before.items() if i != second}  # the others untouched


@contextmanager
def _room_busy(stack: Stack) -> Iterator[None]:
    """Another writer holding room 102, as a busy database would: SQLite's write lock, or the
    room's advisory lock on PostgreSQL."""
    with stack.engine.connect() as conn:
        if stack.engine.dialect.name == "sqlite":
            conn.exec_driver_sql("UPDATE rooms SET name = name")  # BEGIN IMMEDIATE
        else:
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('room:102', 0))"))
        try:
            yield
        finally:
            conn.rollback()


def test_a_series_past_the_ack_budget_is_acked_then_answered_in_the_same_window(
    stack: Stack,
) -> None:
    preview = stack.send.submit(BOB, _form(stack), _weekly_values(3)).json["view"]
    updates = len(stack.fake.calls_to("views.update"))
    with _room_busy(stack):
        reply = stack.send.submit(BOB, preview, {})
        assert reply.json["response_action"] == "update"
        assert "taking longer than usual" in _texts(reply.json["view"]["blocks"])
        with stack.engine.connect().execution_options(**READ_ONLY) as conn:  # not the writer
            assert conn.execute(text("SELECT count(*) FROM bookings")).scalar_one() == 0
    [late] = stack.fake.wait_for("views.update", count=updates + 1, timeout=30)[updates:]
    assert late.params["view_id"] == "VMODAL"  # the submitted view, as its payload named it
    assert "3 dates requested" in _texts(late.params["view"]["blocks"])
    assert len(bookings(stack.engine)) == 3


def test_a_korean_reader_gets_the_repeat_errors_the_preview_and_the_answer_in_korean(
    stack: Stack,
) -> None:
    mina = "UMINA"
    stack.fake.add_user(mina, tz="Asia/Seoul", name="미나", locale="ko-KR")
    form = _form(stack, mina)
    both = stack.send.submit(mina, form, _weekly_values(6, until="2026-12-30")).json
    assert both["errors"] == {ids.COUNT_BLOCK: "마지막 날짜와 반복 횟수 중 하나만 입력해 주세요."}
    preview = stack.send.submit(mina, form, _weekly_values(3)).json["view"]
    assert preview["submit"]["text"] == "빈 날짜 3개 예약"
    assert "12월 16일 (수)" in _texts(preview["blocks"])
    sent = stack.send.submit(mina, preview, {}).json["view"]
    assert "날짜 3개 요청됨" in _texts(sent["blocks"])
