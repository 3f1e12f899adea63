"""Block Kit builders: every view within Slack's limits, and what each one shows."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.model import (
    LEFT_WORKSPACE,
    MAX_CHECKIN_MINUTES,
    BookingStatus,
    Room,
    typed_reason,
)
from bot.services.ports import BookingRow, RoomRow
from bot.views import i18n, ids, lists, modals, texts
from bot.views.booking_modal import MAX_ROOM_OPTIONS, booking_modal, read_booking
from bot.views.cards import card
from bot.views.home import (
    HISTORY_SIZE,
    MAX_PAGES,
    PENDING_PAGE,
    UPCOMING_PAGE,
    HomeData,
    home_view,
    pages_of,
    status_text,
)
from tests.unit.slack_limits import check_message, check_view

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
UTC_ZONE = ZoneInfo("UTC")
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
START = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 09:00 in Seoul, 19:00 the day before in New York
BOOKER = "UBOOKER"
ADMIN = "UADMIN"
NASTY = "<!channel> <script>alert('x')</script> & *bold* _it_ ~gone~"


def make_row(
    booking_id: int = 42,
    *,
    status: BookingStatus = BookingStatus.PENDING,
    starts_at: datetime = START,
    hours: float = 1,
    room_id: str = "102",
    room_name: str = "Board room",
    title: str = "Weekly sync",
    booker: str = BOOKER,
    decided_by: str | None = None,
    decided_at: datetime | None = None,
    reason: str | None = None,
    cancelled_by: str | None = None,
) -> BookingRow:
    return BookingRow(
        booking_id=booking_id,
        room_id=room_id,
        room_name=room_name,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        booker=booker,
        title=title,
        status=status,
        requested_at=NOW - timedelta(days=1),
        decided_by=decided_by,
        decided_at=decided_at,
        reason=reason,
        cancelled_by=cancelled_by,
    )


def many_rows(count: int, status: BookingStatus, *, first_id: int = 1) -> list[BookingRow]:
    return [
        make_row(
            first_id + i,
            status=status,
            starts_at=START + timedelta(hours=2 * i),
            room_id=f"R{i % 70}",
            room_name=f"Room number {i % 70}",
            title=f"Meeting {i}",
            booker=f"U{i:08d}",
            decided_by=ADMIN if status != BookingStatus.PENDING else None,
            reason="Room is being painted" if status == BookingStatus.DENIED else None,
        )
        for i in range(count)
    ]


def make_rooms(count: int) -> list[Room]:
    return [Room(f"R{i}", f"Room {i}", 4 + i % 20, active=i % 7 != 3) for i in range(count)]


def all_blocks_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def elements(blocks: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every interactive element: accessories, actions elements and input elements."""
    for block in blocks:
        if "accessory" in block:
            yield block["accessory"]
        if block["type"] == "actions":
            yield from block["elements"]
        if block["type"] == "input":
            yield block["element"]


def buttons(blocks: list[dict[str, Any]], action_id: str) -> list[dict[str, Any]]:
    return [e for e in elements(blocks) if e.get("action_id") == action_id]


def block_by_id(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def contexts(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]


# --- the checker itself --------------------------------------------------------------------------


def _base_message() -> dict[str, Any]:
    return {
        "text": "fallback",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Hello"}},
            {
                "type": "section",
                "block_id": "s1",
                "text": {"type": "mrkdwn", "text": "hi"},
                "fields": [{"type": "mrkdwn", "text": "f"}],
            },
            {
                "type": "actions",
                "block_id": "a1",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Go"},
                        "action_id": "go",
                        "value": "1",
                        "confirm": {
                            "title": {"type": "plain_text", "text": "Sure?"},
                            "text": {"type": "plain_text", "text": "Really"},
                            "confirm": {"type": "plain_text", "text": "Yes"},
                            "deny": {"type": "plain_text", "text": "No"},
                        },
                    },
                    {
                        "type": "static_select",
                        "action_id": "pick",
                        "options": [
                            {"text": {"type": "plain_text", "text": "A"}, "value": "a"},
                        ],
                    },
                ],
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "small"}]},
        ],
    }


def _base_modal() -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "cb",
        "title": {"type": "plain_text", "text": "Title"},
        "submit": {"type": "plain_text", "text": "Save"},
        "private_metadata": "{}",
        "blocks": [
            {
                "type": "input",
                "block_id": "i1",
                "label": {"type": "plain_text", "text": "Label"},
                "element": {"type": "plain_text_input", "action_id": "in", "max_length": 10},
            }
        ],
    }


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(obj: dict[str, Any]) -> None:
        target: Any = obj
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _dup_block_id(msg: dict[str, Any]) -> None:
    msg["blocks"][2]["block_id"] = "s1"


def _dup_action_id(msg: dict[str, Any]) -> None:
    msg["blocks"][2]["elements"][1]["action_id"] = "go"


def _drop_text(msg: dict[str, Any]) -> None:
    del msg["text"]


def _too_many_blocks(msg: dict[str, Any]) -> None:
    msg["blocks"] += [{"type": "divider"}] * 47


def _too_many_options(msg: dict[str, Any]) -> None:
    options = [
        {"text": {"type": "plain_text", "text": str(i)}, "value": str(i)} for i in range(101)
    ]
    msg["blocks"][2]["elements"][1]["options"] = options


MESSAGE_BREAKERS = {
    "no text": (_drop_text, "message.text"),
    "blank text": (_set(["text"], "  "), "message.text"),
    "51 blocks": (_too_many_blocks, "message.blocks"),
    "long header": (_set(["blocks", 0, "text", "text"], "h" * 151), "message.blocks[0].text.text"),
    "empty section": (_set(["blocks", 1, "text", "text"], ""), "message.blocks[1].text.text"),
    "long section": (_set(["blocks", 1, "text", "text"], "s" * 3001), "message.blocks[1].text"),
    "11 fields": (
        _set(["blocks", 1, "fields"], [{"type": "mrkdwn", "text": "f"}] * 11),
        "message.blocks[1].fields",
    ),
    "long field": (
        _set(["blocks", 1, "fields", 0, "text"], "f" * 2001),
        "message.blocks[1].fields[0].text",
    ),
    "dup block id": (_dup_block_id, "message.blocks[2].block_id"),
    "long block id": (_set(["blocks", 1, "block_id"], "b" * 256), "message.blocks[1].block_id"),
    "dup action id": (_dup_action_id, "message.blocks[2].elements[1].action_id"),
    "long button": (
        _set(["blocks", 2, "elements", 0, "text", "text"], "b" * 76),
        "message.blocks[2].elements[0].text.text",
    ),
    "long value": (
        _set(["blocks", 2, "elements", 0, "value"], "v" * 2001),
        "message.blocks[2].elements[0].value",
    ),
    "long url": (
        _set(["blocks", 2, "elements", 0, "url"], "https://x/" + "u" * 2991),
        "message.blocks[2].elements[0].url",
    ),
    "long deny": (
        _set(["blocks", 2, "elements", 0, "confirm", "deny", "text"], "d" * 31),
        "message.blocks[2].elements[0].confirm.deny.text",
    ),
    "long confirm text": (
        _set(["blocks", 2, "elements", 0, "confirm", "text", "text"], "d" * 301),
        "message.blocks[2].elements[0].confirm.text.text",
    ),
    "101 options": (_too_many_options, "message.blocks[2].elements[1].options"),
    "long option": (
        _set(["blocks", 2, "elements", 1, "options", 0, "value"], "o" * 151),
        "message.blocks[2].elements[1].options[0].value",
    ),
    "11 context elements": (
        _set(["blocks", 3, "elements"], [{"type": "mrkdwn", "text": "c"}] * 11),
        "message.blocks[3].elements",
    ),
    "26 actions": (
        _set(
            ["blocks", 2, "elements"],
            [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "b"},
                    "action_id": f"a{i}",
                }
                for i in range(26)
            ],
        ),
        "message.blocks[2].elements",
    ),
}


