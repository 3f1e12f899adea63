"""The booking modal's Repeat fields, the preview of a series' dates and what follows it: within
Slack's limits (our checker and slack_sdk's models), read back into a Repeat, and every bad
combination refused on its own field in the reader's language."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.demo.signed import booking_values, repeat_values
from bot.domain.commands import RequestSeries
from bot.domain.errors import Conflict
from bot.domain.model import BookingStatus
from bot.domain.recurrence import MAX_OCCURRENCES, Frequency, Repeat
from bot.services.handlers import Occurrence
from bot.services.ports import RoomRow, SeriesRow
from bot.views import ids, lists
from bot.views.booking_modal import booking_modal, read_booking
from bot.views.home import HomeData, home_view
from bot.views.i18n import use_locale
from bot.views.series_preview import (
    DATES_SHOWN,
    all_taken,
    read_series,
    series_preview,
    series_refused,
    series_sent,
)
from tests.fakes.slack_api import view_problems
from tests.unit.slack_limits import check_view
from tests.unit.test_views import buttons, elements, make_rooms, make_row

SEOUL = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
FIRST = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # Wed 10:00 in Seoul
ROOM = RoomRow("102", "Small room", 4, True)
BOB, CAROL = "UBOB", "UCAROL"
WEEK = timedelta(weeks=1)


def _valid(view: dict[str, Any], surface: str = "modal") -> None:
    check_view(view, surface)  # type: ignore[arg-type]
    assert view_problems(view) == []


def _submitted(view: dict[str, Any], **repeat: Any) -> dict[str, Any]:
    values = booking_values("102", "2026-12-02", "10:00", "11:00", "Weekly sync")
    if repeat:
        values |= repeat_values(repeat.pop("choice"), **repeat)
    return {**view, "state": {"values": values}}


def _form() -> dict[str, Any]:
    return booking_modal(make_rooms(3), SEOUL, NOW)


def _request(weeks: int = 6, title: str = "Weekly sync") -> RequestSeries:
    return RequestSeries(
        "102",
        FIRST,
        FIRST + timedelta(hours=1),
        by=BOB,
        repeat=Repeat(Frequency.WEEKLY, count=weeks),
        timezone="Asia/Seoul",
        title=title,
    )


def _dates(weeks: int, taken: dict[int, str]) -> list[Occurrence]:
    found = []
    for week in range(weeks):
        start = FIRST + timedelta(weeks=week)
        end = start + timedelta(hours=1)
        holder = taken.get(week)
        conflict = Conflict(100 + week, holder, start, end, "") if holder else None
        found.append(Occurrence(start, end, conflict))
    return found


def _text(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


# --- the form ------------------------------------------------------------------------------------


def test_a_new_booking_form_has_the_repeat_fields_defaulting_to_no_repeat() -> None:
    view = _form()
    _valid(view)
    by_id = {b.get("block_id"): b for b in view["blocks"]}
    repeat = by_id[ids.REPEAT_BLOCK]["element"]
    assert repeat["initial_option"]["value"] == "none"
    assert [o["value"] for o in repeat["options"]] == ["none", "daily", "weekly", "weeks"]
    assert len(by_id[ids.WEEKDAYS_BLOCK]["element"]["options"]) == 7
    assert by_id[ids.COUNT_BLOCK]["element"]["max_value"] == str(MAX_OCCURRENCES)
    for block in (ids.WEEKDAYS_BLOCK, ids.INTERVAL_BLOCK, ids.UNTIL_BLOCK, ids.COUNT_BLOCK):
        assert by_id[block]["optional"] is True


def test_the_change_form_changes_one_booking_and_has_no_repeat_fields() -> None:
    row = make_row(7, status=BookingStatus.APPROVED)
    view = booking_modal(make_rooms(3), SEOUL, NOW, booking=row)
    _valid(view)
    assert ids.REPEAT_BLOCK not in {b.get("block_id") for b in view["blocks"]}
    # even if a tampered submission carries them, a change does not repeat
    form, errors, _ = read_booking(_submitted(view, choice="weekly", count=6))
    assert form is not None and not errors and form.repeat is None and form.booking_id == 7


def test_weekday_names_are_the_readers_language() -> None:
    with use_locale("ko"):
        view = _form()
    weekdays = next(b for b in view["blocks"] if b.get("block_id") == ids.WEEKDAYS_BLOCK)
    assert weekdays["element"]["options"][0]["text"]["text"] == "월요일"


@pytest.mark.parametrize(
    ("fields", "repeat"),
    [
        ({}, None),
        ({"choice": "none"}, None),
        ({"choice": "weekly", "count": 6}, Repeat(Frequency.WEEKLY, count=6)),
        (
            {"choice": "daily", "until": "2026-12-08"},
            Repeat(Frequency.DAILY, until=date(2026, 12, 8)),
        ),
        (
            {"choice": "weekly", "weekdays": (0, 2), "count": 10},
            Repeat(Frequency.WEEKLY, weekdays=(0, 2), count=10),
        ),
        (
            {"choice": "weeks", "interval": 2, "until": "2027-02-24"},
            Repeat(Frequency.WEEKLY, interval=2, until=date(2027, 2, 24)),
        ),
    ],
)
def test_the_repeat_fields_read_back_into_a_pattern(
    fields: dict[str, Any], repeat: Repeat | None
) -> None:
    form, errors, tz = read_booking(_submitted(_form(), **fields))
    assert not errors and form is not None
    assert form.repeat == repeat and tz == SEOUL


@pytest.mark.parametrize(
    ("fields", "block", "english"),
    [
        ({"choice": "none", "count": 4}, ids.COUNT_BLOCK, "does not repeat"),
        ({"choice": "none", "weekdays": (1,)}, ids.WEEKDAYS_BLOCK, "does not repeat"),
        ({"choice": "daily", "weekdays": (1,), "count": 3}, ids.WEEKDAYS_BLOCK, "Weekdays go"),
        ({"choice": "weeks", "count": 3}, ids.INTERVAL_BLOCK, "every how many weeks"),
        ({"choice": "weekly", "interval": 3, "count": 3}, ids.INTERVAL_BLOCK, "Every few weeks"),
        ({"choice": "weeks", "interval": 13, "count": 3}, ids.INTERVAL_BLOCK, "1 to 12"),
        ({"choice": "weekly", "until": "2026-12-30", "count": 3}, ids.COUNT_BLOCK, "not both"),
        ({"choice": "weekly"}, ids.UNTIL_BLOCK, "how many times"),
        ({"choice": "weekly", "until": "2026-12-02"}, ids.UNTIL_BLOCK, "after the first date"),
        ({"choice": "weekly", "count": 60}, ids.COUNT_BLOCK, "2 to 52"),
        ({"choice": "weekly", "count": 1}, ids.COUNT_BLOCK, "2 to 52"),
        ({"choice": "monthly", "count": 3}, ids.REPEAT_BLOCK, "out of date"),
        ({"choice": "weekly", "weekdays": (9,), "count": 3}, ids.WEEKDAYS_BLOCK, "out of date"),
    ],
)
def test_a_bad_combination_is_an_error_on_its_field_in_the_readers_language(
    fields: dict[str, Any], block: str, english: str
) -> None:
    view = _submitted(_form(), **fields)
    form, errors, _ = read_booking(view)
    assert form is None and list(errors) == [block]
    assert english in errors[block]
    with use_locale("ko"):
        _form_ko, korean, _ = read_booking(view)
    assert korean[block] != errors[block] and any(
        "\uac00" <= ch <= "\ud7a3" for ch in korean[block]
    )


def test_a_number_that_is_not_one_is_an_error_not_a_crash() -> None:
    view = _submitted(_form(), choice="weekly")
    view["state"]["values"]["count"]["count_input"]["value"] = "1e3"
    form, errors, _ = read_booking(view)
    assert form is None and ids.COUNT_BLOCK in errors


# --- the preview ---------------------------------------------------------------------------------


def test_the_preview_lists_every_date_free_or_taken_by_whom_and_books_the_free_ones() -> None:
    request = _request(6)
    view = series_preview(request, _dates(6, {2: CAROL}), ROOM, SEOUL)
    _valid(view)
    assert view["callback_id"] == ids.SERIES_MODAL
    assert view["submit"]["text"] == "Book the 5 free ones"
    text = _text(view)
    assert text.count(":white_check_mark:") == 5 and text.count(":no_entry:") == 1
    assert "taken by <@UCAROL> (booking #102)" in text
    assert "Wed 16 Dec, 10:00–11:00" in text  # Seoul time: the third week
    assert "Asia/Seoul" in text and "5 of 6 dates are free" in text
    assert read_series(view, BOB) == (request, SEOUL)


def test_a_date_the_booker_holds_already_says_so() -> None:
    view = series_preview(_request(3), _dates(3, {0: BOB}), ROOM, SEOUL)
    assert "you hold it already (booking #100)" in _text(view)
    assert view["submit"]["text"] == "Book the 2 free ones"


def test_a_long_series_is_clipped_with_how_many_more_and_stays_within_limits() -> None:
    taken = {w: CAROL for w in range(0, MAX_OCCURRENCES, 5)}
    view = series_preview(
        _request(MAX_OCCURRENCES, "회의" * 250), _dates(MAX_OCCURRENCES, taken), ROOM, SEOUL
    )
    _valid(view)
    assert len(view["blocks"]) <= 100
    rest = MAX_OCCURRENCES - DATES_SHOWN
    rest_taken = sum(1 for w in taken if w >= DATES_SHOWN)
    assert f"And {rest} more dates ({rest_taken} of them taken)." in _text(view)
    assert _text(view).count(":no_entry:") == sum(1 for w in taken if w < DATES_SHOWN)
    assert len(view["private_metadata"]) <= 3000


def test_the_preview_speaks_korean() -> None:
    with use_locale("ko"):
        view = series_preview(_request(6), _dates(6, {2: CAROL}), ROOM, SEOUL)
    _valid(view)
    assert "예약" in view["submit"]["text"] and "5" in view["submit"]["text"]
    assert "12월 16일" in _text(view)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda m: m.pop("repeat"),
        lambda m: m.update(tz="Mars/Olympus"),
        lambda m: m.update(start="2026-12-02T10:00:00"),  # no zone
        lambda m: m["repeat"].update(count=500),
        lambda m: m["repeat"].update(count=True),
        lambda m: m["repeat"].update(weekdays=["MO"]),
        lambda m: m["repeat"].update(frequency="hourly"),
        lambda m: m.update(room=["102"]),
    ],
)
def test_preview_metadata_that_we_did_not_write_reads_as_nothing(tamper: Any) -> None:
    view = series_preview(_request(4), _dates(4, {}), ROOM, SEOUL)
    meta = json.loads(view["private_metadata"])
    tamper(meta)
    assert read_series({"private_metadata": json.dumps(meta)}, BOB) is None
    assert read_series({"private_metadata": "not json"}, BOB) is None


def test_all_taken_says_who_holds_the_first() -> None:
    request = _request(3)
    first = _dates(3, {0: CAROL})[0].conflict
    assert first is not None
    text = all_taken(request, first, "Carol", SEOUL)
    assert text == (
        "None of its 3 dates is free: the first, Wed 2 Dec, 10:00–11:00 (Asia/Seoul), "
        "is held by Carol."
    )
    mine = Conflict(5, BOB, first.starts_at, first.ends_at, "")
    assert "you hold the first" in all_taken(request, mine, None, SEOUL)


def _series_row(rows: list[Any], skipped: tuple[datetime, ...]) -> SeriesRow:
    return SeriesRow(
        series_id=3,
        room_id="102",
        room_name="Small room",
        booker=BOB,
        title="Weekly sync",
        rule="FREQ=WEEKLY;BYDAY=WE;COUNT=6",
        timezone="Asia/Seoul",
        starts_at=FIRST,
        ends_at=FIRST + timedelta(hours=1),
        requested_at=NOW,
        occurrences=tuple(rows),
        skipped=skipped,
    )


def test_after_booking_the_modal_lists_the_dates_held_and_how_many_were_skipped() -> None:
    rows = [
        make_row(10 + w, starts_at=FIRST + timedelta(weeks=w), title="Weekly sync")
        for w in range(6)
        if w != 2
    ]
    view = series_sent(_series_row(rows, (FIRST + 2 * WEEK,)), SEOUL, email=True)
    _valid(view)
    text = _text(view)
    assert "5 dates requested" in text and "1 taken date was skipped" in text
    assert "Every week on Wednesday, 6 times" in text
    assert "#10 ·" in text and "#15 ·" in text and "DM and an email" in text
    approved = [dataclasses.replace(r, status=BookingStatus.APPROVED) for r in rows]
    booked = _text(series_sent(_series_row(approved, ()), SEOUL, email=False))
    assert "5 dates booked" in booked and "skipped" not in booked and "email" not in booked
    _valid(series_refused("<!channel> nope"))
    assert "&lt;!channel&gt;" in _text(series_refused("<!channel> nope"))


# --- a date of a series in the lists -------------------------------------------------------------


def test_a_date_of_a_series_is_cancelled_alone_or_with_the_later_ones_after_a_confirm() -> None:
    single = make_row(1, status=BookingStatus.APPROVED)
    dated = dataclasses.replace(make_row(2, status=BookingStatus.APPROVED), series_id=9)
    data = HomeData(BOB, SEOUL, NOW, upcoming=[single, dated], upcoming_total=2, history=[])
    for view in (home_view(data), lists.my_bookings([single, dated], 2, SEOUL)):
        blocks = view["blocks"]
        one = {e["value"]: e for e in elements(blocks) if e.get("action_id") == ids.CANCEL}
        alone = buttons(blocks, ids.CANCEL_OCCURRENCE)
        following = buttons(blocks, ids.CANCEL_FOLLOWING)
        assert list(one) == ["1"]
        assert [b["value"] for b in alone] == [b["value"] for b in following] == ["2"]
        assert "Only this date is cancelled" in alone[0]["confirm"]["text"]["text"]
        assert "every later date" in following[0]["confirm"]["text"]["text"]
        assert [b["value"] for b in buttons(blocks, ids.CHANGE)] == ["1", "2"]
    check_view(home_view(data), "home")
    assert view_problems(home_view(data)) == []


def test_the_list_after_cancelling_following_says_how_many_went() -> None:
    listing = lists.my_bookings([make_row(1)], 1, SEOUL)
    assert (
        "Booking #4 and 2 later dates of its series are cancelled."
        in (lists.cancelled(4, listing, later=2)["text"])
    )
    assert "Booking #4 is cancelled." in lists.cancelled(4, listing)["text"]


# --- Change the pattern: the form again, filled in -----------------------------------------------

_STATE = {
    "static_select": ("initial_option", "selected_option"),
    "datepicker": ("initial_date", "selected_date"),
    "timepicker": ("initial_time", "selected_time"),
    "plain_text_input": ("initial_value", "value"),
    "number_input": ("initial_value", "value"),
    "checkboxes": ("initial_options", "selected_options"),
}


def _as_submitted(view: dict[str, Any]) -> dict[str, Any]:
    """The view submitted untouched: each input's initial value as Slack reports it."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        initial, state = _STATE[element["type"]]
        found = element.get(initial, [] if element["type"] == "checkboxes" else None)
        values[block["block_id"]] = {element["action_id"]: {"type": element["type"], state: found}}
    return {**view, "state": {"values": values}}


@pytest.mark.parametrize(
    "repeat",
    [
        Repeat(Frequency.WEEKLY, count=6),
        Repeat(Frequency.WEEKLY, weekdays=(0, 2, 4), until=date(2027, 1, 29)),
        Repeat(Frequency.WEEKLY, interval=3, count=4),
        Repeat(Frequency.DAILY, until=date(2026, 12, 11)),
    ],
)
def test_change_the_pattern_gives_the_form_back_as_it_was_submitted(repeat: Repeat) -> None:
    request = dataclasses.replace(_request(), repeat=repeat)
    preview = series_preview(request, _dates(3, {}), ROOM, SEOUL)
    assert [b["value"] for b in buttons(preview["blocks"], ids.SERIES_EDIT)] == ["edit"]
    form = booking_modal([*make_rooms(2), ROOM], SEOUL, NOW, series=request)
    _valid(form)
    read, errors, tz = read_booking(_as_submitted(form))
    assert not errors and read is not None and tz == SEOUL
    assert (read.room_id, read.starts_at, read.ends_at, read.title) == (
        "102",
        request.starts_at,
        request.ends_at,
        "Weekly sync",
    )
    assert read.repeat == repeat
