"""A series' one calendar entry: written, parsed back with icalendar and expanded with
recurring-ical-events to exactly the dates it holds (wall-clock times kept across a clock
change), its dates withdrawn one at a time or all at once, SEQUENCE only growing."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
from icalendar import Calendar

from bot.domain.recurrence import expand
from bot.notifications import ics
from bot.notifications.notice import Notice, SeriesDate, SeriesPart

NEW_YORK = ZoneInfo("America/New_York")
#: Mondays 09:00-10:00 in New York; the clocks go forward on Sunday 14 March 2027.
FIRST = datetime(2027, 3, 1, 9, 0, tzinfo=NEW_YORK)
HOUR, WEEK = timedelta(hours=1), timedelta(weeks=1)
AT = datetime(2027, 2, 20, 12, 0, tzinfo=UTC)
UID = "series-7-inst@example.com"


def _on(week: int) -> datetime:
    """The rule's start in ``week``: 09:00 local, whatever the UTC offset."""
    return (FIRST.replace(tzinfo=None) + week * WEEK).replace(tzinfo=NEW_YORK).astimezone(UTC)


def _date(week: int, status: str = "APPROVED", moved: timedelta | None = None) -> SeriesDate:
    start = _on(week) + (moved or timedelta())
    return SeriesDate(_on(week), start, start + HOUR, status)


#: Six Mondays: week 2 was taken when requested (no occurrence), week 4 cancelled since,
#: week 3 moved to 11:00.
PART = SeriesPart(
    series_id=7,
    rule="FREQ=WEEKLY;BYDAY=MO;COUNT=6",
    timezone="America/New_York",
    starts_at=_on(0),
    ends_at=_on(0) + HOUR,
    dates=(
        _date(0),
        _date(1),
        _date(3, moved=2 * HOUR),
        _date(4, "CANCELLED"),
        _date(5),
    ),
    sequence=4,
)


def _notice(kind: str = "approved", part: SeriesPart = PART, **extra: object) -> Notice:
    first = part.dates[0]
    return Notice(
        kind=kind,
        actor="UADMIN",
        at=AT,
        booking_id=40,
        room_id="102",
        room_name="Board room",
        starts_at=first.starts_at,
        ends_at=first.ends_at,
        booker="UBOB",
        title="Weekly sync",
        series=part,
        **extra,  # type: ignore[arg-type]
    )