@pytest.mark.parametrize("name", list(MESSAGE_BREAKERS))
def test_checker_names_the_path_of_a_message_violation(name: str) -> None:
    msg = _base_message()
    check_message(msg)
    mutate, path = MESSAGE_BREAKERS[name]
    mutate(msg)
    with pytest.raises(AssertionError, match="^" + re.escape(path)):
        check_message(msg)


MODAL_BREAKERS = {
    "long title": (_set(["title", "text"], "t" * 25), "view.title.text"),
    "long submit": (_set(["submit", "text"], "s" * 25), "view.submit.text"),
    "long metadata": (_set(["private_metadata"], "m" * 3001), "view.private_metadata"),
    "long callback": (_set(["callback_id"], "c" * 256), "view.callback_id"),
    "long external id": (_set(["external_id"], "e" * 256), "view.external_id"),
    "long label": (_set(["blocks", 0, "label", "text"], "l" * 2001), "view.blocks[0].label.text"),
    "long hint": (
        _set(["blocks", 0, "hint"], {"type": "plain_text", "text": "h" * 2001}),
        "view.blocks[0].hint.text",
    ),
    "max_length": (_set(["blocks", 0, "element", "max_length"], 3001), "view.blocks[0].element"),
    "placeholder": (
        _set(["blocks", 0, "element", "placeholder"], {"type": "plain_text", "text": "p" * 151}),
        "view.blocks[0].element.placeholder.text",
    ),
    "101 blocks": (_set(["blocks"], [{"type": "divider"}] * 101), "view.blocks"),
}


@pytest.mark.parametrize("name", list(MODAL_BREAKERS))
def test_checker_names_the_path_of_a_modal_violation(name: str) -> None:
    view = _base_modal()
    check_view(view, "modal")
    mutate, path = MODAL_BREAKERS[name]
    mutate(view)
    with pytest.raises(AssertionError, match="^" + re.escape(path)):
        check_view(view, "modal")


# --- the /book modal -----------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 150])
def test_booking_modal_within_limits_with_options_capped(count: int) -> None:
    view = booking_modal(make_rooms(count), SEOUL, NOW)
    check_view(view, "modal")
    select = block_by_id(view, ids.ROOM_BLOCK)["element"]
    assert select["type"] == "static_select"
    assert len(select["options"]) == min(count, MAX_ROOM_OPTIONS)
    assert [o["value"] for o in select["options"]] == [f"R{i}" for i in range(min(count, 100))]
    assert view["callback_id"] == ids.BOOK_MODAL


def test_booking_modal_clips_long_room_labels() -> None:
    room = Room("x" * 32, "N" * 80, 10_000)
    view = booking_modal([room], UTC_ZONE, NOW)
    check_view(view, "modal")
    option = block_by_id(view, ids.ROOM_BLOCK)["element"]["options"][0]
    assert option["value"] == room.id
    assert option["text"]["text"].endswith("…")


def test_booking_modal_preselects_a_room_only_when_offered() -> None:
    rooms = make_rooms(150)
    chosen = booking_modal(rooms, SEOUL, NOW, room_id="R7")
    select = block_by_id(chosen, ids.ROOM_BLOCK)["element"]
    assert select["initial_option"]["value"] == "R7"
    check_view(chosen, "modal")
    beyond = booking_modal(rooms, SEOUL, NOW, room_id="R120")
    assert "initial_option" not in block_by_id(beyond, ids.ROOM_BLOCK)["element"]


def initial_values(view: dict[str, Any]) -> tuple[str, str, str]:
    date = block_by_id(view, ids.DATE_BLOCK)["element"]["initial_date"]
    start = block_by_id(view, ids.START_BLOCK)["element"]["initial_time"]
    end = block_by_id(view, ids.END_BLOCK)["element"]["initial_time"]
    return date, start, end


def test_booking_modal_prefills_in_the_users_zone() -> None:
    now = datetime(2026, 12, 1, 23, 50, tzinfo=UTC)  # 08:50 on 2 December in Seoul
    view = booking_modal(make_rooms(3), SEOUL, now)
    assert initial_values(view) == ("2026-12-02", "09:00", "10:00")
    assert json.loads(view["private_metadata"]) == {"tz": "Asia/Seoul"}
    assert "Asia/Seoul" in all_blocks_text(view["blocks"])
    in_new_york = booking_modal(make_rooms(3), NEW_YORK, now)
    assert initial_values(in_new_york) == ("2026-12-01", "19:00", "20:00")


def test_booking_modal_title_input_honours_max_title() -> None:
    view = booking_modal(make_rooms(1), SEOUL, NOW, max_title=150)
    title = block_by_id(view, ids.TITLE_BLOCK)
    assert title["optional"] is True
    assert title["element"]["max_length"] == 150


def submitted(
    *,
    room: str | None = "102",
    day: str | None = "2026-12-02",
    start: str | None = "09:00",
    end: str | None = "10:00",
    title: str | None = "Weekly sync",
    metadata: str = '{"tz": "Asia/Seoul"}',
) -> dict[str, Any]:
    """A ``view`` of a view_submission payload, ``state.values`` shaped as Slack sends them."""
    option = (
        {"text": {"type": "plain_text", "text": f"Room {room}", "emoji": True}, "value": room}
        if room
        else None
    )
    return {
        "id": "V0001",
        "type": "modal",
        "callback_id": ids.BOOK_MODAL,
        "private_metadata": metadata,
        "state": {
            "values": {
                ids.ROOM_BLOCK: {
                    ids.ROOM_ACTION: {"type": "static_select", "selected_option": option}
                },
                ids.DATE_BLOCK: {ids.DATE_ACTION: {"type": "datepicker", "selected_date": day}},
                ids.START_BLOCK: {ids.START_ACTION: {"type": "timepicker", "selected_time": start}},
                ids.END_BLOCK: {ids.END_ACTION: {"type": "timepicker", "selected_time": end}},
                ids.TITLE_BLOCK: {ids.TITLE_ACTION: {"type": "plain_text_input", "value": title}},
            }
        },
    }


def test_read_booking_gives_aware_times_in_the_zone_of_the_form() -> None:
    form, errors, tz = read_booking(submitted())
    assert errors == {}
    assert tz == SEOUL
    assert form is not None
    assert form.room_id == "102"
    assert form.title == "Weekly sync"
    assert form.starts_at.tzinfo is not None
    assert form.starts_at == datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    assert form.ends_at == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    assert form.starts_at.utcoffset() == timedelta(hours=9)


