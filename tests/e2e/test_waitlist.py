"""The waitlist end to end: a one-line request refused because the slot is taken offers *Tell me
if it frees up*; when the holder cancels, the first person waiting gets a DM whose *Book it*
requests the slot for them with one click; an offer not taken in time passes to the next person."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.adapters import orm
from bot.domain import commands as c
from bot.domain.model import BookingStatus
from bot.views import ids
from tests.conftest import ADMIN
from tests.e2e.conftest import AL, BOB, GENERAL, Stack
from tests.e2e.slack_client import booking_values
from tests.e2e.test_slack_app import _actions, _texts
from tests.fakes.slack_api import view_problems
from tests.integration.helpers import bookings, rows


def test_a_freed_slot_is_offered_and_booked_by_a_click(stack: Stack) -> None:
    assert "booking #1" in stack.send.command(BOB, "102 2026-12-02 10:00-11:00 Planning").text
    # Al (New York) asks for the same hour: 20:00-21:00 on Dec 1 in his zone
    refused = stack.send.command(AL, "102 2026-12-01 20:00-21:00 Al's sync").json
    assert "taken by Bob" in refused["text"]
    [wait] = [e for b in refused["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert wait["action_id"] == ids.WAIT

    stack.send.click(
        AL, ids.WAIT, wait["value"], channel="C0GENERAL", message_ts="9", ephemeral=True
    )
    [joined] = stack.fake.wait_for_responses()
    assert "on the waitlist" in joined.body["text"]

    assert "cancelled" in stack.send.command(BOB, "cancel 1").text
    stack.deliver()
    offer = stack.dms_to(AL)[-1].params
    assert "A slot you were waiting for is free" in offer["text"]
    assert ids.BOOK_IT in _actions(offer["blocks"])
    assert "Open until" in _texts(offer["blocks"])
    [book_it] = [e for b in offer["blocks"] if b["type"] == "actions" for e in b["elements"]]

    stack.send.click(AL, ids.BOOK_IT, book_it["value"], channel="D0AL", message_ts="7")
    responses = stack.fake.wait_for_responses(count=2)
    assert "Requested (booking #2)" in responses[-1].body["text"]
    mine = {b["id"]: (b["booker"], b["status"], b["title"]) for b in bookings(stack.engine)}
    assert mine[2] == ("UAL", BookingStatus.PENDING, "Al's sync")
    # a second click does not book twice: it is told so
    stack.send.click(AL, ids.BOOK_IT, book_it["value"], channel="D0AL", message_ts="7")
    refusal = stack.fake.wait_for_responses(count=3)[-1]  # through the click's response_url
    assert "booked this slot already" in refusal.body["text"]
    assert len(bookings(stack.engine)) == 2
    assert json.loads(wait["value"])["room"] == "102"


def _wait_for_it(stack: Stack, user: str, line: str) -> None:
    refused = stack.send.command(user, line).json
    [wait] = [e for b in refused["blocks"] if b["type"] == "actions" for e in b["elements"]]
    replies = len(stack.fake.responses)
    stack.send.click(user, ids.WAIT, wait["value"], channel=GENERAL, message_ts="9", ephemeral=True)
    assert "on the waitlist" in stack.fake.wait_for_responses(count=replies + 1)[-1].body["text"]


def _offer_to(stack: Stack, user: str) -> dict:
    offer = stack.dms_to(user)[-1].params
    assert "A slot you were waiting for is free" in offer["text"]
    [book_it] = [e for b in offer["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert book_it["action_id"] == ids.BOOK_IT
    return book_it


def test_an_offer_not_taken_in_time_passes_to_the_next_person_waiting(stack: Stack) -> None:
    """The offer is open WAITLIST_OFFER_MINUTES (15 here); then the next in line gets it."""
    assert "booking #1" in stack.send.command(BOB, "102 2026-12-02 10:00-11:00 Planning").text
    _wait_for_it(stack, AL, "102 2026-12-01 20:00-21:00 Al's sync")  # the same hour, New York
    _wait_for_it(stack, ADMIN, "102 2026-12-02 02:00-03:00 Ada's")  # and Berlin
    assert "cancelled" in stack.send.command(BOB, "cancel 1").text
    stack.deliver()
    first = _offer_to(stack, AL)
    assert not [d for d in stack.dms_to(ADMIN) if "waiting for is free" in d.params["text"]]

    stack.clock.advance(timedelta(minutes=14))
    assert stack.container.bus.handle(c.LapseOffers()) == 0
    stack.clock.advance(timedelta(minutes=1))
    assert stack.container.bus.handle(c.LapseOffers()) == 1
    stack.deliver()
    second = _offer_to(stack, ADMIN)

    # Al's click comes too late; Ada's books it
    replies = len(stack.fake.responses)
    stack.send.click(AL, ids.BOOK_IT, first["value"], channel="D0AL", message_ts="7")
    late = stack.fake.wait_for_responses(count=replies + 1)[-1].body["text"]
    assert "no longer open" in late
    stack.send.click(ADMIN, ids.BOOK_IT, second["value"], channel="D0ADMIN", message_ts="8")
    booked = stack.fake.wait_for_responses(count=replies + 2)[-1].body["text"]
    assert "Requested (booking #2)" in booked
    [mine] = [b for b in bookings(stack.engine) if b["id"] == 2]
    assert (mine["booker"], mine["title"]) == (ADMIN, "Ada's")
    assert {e["user"]: e["status"] for e in rows(stack.engine, orm.waitlist)} == {
        AL: "LAPSED",
        ADMIN: "BOOKED",
    }


def test_the_holder_asking_again_is_told_they_hold_it_not_offered_a_wait(stack: Stack) -> None:
    assert "booking #1" in stack.send.command(BOB, "102 2026-12-02 10:00-11:00 Planning").text
    again = stack.send.command(BOB, "102 2026-12-02 10:30-11:30")
    assert "You already hold room 102 for that time: booking #1" in again.text
    assert "taken by" not in again.text and ids.WAIT not in again.text  # no wait button

    view = {"callback_id": ids.BOOK_MODAL, "private_metadata": json.dumps({"tz": "Asia/Seoul"})}
    form = stack.send.submit(BOB, view, booking_values("102", "2026-12-02", "10:00", "10:30"))
    [error] = form.json["errors"].values()
    assert error.startswith("You already hold room 102 for that time: booking #1")
    assert "waitlist" not in error

    wanted = json.dumps(
        {"room": "102", "start": "2026-12-02T10:00:00+09:00", "end": "2026-12-02T11:00:00+09:00"}
    )
    stack.send.click(BOB, ids.WAIT, wanted, channel="C0GENERAL", message_ts="9", ephemeral=True)
    [told] = stack.fake.wait_for_responses()
    assert "You already hold room 102 for that time (booking #1)" in told.body["text"]
    assert len(bookings(stack.engine)) == 1


def test_the_booking_form_refused_for_a_taken_slot_offers_the_waitlist(stack: Stack) -> None:
    assert "booking #1" in stack.send.command(BOB, "102 2026-12-02 10:00-11:00 Planning").text
    opened = len(stack.fake.calls_to("views.open"))
    stack.send.command(AL)
    form = stack.fake.shown_view(opened)
    values = booking_values("102", "2026-12-01", "20:00", "21:00", "Al's sync")
    reply = stack.send.submit(AL, form, values)

    # the form turns into who holds it, the nearest free slot, and the two ways on
    assert reply.json["response_action"] == "update"
    taken = reply.json["view"]
    assert view_problems(taken) == []
    said = _texts(taken["blocks"])
    assert "taken by Bob until 21:00" in said and "Free from Tue 1 Dec, 21:00–22:00" in said
    assert _actions(taken["blocks"]) == [ids.WAIT, ids.BOOK_FREE, ids.BOOK_BACK]
    shown = {**taken, "id": "VFORM", "hash": "h1"}

    # Back to the form: the form again in its place, as it was filled in
    updates = len(stack.fake.calls_to("views.update"))
    stack.send.click(AL, ids.BOOK_BACK, _value(taken, ids.BOOK_BACK), view=shown)
    [back] = stack.fake.wait_for("views.update", count=updates + 1)[updates:]
    assert (back.params["view_id"], back.params["hash"]) == ("VFORM", "h1")
    again = {b["block_id"]: b["element"] for b in back.params["view"]["blocks"] if "element" in b}
    assert back.params["view"]["callback_id"] == ids.BOOK_MODAL
    assert again[ids.ROOM_BLOCK]["initial_option"]["value"] == "102"
    assert again[ids.DATE_BLOCK]["initial_date"] == "2026-12-01"
    assert (again[ids.START_BLOCK]["initial_time"], again[ids.END_BLOCK]["initial_time"]) == (
        "20:00",
        "21:00",
    )
    assert again[ids.TITLE_BLOCK]["initial_value"] == "Al's sync"

    # Tell me if it frees up: on the waitlist, said in the view's place
    stack.send.click(AL, ids.WAIT, _value(taken, ids.WAIT), view=shown)
    [joined] = stack.fake.wait_for("views.update", count=updates + 2)[updates + 1 :]
    assert joined.params["view_id"] == "VFORM"
    assert "on the waitlist for room 102" in _texts(joined.params["view"]["blocks"])
    assert [(w["user"], w["title"]) for w in rows(stack.engine, orm.waitlist)] == [
        (AL, "Al's sync")
    ]

    # the holder cancels: the offer DM arrives, and Book it requests the slot
    assert "cancelled" in stack.send.command(BOB, "cancel 1").text
    stack.deliver()
    offer = stack.dms_to(AL)[-1].params
    assert "A slot you were waiting for is free" in offer["text"]
    assert ids.BOOK_IT in _actions(offer["blocks"])
    stack.send.click(AL, ids.BOOK_IT, _value(offer, ids.BOOK_IT), channel="D0AL", message_ts="7")
    assert "Requested (booking #2)" in stack.fake.wait_for_responses()[-1].body["text"]
    booked = {b["id"]: (b["booker"], b["status"], b["title"]) for b in bookings(stack.engine)}
    assert booked[2] == (AL, BookingStatus.PENDING, "Al's sync")


def test_a_wait_refused_in_the_form_says_why_and_keeps_the_way_back(stack: Stack) -> None:
    assert "booking #1" in stack.send.command(BOB, "102 2026-12-02 10:00-11:00 Planning").text
    view = {"callback_id": ids.BOOK_MODAL, "private_metadata": json.dumps({"tz": "Asia/Seoul"})}
    reply = stack.send.submit(AL, view, booking_values("102", "2026-12-02", "10:00", "11:00"))
    taken = reply.json["view"]
    assert "cancelled" in stack.send.command(BOB, "cancel 1").text  # freed before the click

    updates = len(stack.fake.calls_to("views.update"))
    stack.send.click(AL, ids.WAIT, _value(taken, ids.WAIT), view={**taken, "id": "VFORM"})
    [told] = stack.fake.wait_for("views.update", count=updates + 1)[updates:]
    assert "Room 102 is free then: book it instead." in _texts(told.params["view"]["blocks"])
    assert _actions(told.params["view"]["blocks"]) == [ids.BOOK_BACK]
    assert rows(stack.engine, orm.waitlist) == []


def test_the_taken_slot_view_requests_the_next_free_slot_with_one_click(stack: Stack) -> None:
    assert "booking #1" in stack.send.command(BOB, "102 2026-12-02 10:00-11:00 Planning").text
    assert "booking #2" in stack.send.command(BOB, "102 2026-12-02 12:00-13:00 Lunch").text
    view = {"callback_id": ids.BOOK_MODAL, "private_metadata": json.dumps({"tz": "Asia/Seoul"})}
    reply = stack.send.submit(
        AL, view, booking_values("102", "2026-12-02", "10:00", "11:00", "1:1")
    )
    taken = {**reply.json["view"], "id": "VFORM", "hash": "h1"}
    [free] = [
        e for b in taken["blocks"] if b["type"] == "actions" for e in b["elements"]
        if e["action_id"] == ids.BOOK_FREE
    ]  # fmt: skip
    assert free["text"]["text"] == "Request Wed 2 Dec, 11:00–12:00"  # in the form's zone

    updates = len(stack.fake.calls_to("views.update"))
    stack.send.click(AL, ids.BOOK_FREE, free["value"], view=taken)
    [sent] = stack.fake.wait_for("views.update", count=updates + 1)[updates:]
    assert sent.params["view_id"] == "VFORM" and view_problems(sent.params["view"]) == []
    assert "Booking #3" in _texts(sent.params["view"]["blocks"])
    mine = {b["id"]: (b["booker"], b["title"], b["starts_at"]) for b in bookings(stack.engine)}
    assert mine[3][:2] == (AL, "1:1") and mine[3][2].isoformat() == "2026-12-02T02:00:00+00:00"

    # a second click finds the slot taken (by Al himself now): said in the view's place
    stack.send.click(AL, ids.BOOK_FREE, free["value"], view=taken)
    [again] = stack.fake.wait_for("views.update", count=updates + 2)[updates + 1 :]
    assert "You already hold room 102" in _texts(again.params["view"]["blocks"])
    assert len(bookings(stack.engine)) == 3


def _value(message: dict, action_id: str) -> str:
    [value] = [
        e["value"]
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    ]
    return value
