"""Find a room: reading the search, the results, the search form, and room attributes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.errors import InvalidBooking
from bot.domain.model import Room, normalise_tags
from bot.services.ports import FreeRoom, RoomRow
from bot.views import ids
from bot.views.booking_modal import room_label
from bot.views.find import (
    FindError,
    book_value,
    find_modal,
    find_results,
    find_results_modal,
    find_usage,
    read_book_value,
    read_find_form,
    read_find_text,
)
from bot.views.i18n import use_locale
from bot.views.lists import room_line
from tests.unit.slack_limits import check_message, check_view

SEOUL = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 12, 1, 4, 20, 30, tzinfo=UTC)  # 13:20:30 in Seoul


def room(room_id: str, capacity: int, *tags: str, location: str = "") -> RoomRow:
    return RoomRow(room_id, f"Room {room_id}", capacity, True, location=location, tags=tags)


def test_now_is_the_default_and_starts_at_the_next_minute() -> None:
    search = read_find_text("", SEOUL, NOW)
    assert search.now and search.people == 1 and search.tags == ()
    assert search.starts_at == datetime(2026, 12, 1, 4, 21, tzinfo=UTC)
    assert search.length == timedelta(minutes=30)


def test_people_length_and_tags_in_any_order() -> None:
    search = read_find_text("Projector 6 1h30m video", SEOUL, NOW)
    assert (search.people, search.tags, search.now) == (6, ("projector", "video"), True)
    assert search.length == timedelta(minutes=90)
    assert read_find_text("6 now 30m projector", SEOUL, NOW).tags == ("projector",)
    assert read_find_text("2h", SEOUL, NOW).length == timedelta(hours=2)
    assert read_find_text("45min", SEOUL, NOW).length == timedelta(minutes=45)


def test_a_clock_time_is_today_in_the_searchers_zone() -> None:
    search = read_find_text("14:00 1h", SEOUL, NOW)
    assert not search.now
    assert search.starts_at == datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # 14:00 in Seoul
    assert search.ends_at == datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    assert read_find_text("2pm", SEOUL, NOW).starts_at == search.starts_at


def test_tomorrow_and_dates() -> None:
    assert read_find_text("tomorrow 10:00", SEOUL, NOW).starts_at == datetime(
        2026, 12, 2, 1, 0, tzinfo=UTC
    )
    assert read_find_text("tomorrow", SEOUL, NOW).starts_at == datetime(
        2026, 12, 2, 0, 0, tzinfo=UTC
    )  # 09:00 when no time is said
    assert read_find_text("2026-12-03 9:30", SEOUL, NOW).starts_at == datetime(
        2026, 12, 3, 0, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("09:00", "has passed"),
        ("now 14:00", "Either `now` or a time"),
        ("6 8", "Two head counts"),
        ("0", "from 1 to 10000"),
        ("2026-02-30", "is not a date"),
        ("25:00", "could not read"),
    ],
)
def test_searches_that_cannot_be_read_say_why(text: str, says: str) -> None:
    with pytest.raises(FindError, match=says):
        read_find_text(text, SEOUL, NOW)


def test_results_smallest_first_with_until_and_book_buttons() -> None:
    search = read_find_text("4 now 30m", SEOUL, NOW)
    free = [
        FreeRoom(room("102", 4, "projector", location="HQ 3F"), NOW + timedelta(hours=2)),
        FreeRoom(room("201", 12), None),
    ]
    message = find_results(free, search, SEOUL)
    check_message(message)
    assert message["text"].splitlines()[1:] == [
        "Room 102 (102), 4 people: free until 15:20",
        "Room 201 (201), 12 people: free for the rest of the day",
    ]
    books = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [e["action_id"] for e in books] == [ids.FIND_BOOK, ids.FIND_EDIT] * 2
    assert read_book_value(books[0]["value"], NOW) == ("102", search.starts_at, search.ends_at)
    assert "HQ 3F" in message["blocks"][1]["text"]["text"]


def test_no_free_room_says_what_to_try() -> None:
    message = find_results([], read_find_text("50 now", SEOUL, NOW), SEOUL)
    check_message(message)
    assert "none" in message["text"]


def test_results_stay_inside_a_messages_block_limit() -> None:
    free = [FreeRoom(room(f"R{n}", 4 + n), None) for n in range(60)]
    message = find_results(free, read_find_text("", SEOUL, NOW), SEOUL)
    check_message(message)
    assert "And 40 more" in message["blocks"][-1]["elements"][0]["text"]
    check_view(find_results_modal(message), "modal")


def test_a_now_button_clicked_later_books_from_the_click() -> None:
    search = read_find_text("now 1h", SEOUL, NOW)
    later = NOW + timedelta(minutes=5, seconds=10)
    room_id, start, end = read_book_value(book_value("102", search), later) or ("", NOW, NOW)
    assert room_id == "102"
    assert start == datetime(2026, 12, 1, 4, 26, tzinfo=UTC)
    assert end - start == timedelta(hours=1)
    fixed = read_find_text("14:00", SEOUL, NOW)
    assert read_book_value(book_value("102", fixed), later) == (
        "102",
        fixed.starts_at,
        fixed.ends_at,
    )
    assert read_book_value("not json", NOW) is None
    assert read_book_value('{"room": "1", "start": "2026-12-01T10:00", "end": "x"}', NOW) is None


def _form(people: str | None, day: str, start: str, minutes: str, tags: str = "") -> dict:
    values = {
        ids.FIND_PEOPLE_BLOCK: {ids.FIND_PEOPLE_ACTION: {"value": people}},
        ids.FIND_DATE_BLOCK: {ids.FIND_DATE_ACTION: {"selected_date": day}},
        ids.FIND_START_BLOCK: {ids.FIND_START_ACTION: {"selected_time": start}},
        ids.FIND_LENGTH_BLOCK: {ids.FIND_LENGTH_ACTION: {"selected_option": {"value": minutes}}},
        ids.FIND_TAGS_BLOCK: {ids.FIND_TAGS_ACTION: {"value": tags}},
    }
    return {"private_metadata": '{"tz": "Asia/Seoul"}', "state": {"values": values}}


def test_the_search_form_reads_back() -> None:
    view = find_modal(SEOUL, NOW)
    check_view(view, "modal")
    start = next(b for b in view["blocks"] if b.get("block_id") == ids.FIND_START_BLOCK)
    assert start["element"]["initial_time"] == "13:21"
    search, errors, tz = read_find_form(
        _form("6", "2026-12-02", "10:00", "60", "Projector, video"), NOW
    )
    assert errors == {} and tz == SEOUL and search is not None
    assert (search.people, search.tags, search.now) == (6, ("projector", "video"), False)
    assert search.starts_at == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    now_search, _, _ = read_find_form(_form(None, "2026-12-01", "13:20", "30"), NOW)
    assert now_search is not None and now_search.now and now_search.people == 1
    _, errors, _ = read_find_form(_form("0", "2026-12-01", "09:00", "30"), NOW)
    assert set(errors) == {ids.FIND_PEOPLE_BLOCK}
    _, errors, _ = read_find_form(_form("2", "2026-12-01", "09:00", "30"), NOW)
    assert errors == {ids.FIND_START_BLOCK: "That time has passed."}


def test_tags_are_normalised_and_rooms_show_their_attributes() -> None:
    assert normalise_tags(["Projector, video", "#VIDEO whiteboard"]) == [
        "projector",
        "video",
        "whiteboard",
    ]
    r = Room("102", "Board room", 10, location="  HQ   3F ", tags=["Video, projector"])
    assert (r.location, r.tags) == ("HQ 3F", ["video", "projector"])
    assert r.has_tags(["PROJECTOR"]) and not r.has_tags(["whiteboard"])
    row = RoomRow("102", "Board <room>", 10, True, location="HQ 3F", tags=("video",))
    assert room_label(row) == "Board <room> (102) · 10 people · HQ 3F · video"
    assert room_line(row) == "*Board &lt;room&gt;* (102) · 10 people · HQ 3F · `video`"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"location": "x" * 81}, "location"),
        ({"tags": ["t" * 31]}, "tags"),
        ({"tags": [f"t{n}" for n in range(21)]}, "tags"),
        ({"approvers": ["bob"]}, "approvers"),
        ({"auto_approve_groups": ["U123"]}, "auto_approve_groups"),
    ],
)
def test_room_attributes_are_checked(kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidBooking) as caught:
        Room("102", "Board room", 10, **kwargs)
    assert caught.value.field == field


def test_approvers_accept_mentions_and_ids() -> None:
    r = Room("102", "B", 4, approvers=["<@U0AAA>", "<!subteam^S0BBB|@team>", "w0ccc", "U0AAA"])
    assert r.approvers == ["U0AAA", "S0BBB", "W0CCC"]


def _typed_error(text: str, tz: ZoneInfo) -> str:
    with pytest.raises(FindError) as raised:
        read_find_text(text, tz, NOW)
    return str(raised.value)


def test_dates_and_times_in_find_errors_are_written_in_the_readers_language() -> None:
    """Babel writes them, as everywhere else: no ISO dates or 24-hour clocks in Korean."""
    new_york = ZoneInfo("America/New_York")
    gap = {
        ids.FIND_DATE_BLOCK: {ids.FIND_DATE_ACTION: {"selected_date": "2026-03-08"}},
        ids.FIND_START_BLOCK: {ids.FIND_START_ACTION: {"selected_time": "02:30"}},
        ids.FIND_LENGTH_BLOCK: {ids.FIND_LENGTH_ACTION: {"selected_option": {"value": "30"}}},
    }
    view = {"private_metadata": '{"tz": "America/New_York"}', "state": {"values": gap}}
    with use_locale("ko"):
        passed = _typed_error("2026-12-01 09:00", SEOUL)
        typed_gap = _typed_error("2026-03-08 02:30", new_york)
        [form_gap] = read_find_form(view, NOW)[1].values()
    assert "12월 1일 (화) 오전 9:00" in passed
    assert "3월 8일 (일)" in typed_gap and "3월 8일 (일)" in form_gap
    assert "오전 2:30" in form_gap
    for text in (passed, typed_gap, form_gap):
        assert "2026-" not in text and "09:00" not in text and "02:30" not in text, text
    with use_locale("en"):
        assert "Sun 8 Mar" in read_find_form(view, NOW)[1][ids.FIND_START_BLOCK]


def test_a_korean_reader_may_type_the_search_in_korean() -> None:
    """The Korean usage line says `지금`, `내일` and `30분`: those words are read as it says,
    and the English ones still are."""
    with use_locale("ko"):
        now_search = read_find_text("6 지금 1시간30분 프로젝터", SEOUL, NOW)
        tomorrow = read_find_text("내일 10:00 30분", SEOUL, NOW)
        english = read_find_text("tomorrow 10:00 1h", SEOUL, NOW)
        usage = find_usage()
    assert now_search.now and now_search.people == 6 and now_search.tags == ("프로젝터",)
    assert now_search.ends_at - now_search.starts_at == timedelta(minutes=90)
    assert tomorrow.starts_at == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # 10:00 in Seoul
    assert tomorrow.ends_at - tomorrow.starts_at == timedelta(minutes=30)
    assert english.starts_at == tomorrow.starts_at
    assert "`/book find 6 지금 30분 프로젝터`" in usage and "now" not in usage
    with use_locale("en"):
        assert read_find_text("내일", SEOUL, NOW).tags == ("내일",)  # a word like any other