def test_read_booking_without_a_title() -> None:
    form, errors, tz = read_booking(submitted(title=None, metadata='{"tz": "UTC"}'))
    assert errors == {}
    assert tz == UTC_ZONE
    assert form is not None
    assert form.title == ""
    assert form.starts_at == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_read_booking_without_metadata_is_not_read_in_a_guessed_zone() -> None:
    form, errors, _ = read_booking(submitted(title=None, metadata=""))
    assert form is None and "out of date" in errors[ids.DATE_BLOCK]


@pytest.mark.parametrize(
    ("zone", "now"),
    [
        (SEOUL, datetime(2026, 12, 1, 23, 50, tzinfo=UTC)),
        (NEW_YORK, datetime(2026, 12, 1, 23, 50, tzinfo=UTC)),
        (UTC_ZONE, datetime(2026, 12, 1, 8, 1, tzinfo=UTC)),
        (ZoneInfo("Asia/Kolkata"), datetime(2026, 6, 30, 18, 10, tzinfo=UTC)),
    ],
)
def test_booking_modal_round_trips_through_a_submission(zone: ZoneInfo, now: datetime) -> None:
    view = booking_modal(make_rooms(3), zone, now)
    day, start, end = initial_values(view)
    form, errors, tz = read_booking(
        submitted(room="R1", day=day, start=start, end=end, metadata=view["private_metadata"])
    )
    assert errors == {}
    assert tz == zone
    assert form is not None
    assert form.room_id == "R1"
    assert now < form.starts_at <= now + timedelta(minutes=30)
    assert form.ends_at - form.starts_at == timedelta(hours=1)


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 3, 8, 6, 45, tzinfo=UTC),  # 01:45 EST: start prefilled 02:00
        datetime(2026, 3, 8, 6, 15, tzinfo=UTC),  # 01:15 EST: end prefilled 02:30
    ],
)
def test_booking_modal_prefill_is_readable_across_a_dst_gap(now: datetime) -> None:
    view = booking_modal(make_rooms(1), NEW_YORK, now)
    day, start, end = initial_values(view)
    _, errors, _ = read_booking(
        submitted(room="R0", day=day, start=start, end=end, metadata=view["private_metadata"])
    )
    assert errors == {}


@pytest.mark.parametrize(
    ("missing", "block"),
    [
        ({"room": None}, ids.ROOM_BLOCK),
        ({"day": None}, ids.DATE_BLOCK),
        ({"start": None}, ids.START_BLOCK),
        ({"end": None}, ids.END_BLOCK),
    ],
)
def test_read_booking_reports_a_missing_field_on_its_block(
    missing: dict[str, Any], block: str
) -> None:
    form, errors, _ = read_booking(submitted(**missing))
    assert form is None
    assert set(errors) == {block}
    assert errors[block]


def test_read_booking_reports_every_missing_field() -> None:
    form, errors, _ = read_booking(submitted(room=None, day=None, start=None, end=None))
    assert form is None
    assert set(errors) == {ids.ROOM_BLOCK, ids.DATE_BLOCK, ids.START_BLOCK, ids.END_BLOCK}


def test_read_booking_refuses_a_time_inside_a_dst_gap() -> None:
    ny = '{"tz": "America/New_York"}'
    form, errors, tz = read_booking(
        submitted(day="2026-03-08", start="02:30", end="04:00", metadata=ny)
    )
    assert form is None
    assert tz == NEW_YORK
    assert set(errors) == {ids.START_BLOCK}
    assert "02:30" in errors[ids.START_BLOCK]
    form, errors, _ = read_booking(
        submitted(day="2026-03-08", start="01:00", end="02:30", metadata=ny)
    )
    assert form is None
    assert set(errors) == {ids.END_BLOCK}


def test_read_booking_accepts_times_around_a_dst_gap() -> None:
    ny = '{"tz": "America/New_York"}'
    form, errors, _ = read_booking(
        submitted(day="2026-03-08", start="01:30", end="03:30", metadata=ny)
    )
    assert errors == {}
    assert form is not None
    assert form.starts_at == datetime(2026, 3, 8, 6, 30, tzinfo=UTC)
    assert form.ends_at == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # one real hour


# --- the approval card ---------------------------------------------------------------------------

DECIDED_AT = NOW - timedelta(hours=2)

OUTCOMES = {
    BookingStatus.PENDING: ({}, "Waiting for an admin"),
    BookingStatus.APPROVED: (
        {"decided_by": ADMIN, "decided_at": DECIDED_AT},
        f"Approved by <@{ADMIN}>",
    ),
    BookingStatus.DENIED: (
        {"decided_by": ADMIN, "decided_at": DECIDED_AT, "reason": "Painting"},
        f"Denied by <@{ADMIN}>",
    ),
    BookingStatus.EXPIRED: ({}, "Expired"),
}


def card_context(message: dict[str, Any]) -> str:
    return " ".join(contexts(message["blocks"]))