def _parse(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def _expanded(calendar: Calendar) -> list[tuple[datetime, datetime]]:
    found = recurring_ical_events.of(calendar).between(date(2027, 1, 1), date(2028, 1, 1))
    return sorted((e["DTSTART"].dt.astimezone(UTC), e["DTEND"].dt.astimezone(UTC)) for e in found)


def _held(part: SeriesPart) -> list[tuple[datetime, datetime]]:
    return [(d.starts_at, d.ends_at) for d in part.dates if d.status == "APPROVED"]


def test_an_approved_series_is_one_entry_that_expands_to_exactly_its_dates() -> None:
    notice = _notice()
    assert notice.about_series and notice.calendar_method == "REQUEST"
    calendar = _parse(ics.calendar(notice, "rooms@example.com", "bob@example.com", event_uid=UID))
    assert str(calendar["METHOD"]) == "REQUEST"
    [zone] = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "America/New_York"
    events = calendar.walk("VEVENT")
    assert {str(e["UID"]) for e in events} == {UID}
    assert {int(e["SEQUENCE"]) for e in events} == {4}
    master, moved = events
    assert master["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=6;BYDAY=MO"
    assert master["DTSTART"].dt == FIRST  # wall-clock time in its zone, not UTC
    exdates = master["EXDATE"] if isinstance(master["EXDATE"], list) else [master["EXDATE"]]
    assert {d.dt.astimezone(UTC) for ex in exdates for d in ex.dts} == {_on(2), _on(4)}
    assert moved["RECURRENCE-ID"].dt.astimezone(UTC) == _on(3)
    # 09:00 in New York before and after the clock change; the moved date at 11:00
    assert _expanded(calendar) == _held(PART)
    assert [s.astimezone(NEW_YORK).hour for s, _e in _expanded(calendar)] == [9, 9, 11, 9]


def test_one_date_withdrawn_is_a_cancel_of_that_recurrence_id() -> None:
    cancelled = dataclasses.replace(
        PART, dates=(*PART.dates[:1], _date(1, "CANCELLED"), *PART.dates[2:]), sequence=5
    )
    notice = _notice("cancelled", cancelled, recurrence_id=_on(1), was_approved=True)
    notice = dataclasses.replace(notice, starts_at=_on(1), ends_at=_on(1) + HOUR)
    assert notice.calendar_method == "CANCEL" and notice.calendar_sequence == 5
    calendar = _parse(ics.calendar(notice, event_uid=UID))
    assert str(calendar["METHOD"]) == "CANCEL"
    [event] = calendar.walk("VEVENT")
    assert event["RECURRENCE-ID"].dt.astimezone(UTC) == _on(1)
    assert str(event["STATUS"]) == "CANCELLED" and int(event["SEQUENCE"]) == 5
    assert "RRULE" not in event

    # the invite with the cancel applied: the series without that date
    after = _parse(ics.calendar(_notice(part=cancelled), event_uid=UID))
    assert _expanded(after) == _held(cancelled)


def test_an_ended_series_sends_what_is_left_or_a_cancel_of_all_of_it() -> None:
    rest = dataclasses.replace(
        PART,
        dates=(
            *PART.dates[:2],
            *(dataclasses.replace(d, status="CANCELLED") for d in PART.dates[2:]),
        ),
        sequence=7,
        end_reason="cancelled",
    )
    ended = _notice("ended", rest, was_approved=True, cancelled_dates=2)
    assert ended.calendar_method == "REQUEST" and ended.calendar_sequence == 7
    assert _expanded(_parse(ics.calendar(ended, event_uid=UID))) == _held(rest)

    none_left = dataclasses.replace(
        rest,
        dates=tuple(dataclasses.replace(d, status="CANCELLED") for d in PART.dates),
        sequence=9,
    )
    gone = _notice("ended", none_left, was_approved=True, cancelled_dates=5)
    assert gone.calendar_method == "CANCEL"
    calendar = _parse(ics.calendar(gone, event_uid=UID))
    [event] = calendar.walk("VEVENT")
    assert "RECURRENCE-ID" not in event and str(event["UID"]) == UID  # the whole entry
    assert int(event["SEQUENCE"]) == 9

    # told to the admins: no calendar; never invited: nothing to withdraw
    assert dataclasses.replace(ended, to_admins=True).calendar_method is None
    assert dataclasses.replace(gone, was_approved=False).calendar_method is None
    assert _notice("requested").calendar_method is None


def test_a_series_notice_survives_its_payload() -> None:
    for notice in (
        _notice(),
        _notice("cancelled", recurrence_id=_on(1), was_approved=True),
        _notice("ended", was_approved=True, cancelled_dates=3, to_admins=True),
    ):
        assert Notice.from_payload(notice.to_payload()) == notice
    assert PART.skipped == (_on(2),)


def test_the_series_uid_has_the_invites_form() -> None:
    notice = _notice()
    assert ics.uid_of(notice, "inst", "example.com") == UID
    assert ics.uid_of(notice) == "series-7@roombot"
    single = dataclasses.replace(notice, series=None)
    assert ics.uid_of(single, "inst", "example.com") == ics.uid(40, "inst", "example.com")


@pytest.mark.parametrize(
    ("zone", "rule"),
    [
        ("UTC", "FREQ=DAILY;COUNT=5"),
        ("Asia/Seoul", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;UNTIL=20270430T145959Z"),
        ("Europe/Berlin", "FREQ=WEEKLY;BYDAY=SU;COUNT=6"),  # across the end of March
    ],
)
def test_every_pattern_expands_to_its_held_dates(zone: str, rule: str) -> None:
    """Whatever the zone and the pattern, the invite expands to the approved dates exactly: the
    first skipped (taken when requested), the third cancelled."""
    tz = ZoneInfo(zone)
    first = datetime(2027, 3, 1, 9, 30, tzinfo=tz)
    slots = expand(rule, first, first + HOUR, tz)
    dates = tuple(
        SeriesDate(start, start, end, "CANCELLED" if i == 3 else "APPROVED")
        for i, (start, end) in enumerate(slots)
        if i != 0
    )
    part = dataclasses.replace(
        PART, rule=rule, timezone=zone, starts_at=slots[0][0], ends_at=slots[0][1], dates=dates
    )
    calendar = _parse(ics.calendar(_notice(part=part), event_uid=UID))
    assert _expanded(calendar) == _held(part)
    assert {s.astimezone(tz).strftime("%H:%M") for s, _e in _expanded(calendar)} == {"09:30"}
