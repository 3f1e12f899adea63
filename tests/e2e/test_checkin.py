"""Check-in end to end: the reminder DM of a booking in a check-in room carries Check in and
Release; a booking nobody checked into is released when the window passes (card, DM, Home, and
an email withdrawing the invite)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.adapters import orm
from bot.demo.loopback import Inbox
from bot.domain import commands as c
from bot.domain.model import BookingStatus
from bot.views import ids
from tests.conftest import ADMIN
from tests.e2e.conftest import BOB, Stack
from tests.e2e.test_change_booking import _approve
from tests.e2e.test_series import _calendar
from tests.e2e.test_slack_app import _actions, _card_update, _texts
from tests.integration.helpers import bookings


def _booked(stack: Stack, line: str) -> int:
    assert "booking #" in stack.send.command(BOB, line).text
    stack.deliver()
    booking_id: int = bookings(stack.engine)[-1]["id"]
    _approve(stack, booking_id)
    return booking_id


def test_a_booking_nobody_checks_into_is_released_when_the_window_passes(
    mailed: tuple[Stack, Inbox],
) -> None:
    stack, inbox = mailed
    stack.container.bus.handle(c.UpdateRoom("102", by="cli", checkin_minutes=10))
    # 18:00-19:00 in Seoul is 09:00-10:00 UTC, an hour after the stack's clock
    booking = _booked(stack, "102 2026-12-01 18:00-19:00 Standup")
    method, invite = _calendar(inbox.wait_for(2)[1].message)  # the approval's invite
    [invited] = invite.walk("VEVENT")

    stack.clock.advance(timedelta(minutes=52))
    stack.container.bus.handle(c.SendReminders())
    stack.deliver()
    reminder = stack.dms_to(BOB)[-1].params
    assert ids.CHECK_IN in _actions(reminder["blocks"]) and ids.RELEASE in _actions(
        reminder["blocks"]
    )
    assert "Check in within 10 minutes" in _texts(reminder["blocks"])

    stack.clock.advance(timedelta(minutes=18))  # 10 minutes after the start
    assert stack.container.bus.handle(c.ReleaseUnattended()) == 1
    stack.deliver()

    assert bookings(stack.engine)[0]["status"] == BookingStatus.RELEASED
    assert "released" in stack.dms_to(BOB)[-1].params["text"]
    card = _card_update(stack)
    assert "Released" in _texts(card["blocks"]) and _actions(card["blocks"]) == []
    assert "released" in _texts(stack.home_of(BOB)["blocks"])
    assert [b["id"] for b in bookings(stack.engine)] == [booking]

    # the email withdraws the invite: METHOD:CANCEL, same UID, a higher SEQUENCE
    [released] = [r for r in inbox.wait_for(3)[2:] if r.rcpt_tos == ["bob@example.com"]]
    assert "released" in str(released.message["Subject"]).lower()
    cancel_method, cancel = _calendar(released.message)
    [withdrawn] = cancel.walk("VEVENT")
    assert (method, cancel_method, str(cancel["METHOD"])) == ("REQUEST", "CANCEL", "CANCEL")
    assert str(withdrawn["UID"]) == str(invited["UID"])
    assert int(withdrawn["SEQUENCE"]) > int(invited["SEQUENCE"])
    assert str(withdrawn["STATUS"]) == "CANCELLED"


def test_check_in_from_the_reminder_keeps_the_room(stack: Stack) -> None:
    stack.container.bus.handle(c.UpdateRoom("102", by="cli", checkin_minutes=10))
    booking = _booked(stack, "102 2026-12-01 18:00-19:00 Standup")
    stack.clock.advance(timedelta(minutes=55))
    stack.container.bus.handle(c.SendReminders())
    stack.deliver()

    stack.send.click(BOB, ids.CHECK_IN, str(booking), channel="D0BOB", message_ts="5")
    [response] = stack.fake.wait_for_responses()
    assert "Checked in" in response.body["text"]
    stack.clock.advance(timedelta(minutes=30))
    assert stack.container.bus.handle(c.ReleaseUnattended()) == 0
    assert bookings(stack.engine)[0]["status"] == BookingStatus.APPROVED


def test_book_checkin_checks_in_to_the_booking_starting_now(stack: Stack) -> None:
    stack.container.bus.handle(c.UpdateRoom("102", by="cli", checkin_minutes=10))
    _booked(stack, "102 2026-12-01 18:00-19:00 Standup")
    assert "no approved booking starting now" in stack.send.command(BOB, "checkin").text
    stack.clock.advance(timedelta(minutes=58))
    assert "Checked in to booking #1" in stack.send.command(BOB, "checkin").text
    assert bookings(stack.engine)[0]["checked_in_at"] is not None


def _room_form(stack: Stack, action: str, value: str) -> dict:
    opened = len(stack.fake.calls_to("views.open"))
    stack.send.click(ADMIN, action, value, channel="C0GENERAL", message_ts="5", ephemeral=True)
    return stack.fake.wait_for("views.open", opened + 1)[-1].params["view"]


def _room_values(name: str, checkin: str | None, room_id: str | None = None) -> dict:
    values = {
        ids.ROOM_NAME_BLOCK: {ids.ROOM_NAME_ACTION: {"value": name}},
        ids.ROOM_CAPACITY_BLOCK: {ids.ROOM_CAPACITY_ACTION: {"value": "4"}},
        ids.ROOM_ACTIVE_BLOCK: {
            ids.ROOM_ACTIVE_ACTION: {"selected_options": [{"value": "active"}]}
        },
        ids.ROOM_CHECKIN_BLOCK: {ids.ROOM_CHECKIN_ACTION: {"value": checkin}},
    }
    if room_id is not None:
        values[ids.ROOM_ID_BLOCK] = {ids.ROOM_ID_ACTION: {"value": room_id}}
    return values


def _checkin_of(stack: Stack, room_id: str) -> int | None:
    with stack.engine.connect() as conn:
        found = conn.execute(
            select(orm.rooms.c.checkin_minutes).where(orm.rooms.c.id == room_id)
        ).scalar_one()
    return found


def test_admins_set_the_check_in_window_in_the_room_form(stack: Stack) -> None:
    form = _room_form(stack, ids.ROOM_EDIT, "102")
    for typed, error in (
        ("ten", "Enter a whole number."),
        ("0", "from 1 to 120"),
        ("500", "from 1 to 120"),
    ):
        reply = stack.send.submit(ADMIN, form, _room_values("Small room", typed)).json
        assert error in reply["errors"][ids.ROOM_CHECKIN_BLOCK]
        assert _checkin_of(stack, "102") is None  # nothing stored

    assert stack.send.submit(ADMIN, form, _room_values("Small room", "10")).json is None
    assert _checkin_of(stack, "102") == 10
    assert "check-in within 10 min" in _texts(stack.send.command(BOB, "rooms").json["blocks"])

    again = _room_form(stack, ids.ROOM_EDIT, "102")
    checkin = next(b for b in again["blocks"] if b.get("block_id") == ids.ROOM_CHECKIN_BLOCK)
    assert checkin["element"]["initial_value"] == "10"
    assert stack.send.submit(ADMIN, again, _room_values("Small room", None)).json is None
    assert _checkin_of(stack, "102") is None  # empty turns check-in off

    added = _room_form(stack, ids.ROOM_ADD, "new")
    assert stack.send.submit(ADMIN, added, _room_values("Loft", "15", room_id="301")).json is None
    assert _checkin_of(stack, "301") == 15