@pytest.mark.parametrize("status", list(OUTCOMES))
def test_card_in_every_status_is_within_limits_and_says_who_decided(
    status: BookingStatus,
) -> None:
    extra, outcome = OUTCOMES[status]
    message = card(make_row(status=status, **extra))
    check_message(message)
    assert outcome in card_context(message)
    assert "#42" in message["text"]
    assert status.lower() in message["text"]
    found = [
        e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    # an admin may still move a booking that holds its slot
    expected = {
        BookingStatus.PENDING: [ids.APPROVE, ids.DENY, ids.CHANGE],
        BookingStatus.APPROVED: [ids.CHANGE],
    }
    assert found == expected.get(status, [])


def test_pending_card_has_approve_and_deny_with_the_booking_id() -> None:
    message = card(make_row(7, status=BookingStatus.PENDING))
    (block,) = [b for b in message["blocks"] if b["type"] == "actions"]
    approve, deny, change = block["elements"]
    assert (change["action_id"], change["value"]) == (ids.CHANGE, "7")
    assert (approve["action_id"], approve["value"], approve["style"]) == (
        ids.APPROVE,
        "7",
        "primary",
    )
    assert (deny["action_id"], deny["value"], deny["style"]) == (ids.DENY, "7", "danger")
    assert "confirm" in approve


def test_denied_card_shows_the_reason_after_the_decider() -> None:
    message = card(
        make_row(
            status=BookingStatus.DENIED,
            decided_by=ADMIN,
            decided_at=DECIDED_AT,
            reason="Room is being painted",
        )
    )
    text = card_context(message)
    assert text.startswith(f"Denied by <@{ADMIN}>")
    assert text.index(f"<@{ADMIN}>") < text.index(": “Room is being painted”")
    assert f"<!date^{int(DECIDED_AT.timestamp())}^" in text


def test_cancelled_by_the_requester() -> None:
    for cancelled_by in (None, BOOKER):
        message = card(make_row(status=BookingStatus.CANCELLED, cancelled_by=cancelled_by))
        check_message(message)
        assert "Cancelled by requester" in card_context(message)
        assert "approved by" not in card_context(message)


def test_cancelled_by_an_admin_after_approval() -> None:
    message = card(
        make_row(
            status=BookingStatus.CANCELLED,
            decided_by=ADMIN,
            decided_at=DECIDED_AT,
            cancelled_by="UOTHERADMIN",
        )
    )
    check_message(message)
    text = card_context(message)
    assert "Cancelled by admin <@UOTHERADMIN>" in text
    assert f"approved by <@{ADMIN}> before" in text
    assert not any(b["type"] == "actions" for b in message["blocks"])


def test_an_admins_words_that_spell_a_code_show_as_typed_and_the_code_as_its_meaning() -> None:
    typed = make_row(
        status=BookingStatus.CANCELLED,
        cancelled_by=ADMIN,
        reason=typed_reason(f" {LEFT_WORKSPACE} "),
    )
    for text in (card_context(card(typed)), status_text(typed)):
        assert f"“{LEFT_WORKSPACE}" in text and "left the workspace" not in text
    assert f"Cancelled by admin <@{ADMIN}>" in card_context(card(typed))

    coded = make_row(status=BookingStatus.CANCELLED, cancelled_by="system", reason=LEFT_WORKSPACE)
    for text in (card_context(card(coded)), status_text(coded)):
        assert "the booker left the workspace" in text and LEFT_WORKSPACE not in text
    assert typed_reason("  ") is None and typed_reason(" Painting ") == "Painting"


def test_card_times_are_slack_date_tokens() -> None:
    row = make_row()
    message = card(row)
    blob = all_blocks_text(message["blocks"])
    assert f"<!date^{int(row.starts_at.timestamp())}^" in blob
    assert f"<!date^{int(row.ends_at.timestamp())}^{{time}}|" in blob
    assert f"<!date^{int(row.requested_at.timestamp())}^" in blob
    assert "<!date^" in message["text"]


def test_card_escapes_user_text() -> None:
    message = card(
        make_row(
            status=BookingStatus.DENIED,
            title=NASTY,
            reason=NASTY,
            decided_by=ADMIN,
            decided_at=DECIDED_AT,
        )
    )
    check_message(message)
    blob = all_blocks_text(message["blocks"])
    assert "<!channel>" not in blob
    assert "<script>" not in blob
    assert "&lt;!channel&gt;" in blob
    assert "&lt;script&gt;" in blob
    assert "&amp;" in blob
    assert "&lt;!channel&gt;" in card_context(message)  # the reason, too
    assert "<!channel>" not in message["text"]


def test_card_without_title() -> None:
    message = card(make_row(title=""))
    check_message(message)
    assert "_no title_" in all_blocks_text(message["blocks"])


# --- the App Home --------------------------------------------------------------------------------


def home_data(
    *,
    is_admin: bool,
    pages: dict[str, int] | None = None,
    upcoming: int = 500,
    pending: int = 500,
    history: int = 50,
    tz: ZoneInfo = SEOUL,
    dead: int = 0,
) -> HomeData:
    """HomeData as HomePublisher.data builds it: lists cut to the pages shown, true totals."""
    pages = pages or {}
    upcoming_rows = many_rows(upcoming, BookingStatus.APPROVED)
    pending_rows = many_rows(pending, BookingStatus.PENDING, first_id=10_000)
    history_rows = many_rows(history, BookingStatus.DENIED, first_id=20_000)
    return HomeData(
        user=BOOKER,
        tz=tz,
        now=NOW,
        upcoming=upcoming_rows[: UPCOMING_PAGE * pages.get("upcoming", 1)],
        upcoming_total=upcoming,
        history=history_rows[:HISTORY_SIZE],
        is_admin=is_admin,
        pending=pending_rows[: PENDING_PAGE * pages.get("pending", 1)] if is_admin else [],
        pending_total=pending if is_admin else 0,
        dead_notifications=dead if is_admin else 0,
        pages=pages,
    )


@pytest.mark.parametrize("page", range(1, MAX_PAGES + 1))
def test_home_of_a_plain_user_within_limits_on_every_page(page: int) -> None:
    view = home_view(home_data(is_admin=False, pages={"upcoming": page}))
    check_view(view, "home")
    assert buttons(view["blocks"], ids.APPROVE) == []
    assert "Waiting for your decision" not in all_blocks_text(view["blocks"])
    assert len(buttons(view["blocks"], ids.CANCEL)) == UPCOMING_PAGE * page


@pytest.mark.parametrize("page", range(1, MAX_PAGES + 1))
def test_home_of_an_admin_within_limits_on_every_page(page: int) -> None:
    view = home_view(home_data(is_admin=True, pages={"upcoming": page, "pending": page}, dead=3))
    check_view(view, "home")


def test_home_first_page_shows_more_buttons() -> None:
    view = home_view(home_data(is_admin=True, dead=2))
    check_view(view, "home")
    blocks = view["blocks"]
    (more_upcoming,) = buttons(blocks, f"{ids.HOME_MORE}_upcoming")
    (more_pending,) = buttons(blocks, f"{ids.HOME_MORE}_pending")
    assert more_upcoming["value"] == "upcoming"
    assert more_pending["value"] == "pending"
    assert f"{500 - UPCOMING_PAGE} more" in more_upcoming["text"]["text"]
    assert f"{500 - PENDING_PAGE} more" in more_pending["text"]["text"]
    assert len(buttons(blocks, ids.APPROVE)) == PENDING_PAGE
    assert [b["value"] for b in buttons(blocks, ids.DENY)] == [
        str(10_000 + i) for i in range(PENDING_PAGE)
    ]
    assert "Waiting for your decision (500)" in all_blocks_text(blocks)
    assert "2 notifications could not be delivered" in all_blocks_text(blocks)
    assert "Recent history" in all_blocks_text(blocks)
    assert not any("more not shown" in c for c in contexts(blocks))


def test_home_of_a_plain_user_after_max_pages_says_more_not_shown() -> None:
    view = home_view(home_data(is_admin=False, pages={"upcoming": MAX_PAGES}))
    check_view(view, "home")
    blocks = view["blocks"]
    assert buttons(blocks, f"{ids.HOME_MORE}_upcoming") == []
    shown = UPCOMING_PAGE * MAX_PAGES
    assert any(c.startswith(f"{500 - shown} more not shown") for c in contexts(blocks))


def test_home_of_an_admin_after_max_pages_says_more_not_shown() -> None:
    view = home_view(home_data(is_admin=True, pages={"upcoming": MAX_PAGES, "pending": MAX_PAGES}))
    blocks = view["blocks"]
    assert buttons(blocks, f"{ids.HOME_MORE}_upcoming") == []
    assert buttons(blocks, f"{ids.HOME_MORE}_pending") == []
    notes = [c for c in contexts(blocks) if "more not shown" in c]
    assert notes == [
        f"{500 - UPCOMING_PAGE * MAX_PAGES} more not shown. `/book list` lists them all.",
        f"{500 - PENDING_PAGE * MAX_PAGES} more not shown. `/book list` lists them all.",
    ]


def test_home_with_everything_shown_has_no_more_buttons() -> None:
    view = home_view(home_data(is_admin=True, upcoming=3, pending=2, history=1))
    check_view(view, "home")
    assert not any(
        e.get("action_id", "").startswith(ids.HOME_MORE) for e in elements(view["blocks"])
    )
    assert not any("more not shown" in c for c in contexts(view["blocks"]))


def test_home_with_nothing_booked() -> None:
    for is_admin in (False, True):
        view = home_view(home_data(is_admin=is_admin, upcoming=0, pending=0, history=0))
        check_view(view, "home")
        notes = contexts(view["blocks"])
        assert "Nothing booked. Use *Book a room* or `/book`." in notes
        assert ("No requests are waiting." in notes) == is_admin
        assert "Recent history" not in all_blocks_text(view["blocks"])
        (book,) = buttons(view["blocks"], ids.OPEN_BOOK_MODAL)
        assert book["style"] == "primary"


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        (SEOUL, "Tue 1 Dec, 09:00–10:00 (Asia/Seoul)"),
        (NEW_YORK, "Mon 30 Nov, 19:00–20:00 (America/New_York)"),
    ],
)
def test_home_shows_times_in_the_viewers_zone(tz: ZoneInfo, expected: str) -> None:
    row = make_row(status=BookingStatus.APPROVED)
    data = HomeData(
        user=BOOKER,
        tz=tz,
        now=NOW - timedelta(days=1),
        upcoming=[row],
        upcoming_total=1,
        history=[],
        is_admin=True,
        pending=[make_row(43)],
        pending_total=1,
    )
    view = home_view(data)
    check_view(view, "home")
    sections = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    assert sum(expected in s for s in sections) == 2  # upcoming and pending
    assert f"*{tz.key}*" in sections[0]


