"""The texts a booker reads about their booking: every kind, in their zone, with input escaped."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.notifications.notice import KINDS, Notice
from bot.views.i18n import use_locale
from bot.views.notifications import (
    dm_blocks,
    dm_message,
    dm_text,
    email_content,
    room_label,
    when,
)

SEOUL = ZoneInfo("Asia/Seoul")
NASTY = "<script>alert(1)</script> & <@U1> *bold*"


def payload(kind: str, **extra: Any) -> dict[str, Any]:
    booking = {
        "booking_id": 42,
        "room_id": "102",
        "room_name": "Small room",
        "starts_at": "2026-12-01T00:00:00+00:00",
        "ends_at": "2026-12-01T01:00:00+00:00",
        "booker": "UBOB",
        "title": "Weekly sync",
        "status": "PENDING",
        "requested_at": "2026-11-30T08:00:00+00:00",
        "decided_by": None,
        "decided_at": None,
        "reason": None,
    }
    booking.update(extra.pop("booking", {}))
    return {
        "kind": kind,
        "actor": extra.pop("actor", "UADMIN"),
        "at": "2026-11-30T09:00:00+00:00",
        "booking": booking,
        **extra,
    }


def notice(kind: str, **extra: Any) -> Notice:
    return Notice.from_payload(payload(kind, **extra))


def section_text(blocks: list[dict[str, Any]]) -> str:
    return str(blocks[0]["text"]["text"])


def context_text(blocks: list[dict[str, Any]]) -> str:
    return str(blocks[1]["elements"][0]["text"])


def test_times_are_shown_in_the_readers_zone_with_its_name() -> None:
    start = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    end = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert when(start, end, SEOUL) == "Tue 1 Dec, 09:00–10:00 (Asia/Seoul)"
    assert when(start, end, ZoneInfo("America/Los_Angeles")) == (
        "Mon 30 Nov, 16:00–17:00 (America/Los_Angeles)"
    )
    late = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)
    assert when(late, late.replace(hour=16), SEOUL) == (
        "Tue 1 Dec, 23:30 – Wed 2 Dec, 01:30 (Asia/Seoul)"
    )


def test_room_label_names_the_room_once() -> None:
    assert room_label("102", "Small room") == "Room 102 (Small room)"
    assert room_label("102", "Room 102") == "Room 102"
    assert room_label("102", "102") == "Room 102"
    assert room_label("102") == "Room 102"


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_a_text_blocks_and_an_email(kind: str) -> None:
    n = notice(kind, minutes=10, waiting_minutes=150)
    message = dm_message(n, SEOUL)
    assert "\n" not in message["text"]  # one line
    assert "Room 102 (Small room)" in message["text"]
    assert "Tue 1 Dec, 09:00–10:00 (Asia/Seoul)" in message["text"]
    assert [b["type"] for b in message["blocks"]] == ["section", "context"]
    # a waitlist offer is about a slot, not about the booking whose end freed it
    reference = "Waitlist" if kind == "offer" else "Booking #42"
    assert reference in context_text(message["blocks"])
    mail = email_content(n, SEOUL)
    assert "Room 102" in mail.subject and "(Asia/Seoul)" in mail.subject
    assert "Tue 1 Dec, 09:00–10:00 (Asia/Seoul)" in mail.text
    assert "Tue 1 Dec, 09:00–10:00 (Asia/Seoul)" in mail.html
    assert "\n" not in mail.subject


def test_requested_says_waiting_and_never_complete() -> None:
    """The original said "reservation is complete" before anyone approved; never again."""
    n = notice("requested")
    mail = email_content(n, SEOUL)
    texts = [
        dm_text(n, SEOUL),
        section_text(dm_blocks(n, SEOUL)),
        mail.subject,
        mail.text,
        mail.html,
    ]
    for text in texts:
        assert "waiting for approval" in text.lower()
        assert "complete" not in text.lower()
    assert "received" in dm_text(n, SEOUL)


def test_approved_and_denied_say_who_decided_and_denied_says_why() -> None:
    approved = dm_blocks(notice("approved"), SEOUL)
    assert "approved" in section_text(approved)
    assert "Approved by <@UADMIN>" in context_text(approved)

    denied = notice("denied", booking={"reason": "Room is being cleaned"})
    assert "Reason:* Room is being cleaned" in section_text(dm_blocks(denied, SEOUL))
    assert "reason: Room is being cleaned" in dm_text(denied, SEOUL)
    mail = email_content(denied, SEOUL, actor_name="Ada Admin")
    assert "Room is being cleaned" in mail.text and "Ada Admin" in mail.text

    no_reason = notice("denied")
    assert "No reason was given." in section_text(dm_blocks(no_reason, SEOUL))


def test_cancelled_by_the_booker_or_by_an_admin() -> None:
    own = notice("cancelled", actor="UBOB", was_approved=False, by_admin=False)
    assert "You cancelled your booking" in dm_text(own, SEOUL)
    assert "by" not in context_text(dm_blocks(own, SEOUL))
    admin = notice("cancelled", actor="UADMIN", was_approved=True, by_admin=True)
    assert "cancelled by an admin" in dm_text(admin, SEOUL)
    assert "Cancelled by <@UADMIN>" in context_text(dm_blocks(admin, SEOUL))
    assert "calendar invite is withdrawn" in email_content(admin, SEOUL).text
    assert admin.withdraws_invite and not own.withdraws_invite


def test_an_admins_cancellation_says_why_when_the_admin_said() -> None:
    said = notice(
        "cancelled", by_admin=True, was_approved=True, booking={"reason": "Fire drill <b>"}
    )
    assert "*Reason:* Fire drill &lt;b&gt;" in section_text(dm_blocks(said, SEOUL))
    assert "reason: Fire drill &lt;b&gt;" in dm_text(said, SEOUL)
    mail = email_content(said, SEOUL, actor_name="Ada Admin")
    assert "Fire drill <b>" in mail.text and "Fire drill &lt;b&gt;" in mail.html
    silent = notice("cancelled", by_admin=True, was_approved=True)
    assert "Reason" not in section_text(dm_blocks(silent, SEOUL))  # no "No reason was given."
    assert "Reason" not in email_content(silent, SEOUL).text
    own = notice("cancelled", actor="UBOB", booking={"reason": "mine"})
    assert "mine" not in section_text(dm_blocks(own, SEOUL))


def test_expired_says_no_one_decided_in_time() -> None:
    n = notice("expired", actor="system")
    assert "no one decided before it started" in dm_text(n, SEOUL)
    assert "no one decided before it started" in email_content(n, SEOUL).text


def _expired_series(**extra: Any) -> Notice:
    week = 7 * 24 * 3600
    starts = [datetime.fromtimestamp(1764547200 + i * week, UTC) for i in range(4)]
    dates = [
        {
            "recurrence_id": s.isoformat(),
            "starts_at": s.isoformat(),
            "ends_at": s.replace(hour=1).isoformat(),
            "status": status,
        }
        for s, status in zip(starts, ["EXPIRED", "EXPIRED", "EXPIRED", "PENDING"], strict=True)
    ]
    series = {
        "series_id": 7,
        "rule": "FREQ=WEEKLY;BYDAY=MO;COUNT=4",
        "timezone": "Asia/Seoul",
        "starts_at": starts[0].isoformat(),
        "ends_at": starts[0].replace(hour=1).isoformat(),
        "dates": dates,
    }
    return notice("expired", actor="system", series=series, expired_dates=3, **extra)


@pytest.mark.parametrize(
    ("locale", "said", "count", "waiting"),
    [
        ("en", "Dates of your recurring booking request expired", "3 dates expired", "1 later"),
        ("ko", "반복 예약 요청의 날짜가 만료되었습니다", "날짜 3개가 만료", "나중 날짜 1개"),
    ],
)
def test_dates_of_a_series_expired_at_once_are_one_notice(
    locale: str, said: str, count: str, waiting: str
) -> None:
    n = _expired_series()
    assert n.about_series and Notice.from_payload(n.to_payload()) == n
    with use_locale(locale):
        text, blocks = dm_text(n, SEOUL), dm_blocks(n, SEOUL)
        mail = email_content(n, SEOUL)
    assert said in text and said in section_text(blocks) and said in mail.text
    for shown in (section_text(blocks), mail.text, mail.html):
        assert count in shown and waiting in shown
    assert "#7" in context_text(blocks) and n.calendar_method is None


def test_reminder_says_how_soon() -> None:
    assert "starts in 10 minutes" in dm_text(notice("reminder", minutes=10), SEOUL)
    assert "starts in 1 minute." in email_content(notice("reminder", minutes=1), SEOUL).text


def test_nudge_tells_an_admin_who_has_been_waiting_and_how_long() -> None:
    n = notice("nudge", actor="system", waiting_minutes=150)
    text = section_text(dm_blocks(n, SEOUL))
    assert "waiting 2 h 30 min for a decision" in text
    assert "Requested by <@UBOB>" in text
    assert "waiting 2 hours" in dm_text(notice("nudge", waiting_minutes=120), SEOUL)
    assert "waiting 45 minutes" in dm_text(notice("nudge", waiting_minutes=45), SEOUL)


def test_operator_actors_are_not_mentioned_as_people() -> None:
    blocks = dm_blocks(notice("approved", actor="cli"), SEOUL)
    assert "Approved by an admin" in context_text(blocks)
    assert "<@cli>" not in context_text(blocks)


def test_user_input_is_escaped_for_slack_and_for_html() -> None:
    n = notice("denied", booking={"title": NASTY, "reason": NASTY, "room_name": "<b>Lab</b>"})
    for text in (dm_text(n, SEOUL), section_text(dm_blocks(n, SEOUL))):
        assert "<script>" not in text and "<@U1>" not in text
        assert "&lt;script&gt;" in text and "&lt;@U1&gt;" in text
    mail = email_content(n, SEOUL, recipient_name="<i>Bob</i>", actor_name="Eve <eve@x>")
    assert "<script>" not in mail.html and "<b>Lab</b>" not in mail.html
    assert "<i>Bob</i>" not in mail.html and "<eve@x>" not in mail.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;@U1&gt; *bold*" in mail.html
    assert "&lt;i&gt;Bob&lt;/i&gt;" in mail.html and "Eve &lt;eve@x&gt;" in mail.html
    assert NASTY in mail.text  # plain text needs no escaping


def test_a_title_with_line_breaks_cannot_break_the_subject() -> None:
    n = notice("approved", booking={"title": "line one\r\nBcc: eve@example.com"})
    subject = email_content(n, SEOUL).subject
    assert "\n" not in subject and "\r" not in subject


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown notice kind"):
        Notice.from_payload(payload("teleported"))
