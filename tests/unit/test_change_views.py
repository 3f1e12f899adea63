"""The views of a change: Change and End now buttons, the booking form filled in with the
booking, what a submission reads back, the modal after saving, and the card's old -> new."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.domain.model import BookingStatus
from bot.services.ports import RoomRow
from bot.views import ids
from bot.views.booking_modal import booking_modal, change_saved, read_booking
from bot.views.cards import card
from bot.views.home import booking_rows
from bot.views.i18n import use_locale
from tests.unit.slack_limits import check_view
from tests.unit.test_views import NOW, START, all_blocks_text, block_by_id, buttons, make_row

SEOUL = ZoneInfo("Asia/Seoul")
ROOMS = [RoomRow("102", "Small room", 4, True), RoomRow("201", "Board room", 12, True)]


def test_every_upcoming_booking_offers_change_and_cancel_and_end_now_only_while_under_way() -> None:
    ahead = make_row(1, status=BookingStatus.APPROVED, starts_at=NOW + timedelta(hours=2))
    under_way = make_row(2, status=BookingStatus.APPROVED, starts_at=NOW - timedelta(minutes=10))
    pending_now = make_row(3, status=BookingStatus.PENDING, starts_at=NOW - timedelta(minutes=10))
    blocks = booking_rows([ahead, under_way, pending_now], SEOUL, NOW)

    assert [b["value"] for b in buttons(blocks, ids.CHANGE)] == ["1", "2", "3"]
    assert [b["value"] for b in buttons(blocks, ids.CANCEL)] == ["1", "2", "3"]
    [end] = buttons(blocks, ids.END_NOW)
    assert end["value"] == "2" and "confirm" in end


def test_the_change_form_is_the_booking_form_filled_in_with_the_booking() -> None:
    row = make_row(7, status=BookingStatus.APPROVED, starts_at=START, title="Planning")
    view = booking_modal(ROOMS, SEOUL, NOW, booking=dataclasses.replace(row, room_id="201"))
    check_view(view, "modal")

    assert view["callback_id"] == ids.BOOK_MODAL
    assert view["title"]["text"] == "Change booking" and view["submit"]["text"] == "Save change"
    assert json.loads(view["private_metadata"]) == {"tz": "Asia/Seoul", "booking_id": 7}
    local = START.astimezone(SEOUL)
    assert block_by_id(view, ids.ROOM_BLOCK)["element"]["initial_option"]["value"] == "201"
    assert block_by_id(view, ids.DATE_BLOCK)["element"]["initial_date"] == local.date().isoformat()
    assert block_by_id(view, ids.START_BLOCK)["element"]["initial_time"] == f"{local:%H:%M}"
    assert block_by_id(view, ids.TITLE_BLOCK)["element"]["initial_value"] == "Planning"
    assert "asks an admin to approve it again" in all_blocks_text(view["blocks"])


def test_a_booking_in_a_room_deactivated_since_keeps_its_room_in_the_form() -> None:
    row = make_row(7, status=BookingStatus.APPROVED, starts_at=START)
    row = dataclasses.replace(row, room_id="999", room_name="Old room")
    view = booking_modal(ROOMS, SEOUL, NOW, booking=row)
    assert block_by_id(view, ids.ROOM_BLOCK)["element"]["initial_option"]["value"] == "999"


def test_a_submitted_change_form_reads_back_with_the_booking_id() -> None:
    row = make_row(7, status=BookingStatus.APPROVED, starts_at=START)
    view = booking_modal(ROOMS, SEOUL, NOW, booking=row)
    view["state"] = {
        "values": {
            ids.ROOM_BLOCK: {ids.ROOM_ACTION: {"selected_option": {"value": "102"}}},
            ids.DATE_BLOCK: {ids.DATE_ACTION: {"selected_date": "2026-12-03"}},
            ids.START_BLOCK: {ids.START_ACTION: {"selected_time": "10:00"}},
            ids.END_BLOCK: {ids.END_ACTION: {"selected_time": "11:00"}},
            ids.TITLE_BLOCK: {ids.TITLE_ACTION: {"value": "Moved"}},
        }
    }
    form, errors, tz = read_booking(view)
    assert form is not None and not errors and tz == SEOUL
    assert form.booking_id == 7 and form.title == "Moved"
    assert form.starts_at.isoformat() == "2026-12-03T10:00:00+09:00"


def test_a_new_booking_form_has_no_booking_id() -> None:
    view = booking_modal(ROOMS, SEOUL, NOW)
    assert "booking_id" not in json.loads(view["private_metadata"])


def test_the_saved_modal_says_whether_the_change_waits_for_approval() -> None:
    row = make_row(7, status=BookingStatus.PENDING, starts_at=START)
    waiting = change_saved(row, True, SEOUL, email=True)
    check_view(waiting, "modal")
    assert "once the change is approved or denied" in all_blocks_text(waiting["blocks"])
    kept = change_saved(
        dataclasses.replace(row, status=BookingStatus.APPROVED), True, SEOUL, email=True
    )
    assert "It stays approved" in all_blocks_text(kept["blocks"])
    same = change_saved(row, False, SEOUL, email=True)
    assert "nothing changed" in all_blocks_text(same["blocks"])


def test_the_card_of_a_changed_booking_shows_old_and_new_with_the_decision_buttons() -> None:
    row = make_row(7, status=BookingStatus.PENDING, starts_at=START, title="New")
    row = dataclasses.replace(
        row,
        changed_at=NOW,
        was_room_id="201",
        was_room_name="Board room",
        was_starts_at=START - timedelta(hours=1),
        was_ends_at=START,
        was_title="Old",
    )
    message = card(row)
    text = all_blocks_text(message["blocks"])
    assert "*Changed*" in text
    assert "~Board room (201)~" in text and "~Old~ → New" in text
    assert buttons(message["blocks"], ids.APPROVE) and buttons(message["blocks"], ids.DENY)
    decided = card(dataclasses.replace(row, status=BookingStatus.APPROVED))
    assert "*Changed*" not in all_blocks_text(decided["blocks"])  # only while it is decided


def test_the_forms_kept_parts_follow_the_language_and_the_rooms_and_stay_unchanged() -> None:
    """The room options and Repeat fields are rendered once per language and kept: a second
    form in another language, or with other rooms, gets its own; a form that adds a room to
    its copy (a booking in a room deactivated since) leaves the next form as it was."""

    def labels(view: dict[str, object]) -> list[str]:
        element = block_by_id(view, ids.ROOM_BLOCK)["element"]
        return [o["text"]["text"] for o in element["options"]]

    english = booking_modal(ROOMS, SEOUL, NOW)
    with use_locale("ko"):
        korean = booking_modal(ROOMS, SEOUL, NOW)
    assert labels(english) == ["Small room (102) · 4 people", "Board room (201) · 12 people"]
    assert labels(korean) != labels(english) and "명" in labels(korean)[0]
    assert block_by_id(korean, ids.REPEAT_BLOCK)["label"]["text"] != "Repeat"

    row = dataclasses.replace(make_row(7, starts_at=START), room_id="999", room_name="Old room")
    changed = booking_modal(ROOMS, SEOUL, NOW, booking=row)
    assert labels(changed)[0].startswith("Old room (999)")
    assert labels(booking_modal(ROOMS, SEOUL, NOW)) == labels(english)

    grown = [*ROOMS, RoomRow("301", "Hall", 40, True)]
    assert labels(booking_modal(grown, SEOUL, NOW))[-1] == "Hall (301) · 40 people"
    assert json.dumps(booking_modal(ROOMS, SEOUL, NOW)) == json.dumps(english)