def test_home_cancel_confirmation_names_the_local_date() -> None:
    data = home_data(is_admin=False, upcoming=1, history=0, tz=NEW_YORK)
    (cancel,) = buttons(home_view(data)["blocks"], ids.CANCEL)
    assert "Mon 30 Nov, 19:00" in cancel["confirm"]["text"]["text"]  # local, not UTC


def test_home_escapes_user_text() -> None:
    nasty = make_row(status=BookingStatus.APPROVED, title=NASTY, room_name=NASTY)
    denied = make_row(9, status=BookingStatus.DENIED, title=NASTY, reason=NASTY, room_name=NASTY)
    data = HomeData(
        user=BOOKER,
        tz=SEOUL,
        now=NOW,
        upcoming=[nasty],
        upcoming_total=1,
        history=[denied],
        is_admin=True,
        pending=[nasty],
        pending_total=1,
    )
    view = home_view(data)
    check_view(view, "home")
    mrkdwn = [
        t["text"]
        for b in view["blocks"]
        for t in [b.get("text"), *b.get("elements", [])]
        if isinstance(t, dict) and t.get("type") == "mrkdwn"
    ]
    assert not any("<!channel>" in t or "<script>" in t for t in mrkdwn)
    assert sum("&lt;!channel&gt;" in t for t in mrkdwn) == 3


def test_pages_round_trip_through_private_metadata() -> None:
    pages = {"upcoming": 3, "pending": 2}
    view = home_view(home_data(is_admin=True, pages=pages))
    assert pages_of(view) == pages
    assert pages_of({"private_metadata": '{"pages": {"upcoming": 99, "pending": -4}}'}) == {
        "upcoming": MAX_PAGES,
        "pending": 1,
    }


@pytest.mark.parametrize(
    "metadata",
    [
        None,
        "",
        "not json",
        "null",
        "[]",
        '"pages"',
        "42",
        '{"pages": null}',
        '{"pages": []}',
        '{"pages": "upcoming"}',
        '{"pages": {"upcoming": "x"}}',
        '{"pages": {"upcoming": null}}',
        '{"pages": {"upcoming": [1]}}',
        '{"pages": {"upcoming": NaN}}',
        '{"pages": {"upcoming": 1e999}}',
        '{"pages": {"upcoming": Infinity}}',
        "[" * 3000,  # fits in private_metadata's 3000 characters
    ],
)
def test_pages_of_survives_garbage(metadata: str | None) -> None:
    pages = pages_of({"private_metadata": metadata})
    assert isinstance(pages, dict)
    assert all(1 <= v <= MAX_PAGES for v in pages.values())


def test_pages_of_without_a_view() -> None:
    assert pages_of(None) == {}
    assert pages_of({}) == {}


# --- ephemeral lists -----------------------------------------------------------------------------


def test_my_bookings_without_rows() -> None:
    message = lists.my_bookings([], 0, SEOUL)
    check_message(message)
    assert message["blocks"] == []
    assert "no upcoming bookings" in message["text"]


def test_my_bookings_with_a_full_page_and_more() -> None:
    rows = many_rows(lists.LIST_LIMIT, BookingStatus.APPROVED)
    message = lists.my_bookings(rows, 35, SEOUL)
    check_message(message)
    blocks = message["blocks"]
    assert len(blocks) == 2 * lists.LIST_LIMIT + 2 <= 50  # each booking: its line, its buttons
    assert [b["value"] for b in buttons(blocks, ids.CANCEL)] == [str(r.booking_id) for r in rows]
    assert [b["value"] for b in buttons(blocks, ids.CHANGE)] == [str(r.booking_id) for r in rows]
    assert contexts(blocks) == ["And 15 more; the App Home tab pages through all."]
    assert "35" in message["text"]
    assert "Asia/Seoul" in blocks[0]["text"]["text"]


def test_my_bookings_all_shown() -> None:
    message = lists.my_bookings(many_rows(2, BookingStatus.PENDING), 2, NEW_YORK)
    check_message(message)
    assert contexts(message["blocks"]) == []


def _room_row(**extra: Any) -> RoomRow:
    return RoomRow("102", "Board room", 8, active=True, **extra)


def test_someones_bookings_offer_an_admin_what_their_card_does() -> None:
    listing = lists.Listing("user", BOOKER)
    rows = [
        make_row(1),
        make_row(2, status=BookingStatus.APPROVED, starts_at=START + timedelta(hours=2)),
        replace(make_row(3, starts_at=START + timedelta(hours=4)), series_id=7),
    ]
    message = lists.bookings_of(listing, rows, 3, SEOUL)
    check_message(message)
    blocks = message["blocks"]
    assert f"<@{BOOKER}>" in blocks[0]["text"]["text"] and "Asia/Seoul" in blocks[0]["text"]["text"]
    assert [b["value"] for b in buttons(blocks, ids.APPROVE)] == ["1"]  # a request
    assert [b["value"] for b in buttons(blocks, ids.DENY)] == ["1"]
    assert [b["value"] for b in buttons(blocks, ids.CHANGE)] == ["1", "2"]
    assert [b["value"] for b in buttons(blocks, ids.ADMIN_CANCEL)] == ["2"]  # approved
    assert [b["value"] for b in buttons(blocks, ids.APPROVE_SERIES)] == ["7"]  # decided as one
    assert buttons(blocks, ids.CANCEL) == []  # an admin's Cancel asks for a reason first
    rows_listed = [lists.listing_of(b["block_id"]) for b in blocks if b["type"] == "actions"]
    assert rows_listed == [listing] * 3  # each click shows this list again
    assert buttons(blocks, ids.LIST_PAGE) == [] and contexts(blocks) == []


