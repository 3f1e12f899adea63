"""A recurring series in words and on its one approval card, in English and Korean, within
Slack's limits (checked with slack_sdk's Block Kit models)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.model import BookingStatus
from bot.services.ports import BookingRow, SeriesRow
from bot.views import ids
from bot.views.cards import series_card, series_status
from bot.views.i18n import use_locale
from bot.views.series import pattern
from tests.fakes.slack_api import block_problems
from tests.unit.slack_limits import check_message

SEOUL = ZoneInfo("Asia/Seoul")
FIRST = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # Wednesday 10:00 in Seoul
WEEK = timedelta(weeks=1)


def _occurrence(
    i: int, status: BookingStatus = BookingStatus.PENDING, **extra: object
) -> BookingRow:
    start = FIRST + i * WEEK
    return BookingRow(
        booking_id=10 + i,
        room_id="102",
        room_name="Board room",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        booker="UBOB",
        title="Weekly *sync*",
        status=status,
        requested_at=FIRST - timedelta(days=1),
        series_id=7,
        recurrence_id=start,
        **extra,  # type: ignore[arg-type]
    )


def _series(*occurrences: BookingRow, skipped: int = 1, **extra: object) -> SeriesRow:
    return SeriesRow(
        series_id=7,
        room_id="102",
        room_name="Board room",
        booker="UBOB",
        title="Weekly *sync*",
        rule="FREQ=WEEKLY;BYDAY=WE;COUNT=6",
        timezone="Asia/Seoul",
        starts_at=FIRST,
        ends_at=FIRST + timedelta(hours=1),
        requested_at=FIRST - timedelta(days=1),
        occurrences=occurrences or tuple(_occurrence(i) for i in (0, 1, 3, 4, 5)),
        skipped=tuple(FIRST + i * WEEK for i in (2,)[:skipped]),
        **extra,  # type: ignore[arg-type]
    )


def _valid(message: dict) -> str:
    check_message(message)
    assert block_problems(message["blocks"]) == []
    return str(message)


def _actions(message: dict) -> list[str]:
    return [
        e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]


def test_the_pattern_in_words() -> None:
    assert (
        pattern("FREQ=WEEKLY;BYDAY=WE;COUNT=6", FIRST, SEOUL) == "Every week on Wednesday, 6 times"
    )
    assert (
        pattern("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=4", FIRST, SEOUL)
        == "Every 2 weeks on Monday and Wednesday, 4 times"
    )
    # UNTIL is the end of the last day in the series' zone, written in UTC
    assert (
        pattern("FREQ=DAILY;UNTIL=20261204T145959Z", FIRST, SEOUL) == "Every day, until Fri 4 Dec"
    )
    with use_locale("ko"):
        assert pattern("FREQ=WEEKLY;BYDAY=WE;COUNT=6", FIRST, SEOUL) == "매주 수요일, 6회"
        assert pattern("FREQ=DAILY;INTERVAL=3;COUNT=5", FIRST, SEOUL) == "3일마다, 5회"


def test_a_pending_series_card_asks_once_for_the_whole_series() -> None:
    message = series_card(_series(), approvers=("UAPPROVER",))
    text = _valid(message)
    assert _actions(message) == [ids.APPROVE_SERIES, ids.DENY_SERIES]
    assert all(
        e["value"] == "7"
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    )
    assert "Series request #7" in text and "Every week on Wednesday, 6 times" in text
    assert "5 dates" in text and "and 2 more" in text  # the first three, then how many more
    assert "Skipped, 1 date already taken" in text
    assert "Weekly \\*sync\\*" in text or "Weekly &lt;" not in text
    assert "<@UAPPROVER>" in text  # who may decide, while it waits
    assert series_status(_series()) == BookingStatus.PENDING


def test_a_decided_series_card_says_who_decided_and_has_no_buttons() -> None:
    decided = {"decided_by": "UADMIN", "decided_at": FIRST - timedelta(hours=2)}
    approved = _series(
        *(_occurrence(i, BookingStatus.APPROVED, **decided) for i in range(3)), skipped=0
    )
    message = series_card(approved)
    text = _valid(message)
    assert _actions(message) == []
    assert "Approved by <@UADMIN>" in text and "approved: 3" in text
    assert "Skipped" not in text

    denied = _series(
        *(_occurrence(i, BookingStatus.DENIED, reason="Repairs", **decided) for i in range(3))
    )
    assert "Denied by <@UADMIN>" in _valid(series_card(denied))

    ended = replace(
        _series(
            _occurrence(0, BookingStatus.APPROVED, **decided),
            _occurrence(1, BookingStatus.CANCELLED, cancelled_by="UBOB", **decided),
        ),
        ended_at=FIRST,
        end_reason="cancelled",
    )
    text = _valid(series_card(ended))
    assert ":wastebasket:" in text and "Series ended" in text and "cancelled: 1" in text


def test_the_series_card_in_korean() -> None:
    with use_locale("ko"):
        text = _valid(series_card(_series()))
    assert "반복 예약 요청 #7" in text and "매주 수요일, 6회" in text
