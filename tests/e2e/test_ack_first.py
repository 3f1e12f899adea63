"""The ack never waits on Slack, replies reach the user in any channel, no typed time is read in
a zone that is not the user's, and an acknowledged click is a stored one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from bot.adapters.db import READ_ONLY
from bot.domain.events import BookingApproved
from bot.domain.model import BookingStatus
from bot.views import ids
from tests.conftest import ADMIN
from tests.e2e.conftest import APPROVALS, BOB, Stack
from tests.integration.helpers import bookings

NEW = "UNEWCOMER"  # not cached yet: the first request about them has to ask users.info


def test_a_rate_limited_users_info_does_not_hold_up_the_ack(stack: Stack) -> None:
    stack.fake.add_user(NEW, tz="Asia/Tokyo", name="Nao")
    stack.fake.rate_limit_next("users.info", retry_after=3)
    reply = stack.send.command(NEW, "list", channel="CRANDOM")
    assert reply.status == 200 and reply.body == b""  # acked before Slack answered
    answer = stack.replies()[-1].body
    assert "no upcoming bookings" in answer["text"]
    assert stack.fake.calls_to("chat.postEphemeral") == []


def test_a_one_line_booking_waits_for_the_zone_after_the_ack(stack: Stack) -> None:
    stack.fake.add_user(NEW, tz="Asia/Tokyo", name="Nao")
    stack.fake.rate_limit_next("users.info", retry_after=3)
    reply = stack.send.command(NEW, "102 2026-12-02 11:00-12:00 Sync", channel="CRANDOM")
    assert reply.status == 200 and reply.body == b""
    assert "booking #1" in stack.replies()[-1].body["text"]
    [booking] = bookings(stack.engine)
    assert booking["starts_at"].isoformat() == "2026-12-02T02:00:00+00:00"  # 11:00 in Tokyo


def test_no_booking_in_a_guessed_zone_when_slack_cannot_say(stack: Stack) -> None:
    stack.fake.add_user(NEW, tz="Asia/Tokyo", name="Nao")
    stack.fake.fail_next("users.info", status=500, count=3)
    reply = stack.send.command(NEW, "102 2026-12-02 11:00-12:00 Sync")
    assert "could not read your time zone" in reply.text
    assert bookings(stack.engine) == []


def test_an_unknown_zone_from_slack_is_not_used_silently(stack: Stack) -> None:
    stack.fake.add_user(NEW, tz="Asia/Tokyo", name="Nao")["tz"] = "Mars/Olympus"
    reply = stack.send.command(NEW, "102 2026-12-02 11:00-12:00 Sync")
    assert reply.status == 200 and "could not read your time zone" in reply.text
    assert bookings(stack.engine) == []
    opened = len(stack.fake.calls_to("views.open"))
    stack.send.command(NEW)
    form = stack.fake.shown_view(opened)
    assert "did not tell me your time zone" in str(form["blocks"])  # the modal says its zone


def test_the_form_opens_before_users_info_is_asked(stack: Stack) -> None:
    stack.fake.add_user(NEW, tz="Asia/Tokyo", name="Nao")
    stack.fake.delay("users.info", 1.0)
    assert stack.send.command(NEW).status == 200
    form = stack.fake.shown_view()
    methods = [c.method for c in stack.fake.calls if c.method in ("views.open", "users.info")]
    assert methods[:2] == ["views.open", "users.info"]
    assert '"tz": "Asia/Tokyo"' in form["private_metadata"]


def test_an_acked_approval_is_already_stored(stack: Stack) -> None:
    stack.send.command(BOB, "102 2026-12-02 10:00-11:00")
    reply = stack.send.click(ADMIN, ids.APPROVE, "1", channel=APPROVALS, message_ts="1")
    assert reply.status == 200
    assert bookings(stack.engine)[0]["status"] == BookingStatus.APPROVED  # committed before the ack


@contextmanager
def _booking_row_locked(stack: Stack) -> Iterator[None]:
    """Another writer holding what the decision must write, as a busy database would."""
    with stack.engine.connect() as conn:
        if stack.engine.dialect.name == "sqlite":
            conn.exec_driver_sql("UPDATE rooms SET name = name")  # BEGIN IMMEDIATE: the write lock
        else:
            conn.execute(text("SELECT id FROM bookings WHERE id = 1 FOR UPDATE"))
        try:
            yield
        finally:
            conn.rollback()


def _status(stack: Stack) -> str:
    """Read without asking for SQLite's write lock, which the test itself may hold."""
    with stack.engine.connect().execution_options(**READ_ONLY) as conn:
        return str(conn.execute(text("SELECT status FROM bookings WHERE id = 1")).scalar_one())


def test_a_click_past_the_budget_is_acked_and_the_clicker_is_told(stack: Stack) -> None:
    stack.send.command(BOB, "102 2026-12-02 10:00-11:00")
    committed = threading.Event()
    stack.container.bus.after_commit.append(
        lambda events: (
            committed.set() if any(isinstance(e, BookingApproved) for e in events) else None
        )
    )
    with _booking_row_locked(stack):
        reply = stack.send.click(ADMIN, ids.APPROVE, "1", channel=APPROVALS, message_ts="1")
        assert reply.status == 200
        assert "taking longer than usual" in stack.replies()[-1].body["text"]
        assert _status(stack) == BookingStatus.PENDING
    assert committed.wait(timeout=30)
    assert _status(stack) == BookingStatus.APPROVED