def test_someones_bookings_page_through_a_long_list() -> None:
    rows = many_rows(lists.LIST_LIMIT, BookingStatus.APPROVED)
    message = lists.bookings_of(lists.Listing("user", BOOKER), rows, 45, SEOUL)
    check_message(message)
    blocks = message["blocks"]
    assert len(blocks) == 1 + 2 * lists.LIST_LIMIT + 2 <= 50
    assert contexts(blocks) == ["Bookings 1–20 of 45."]
    [later] = buttons(blocks, ids.LIST_PAGE)
    assert later["text"]["text"] == "Later bookings (25 more)"
    assert lists.listing_of(later["value"]) == lists.Listing("user", BOOKER, 20)
    last = lists.bookings_of(lists.Listing("user", BOOKER, 40), rows[:5], 45, SEOUL)
    check_message(last)
    assert contexts(last["blocks"]) == ["Bookings 41–45 of 45."]
    assert buttons(last["blocks"], ids.LIST_PAGE) == []
    [first] = buttons(last["blocks"], f"{ids.LIST_PAGE}_first")
    assert lists.listing_of(first["value"]) == lists.Listing("user", BOOKER, 0)


def test_someone_without_bookings() -> None:
    message = lists.bookings_of(lists.Listing("user", BOOKER), [], 0, SEOUL)
    check_message(message)
    assert message["text"] == f"<@{BOOKER}> has no upcoming bookings."


@pytest.mark.parametrize("details", [True, False])
def test_a_rooms_bookings_read_only_say_who_and_when(details: bool) -> None:
    rows = [make_row(1, title=NASTY), make_row(2, status=BookingStatus.APPROVED, booker="UCAROL")]
    room = _room_row(feed_details=details)
    message = lists.room_bookings(
        lists.Listing("room", "102"), room, rows, 2, SEOUL, is_admin=False
    )
    check_message(message)
    blob = all_blocks_text(message["blocks"])
    assert list(elements(message["blocks"])) == []  # no buttons for a plain user
    assert f"<@{BOOKER}>" in blob and "<@UCAROL>" in blob and "Tue 1 Dec, 09:00–10:00" in blob
    assert ("&lt;script&gt;" in blob) is details  # titles only where the room's feed shows them
    assert "<script>" not in blob and "<!channel>" not in blob
    assert message["text"] == "Board room (102) has 2 upcoming bookings."


def test_a_rooms_bookings_for_an_admin_have_buttons_and_titles() -> None:
    rows = many_rows(lists.LIST_LIMIT, BookingStatus.PENDING)
    listing = lists.Listing("room", "102")
    message = lists.room_bookings(listing, _room_row(), rows, 30, SEOUL, is_admin=True)
    check_message(message)
    blocks = message["blocks"]
    assert len(blocks) <= 50 and len(buttons(blocks, ids.APPROVE)) == lists.LIST_LIMIT
    assert "Meeting 19" in all_blocks_text(blocks)  # admins see every title
    assert contexts(blocks) == ["Bookings 1–20 of 30."]
    empty = lists.room_bookings(listing, _room_row(), [], 0, SEOUL, is_admin=True)
    assert empty["text"] == "Nothing is booked in Board room (102) from now on."


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "x",
        "[]",
        '["user"]',
        '["team","U1",0]',
        '["user","",0]',
        '["user","U1",-1]',
        '["user","U1",true]',
        '["room",1,0]',
        "[" * 5000,
    ],
)
def test_a_tampered_list_is_not_one(value: Any) -> None:
    assert lists.listing_of(value) is None


def test_a_listing_survives_its_block_id_and_value() -> None:
    listing = lists.Listing("room", 'a"\\b|<c>' + "방" * 24, 20)
    assert lists.listing_of(listing.value()) == listing
    assert lists.listing_of(listing.block_id(42)) == listing
    assert len(listing.block_id(2**31)) <= 255


def test_the_cancel_form_asks_for_the_reason_sent_to_the_booker() -> None:
    back = {"url": "https://hooks.slack.com/actions/T/1/x", "list": '["user","UBOOKER",0]'}
    view = modals.cancel_modal(make_row(5, status=BookingStatus.APPROVED), back=back)
    check_view(view, "modal")
    assert view["callback_id"] == ids.CANCEL_MODAL
    assert json.loads(view["private_metadata"]) == {"booking_id": 5, "back": back}
    assert block_by_id(view, ids.REASON_BLOCK)["optional"] is True
    series = modals.cancel_modal(replace(make_row(6), series_id=2))
    assert json.loads(series["private_metadata"]) == {"booking_id": 6}
    assert contexts(series["blocks"]) == [
        "Only this date is cancelled; the other dates stay booked."
    ]


def test_an_admins_cancel_reason_shows_on_card_and_home() -> None:
    row = make_row(
        8,
        status=BookingStatus.CANCELLED,
        cancelled_by=ADMIN,
        decided_by=ADMIN,
        reason="Room <closed> for repairs",
    )
    outcome = contexts(card(row)["blocks"])[-1]
    assert "Cancelled by admin <@UADMIN>" in outcome
    assert "“Room &lt;closed&gt; for repairs”" in outcome


@pytest.mark.parametrize("count", [0, 1, 60])
def test_rooms_list_for_an_admin(count: int) -> None:
    rooms = make_rooms(count)
    message = lists.rooms_list(rooms, is_admin=True)
    check_message(message)
    blocks = message["blocks"]
    assert len(blocks) <= 50
    edits = buttons(blocks, ids.ROOM_EDIT)
    assert [b["value"] for b in edits] == [r.id for r in rooms[: len(edits)]]
    assert len(edits) == min(count, 40)
    (add,) = buttons(blocks, ids.ROOM_ADD)
    assert add["text"]["text"] == "Add a room"
    assert blocks[-1]["type"] == "actions"


@pytest.mark.parametrize("count", [0, 1, 60])
def test_rooms_list_for_a_plain_user_has_no_buttons(count: int) -> None:
    message = lists.rooms_list(make_rooms(count), is_admin=False)
    check_message(message)
    blocks = message["blocks"]
    assert len(blocks) <= 50
    assert list(elements(blocks)) == []
    assert "Add one below" not in message["text"]


@pytest.mark.parametrize("count", [1, 60, 150])
def test_rooms_list_offers_admins_room_feed_links_when_feeds_are_on(count: int) -> None:
    rooms = make_rooms(count)
    message = lists.rooms_list(rooms, is_admin=True, feeds=True)
    check_message(message)
    assert len(message["blocks"]) <= 50
    (picker,) = buttons(message["blocks"], ids.FEED_ROOM_LINK)
    active = [r.id for r in rooms if r.active][:100]
    assert [o["value"] for o in picker["options"]] == active
    for others in (
        lists.rooms_list(rooms, is_admin=False, feeds=True),
        lists.rooms_list(rooms, is_admin=True, feeds=False),
    ):
        assert buttons(others["blocks"], ids.FEED_ROOM_LINK) == []


def test_rooms_list_marks_inactive_rooms_and_escapes_names() -> None:
    rooms = [Room("1", NASTY, 4), Room("2", "Quiet", 2, active=False)]
    message = lists.rooms_list(rooms, is_admin=True)
    check_message(message)
    blob = all_blocks_text(message["blocks"])
    assert "_inactive_" in message["blocks"][2]["text"]["text"]
    assert "_inactive_" not in message["blocks"][1]["text"]["text"]
    assert "<!channel>" not in blob
    assert "&lt;!channel&gt;" in blob


# --- small modals --------------------------------------------------------------------------------


def test_deny_modal() -> None:
    row = make_row(7, room_name=NASTY)
    view = modals.deny_modal(row, channel="C123", message_ts="1700000000.000100")
    check_view(view, "modal")
    assert view["callback_id"] == ids.DENY_MODAL
    assert json.loads(view["private_metadata"]) == {
        "booking_id": 7,
        "channel": "C123",
        "ts": "1700000000.000100",
    }
    reason = block_by_id(view, ids.REASON_BLOCK)
    assert reason["optional"] is True
    assert reason["element"]["action_id"] == ids.REASON_ACTION
    assert reason["element"]["max_length"] == modals.REASON_MAX
    assert "<!channel>" not in all_blocks_text(view["blocks"])
    assert "<!date^" in view["blocks"][0]["text"]["text"]


def test_deny_modal_from_the_home_tab() -> None:
    view = modals.deny_modal(make_row(), channel=None, message_ts=None)
    check_view(view, "modal")
    assert json.loads(view["private_metadata"])["channel"] is None


def test_room_modal_to_add_a_room() -> None:
    view = modals.room_modal()
    check_view(view, "modal")
    assert view["callback_id"] == ids.ROOM_MODAL
    assert view["title"]["text"] == "Add a room"
    block_ids = [b.get("block_id") for b in view["blocks"]]
    assert block_ids == [
        ids.ROOM_ID_BLOCK,
        ids.ROOM_NAME_BLOCK,
        ids.ROOM_CAPACITY_BLOCK,
        ids.ROOM_LOCATION_BLOCK,
        ids.ROOM_TAGS_BLOCK,
        ids.ROOM_POLICY_BLOCK,
        ids.ROOM_FEED_BLOCK,
        ids.ROOM_GROUPS_BLOCK,
        ids.ROOM_APPROVERS_BLOCK,
        ids.ROOM_CHECKIN_BLOCK,
    ]
    assert "initial_value" not in block_by_id(view, ids.ROOM_NAME_BLOCK)["element"]
    assert json.loads(view["private_metadata"]) == {"room_id": None}


@pytest.mark.parametrize("active", [True, False])
def test_room_modal_to_edit_a_room(active: bool) -> None:
    room = Room("x" * 32, "<&>" + "n" * 77, 10_000, active=active)
    view = modals.room_modal(room)
    check_view(view, "modal")
    assert view["title"]["text"] == "Edit room"
    assert ids.ROOM_ID_BLOCK not in [b.get("block_id") for b in view["blocks"]]
    assert "&lt;" not in view["blocks"][0]["elements"][0]["text"]  # the id is plain
    assert room.id in view["blocks"][0]["elements"][0]["text"]
    assert block_by_id(view, ids.ROOM_NAME_BLOCK)["element"]["initial_value"] == room.name
    capacity = block_by_id(view, ids.ROOM_CAPACITY_BLOCK)["element"]
    assert capacity["initial_value"] == "10000"
    checkbox = block_by_id(view, ids.ROOM_ACTIVE_BLOCK)["element"]
    assert checkbox["type"] == "checkboxes"
    assert ("initial_options" in checkbox) == active
    if active:
        assert checkbox["initial_options"] == checkbox["options"]
    assert json.loads(view["private_metadata"]) == {"room_id": room.id}


def test_room_modal_has_an_optional_check_in_window() -> None:
    empty = block_by_id(modals.room_modal(), ids.ROOM_CHECKIN_BLOCK)
    assert empty["optional"] is True
    element = empty["element"]
    assert element["type"] == "number_input" and element["is_decimal_allowed"] is False
    assert (element["min_value"], element["max_value"]) == ("1", str(MAX_CHECKIN_MINUTES))
    assert "initial_value" not in element
    assert "empty: off" in empty["label"]["text"]
    room = Room("102", "Small room", 4, checkin_minutes=10)
    view = modals.room_modal(room)
    check_view(view, "modal")
    assert block_by_id(view, ids.ROOM_CHECKIN_BLOCK)["element"]["initial_value"] == "10"


def test_room_line_says_the_check_in_window() -> None:
    row = RoomRow("102", "Small room", 4, True, checkin_minutes=15)
    assert "check-in within 15 min" in lists.room_line(row)
    assert "check-in" not in lists.room_line(RoomRow("102", "Small room", 4, True))


# --- time formatting -----------------------------------------------------------------------------


def test_span_in_one_day() -> None:
    end = START + timedelta(hours=1)
    assert i18n.span(START, end, SEOUL) == "Tue 1 Dec, 09:00–10:00 (Asia/Seoul)"
    assert i18n.span(START, end, SEOUL, zone=False) == "Tue 1 Dec, 09:00–10:00"


def test_span_across_midnight_carries_the_end_date() -> None:
    starts = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)  # 23:30 in Seoul
    text = i18n.span(starts, starts + timedelta(hours=2), SEOUL)
    assert text == "Tue 1 Dec, 23:30 – Wed 2 Dec, 01:30 (Asia/Seoul)"


def test_span_across_a_dst_change() -> None:
    starts = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)  # 01:00 EST; clocks jump 02:00 -> 03:00
    text = i18n.span(starts, starts + timedelta(hours=2), NEW_YORK)
    assert text == "Sun 8 Mar, 01:00–04:00 (America/New_York)"
    autumn = datetime(2026, 10, 31, 23, 0, tzinfo=UTC)  # 19:00 EDT; clocks fall back at 02:00
    text = i18n.span(autumn, autumn + timedelta(hours=8), NEW_YORK)
    assert text == "Sat 31 Oct, 19:00 – Sun 1 Nov, 02:00 (America/New_York)"


def test_moment() -> None:
    assert i18n.moment(START, NEW_YORK) == "Mon 30 Nov, 19:00 (America/New_York)"


def test_token_format() -> None:
    ts = int(START.timestamp())
    assert i18n.token(START) == f"<!date^{ts}^{{date_short_pretty}} {{time}}|2026-12-01 00:00 UTC>"
    assert i18n.token(START.astimezone(SEOUL)) == i18n.token(START)
    assert i18n.token(START, "{time}") == f"<!date^{ts}^{{time}}|2026-12-01 00:00 UTC>"
    end = START + timedelta(minutes=90)
    assert i18n.token_span(START, end) == (
        f"{i18n.token(START)}–<!date^{ts + 5400}^{{time}}|2026-12-01 01:30 UTC>"
    )


# --- texts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "usage",
    [
        "`/book`",
        "`/book help`",
        "`/book list`",
        "`/book cancel ",
        "`/book rooms`",
        "`/book 102 2026-12-01 09:00-10:00",
    ],
)
def test_help_mentions_every_subcommand(usage: str) -> None:
    assert usage in texts.help_text(email=True)
    assert usage in texts.help_text(email=False)


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_texts_are_valid_messages(locale: str) -> None:
    with i18n.use_locale(locale):
        for text in (
            texts.help_text(email=True),
            texts.help_text(email=False),
            texts.one_line_usage(),
            texts.not_admin_decide(),
            texts.not_allowed_to_decide("102"),
            texts.not_admin_rooms(),
            texts.no_rooms(),
            texts.oops("abc123"),
            texts.unknown_subcommand("frobnicate", email=True),
        ):
            check_message({"text": text})
        for email in (True, False):
            assert texts.help_text(email=email) in texts.unknown_subcommand("x", email=email)


# --- property: any user text up to the domain limits stays within Slack's limits -----------------

# The domain refuses control characters in every stored text (see rules.printable).
_TEXT = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from(
    "<>&*_~`@!|"
)


def _squash(text: str) -> str:
    return " ".join(text.split())  # what the domain does to titles and reasons


titles = st.text(_TEXT, max_size=150).map(_squash)
reasons = st.one_of(st.none(), st.text(_TEXT, min_size=1, max_size=500).map(_squash))
room_names = st.text(_TEXT, min_size=1, max_size=80).map(str.strip).filter(bool)
room_ids = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Zs", "Zl", "Zp", "Cc"))
    | st.sampled_from("<>&*_~"),
    min_size=1,
    max_size=32,
).filter(lambda s: not any(c.isspace() for c in s))


@st.composite
def rows(draw: st.DrawFn, booking_id: int) -> BookingRow:
    status = draw(st.sampled_from(list(BookingStatus)))
    decided = status in (BookingStatus.APPROVED, BookingStatus.DENIED)
    room = Room(draw(room_ids), draw(room_names), 10)  # the domain's own checks apply
    return make_row(
        booking_id,
        status=status,
        starts_at=START + timedelta(minutes=30 * draw(st.integers(0, 90 * 48))),
        hours=draw(st.sampled_from([0.5, 1, 8])),
        room_id=room.id,
        room_name=room.name,
        title=draw(titles),
        decided_by=ADMIN if decided or draw(st.booleans()) else None,
        decided_at=DECIDED_AT if decided else None,
        reason=draw(reasons) if status == BookingStatus.DENIED else None,
        cancelled_by=draw(st.sampled_from([None, BOOKER, ADMIN]))
        if status == BookingStatus.CANCELLED
        else None,
    )


@settings(
    max_examples=settings.default.max_examples * 3 // 2,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    first=rows(1),
    second=rows(2),
    third=rows(3),
    tz=st.sampled_from([SEOUL, NEW_YORK, UTC_ZONE, ZoneInfo("Australia/Lord_Howe")]),
)
def test_any_user_text_stays_within_limits(
    first: BookingRow, second: BookingRow, third: BookingRow, tz: ZoneInfo
) -> None:
    for row in (first, second, third):
        message = card(row)
        check_message(message)
        assert "<!channel>" not in all_blocks_text(message["blocks"][1:])  # fields carry user text
    data = HomeData(
        user=BOOKER,
        tz=tz,
        now=NOW,
        upcoming=[first, second, third],
        upcoming_total=30,
        history=([third, second, first] * 3)[:HISTORY_SIZE],
        is_admin=True,
        pending=[first, second, third],
        pending_total=30,
        dead_notifications=1,
    )
    for locale in ("en", "ko"):  # Korean texts are shorter in letters, longer in some labels
        with i18n.use_locale(locale):
            check_view(home_view(data), "home")
            check_message(lists.my_bookings([first, second, third], 30, tz))
            check_view(modals.deny_modal(first, channel="C1", message_ts="1.2"), "modal")
            _check_newer_views(first, second, tz)


def _check_newer_views(first: BookingRow, second: BookingRow, tz: ZoneInfo) -> None:
    """Change, waitlist and find with the same user data."""
    from bot.services.ports import FreeRoom, RoomRow
    from bot.views import booking_modal as form
    from bot.views import find

    rooms = [
        RoomRow(r.room_id, r.room_name, 10, True, tags=(r.title[:30] or "x",))
        for r in {r.room_id: r for r in (first, second)}.values()  # ids are unique
    ]
    check_view(form.booking_modal(rooms, tz, NOW, booking=first), "modal")
    check_view(form.change_saved(first, True, tz, email=True), "modal")
    check_view(form.request_sent(first, tz, email=True), "modal")
    held = (first.starts_at, first.ends_at)
    free = [(r.id, r.name) for r in rooms]
    taken = texts.taken(first.room_id, first.title, held, tz, held, free)
    check_message(lists.taken_reply(taken, first.room_id, *held, first.title))
    search = find.FindRequest(first.starts_at, first.ends_at, 4, rooms[0].tags, False)
    found = find.find_results([FreeRoom(r, None) for r in rooms], search, tz)
    check_message(found)
    check_view(find.find_results_modal(found), "modal")


# --- email: promised only when the app sends it --------------------------------------------------


def _after_request_texts(email: bool) -> list[str]:
    """Everything the booker reads right after asking, with email on or off."""
    from bot.views import booking_modal as form
    from bot.views import find

    pending = make_row(7)
    approved = make_row(7, status=BookingStatus.APPROVED, decided_by="policy", decided_at=NOW)
    views = [
        form.request_sent(pending, SEOUL, email=email),
        form.request_sent(approved, SEOUL, email=email),
        form.change_saved(pending, True, SEOUL, email=email),
        form.change_saved(approved, True, SEOUL, email=email),
    ]
    return [all_blocks_text(v["blocks"]) for v in views] + [
        find.requested_text(pending, SEOUL, email=email),
        find.requested_text(approved, SEOUL, email=email),
        texts.requested(7, "102", "today", email=email),
        texts.claimed(7, email=email),
        texts.help_text(email=email),
        texts.unknown_subcommand("x", email=email),
    ]


@pytest.mark.parametrize(("locale", "word"), [("en", "email"), ("ko", "이메일")])
def test_an_email_is_promised_only_when_email_is_on(locale: str, word: str) -> None:
    with i18n.use_locale(locale):
        on, off = _after_request_texts(email=True), _after_request_texts(email=False)
    assert all(word in text for text in on), [t for t in on if word not in t]
    assert not any(word in text for text in off), [t for t in off if word in t]
    assert all("DM" in text for text in off)  # the DM still comes


def test_the_wait_button_holds_the_longest_korean_title_the_settings_allow() -> None:
    """JSON escapes every Hangul letter as six characters (``\\uXXXX``) unless told not to: a
    Korean title of MAX_TITLE_LENGTH's highest setting must still fit the button's 2000."""
    from bot.config import Settings

    longest = Settings.model_fields["max_title_length"].metadata
    limit = max(getattr(m, "le", 0) or 0 for m in longest)
    start = datetime(2026, 12, 4, 6, 30, tzinfo=UTC)
    reply = lists.taken_reply("taken", "102", start, start + timedelta(hours=1), "회" * limit)
    check_message(reply)
    request = lists.waitlist_request(reply["blocks"][1]["elements"][0]["value"])
    assert request is not None and request[3] == "회" * limit
