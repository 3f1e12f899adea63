"""Changing a booking from Slack end to end: the Change button on App Home and on ``/book list``
opens the booking form filled in, the submission changes the booking in one transaction, and the
card, the DM, the email (the invite moved: same UID, next SEQUENCE) and the Home tab follow; End
now frees the rest of a booking in progress."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from bot.demo.loopback import Inbox
from bot.domain.model import BookingStatus
from bot.views import ids
from bot.views.booking_modal import read_booking
from tests.conftest import ADMIN
from tests.e2e.conftest import AL, APPROVALS, BOB, Stack
from tests.e2e.slack_client import booking_values
from tests.e2e.test_series import _calendar
from tests.e2e.test_slack_app import _actions, _card_update, _texts
from tests.integration.helpers import approvals, bookings


def _status_becomes(stack: Stack, booking_id: int, status: BookingStatus) -> None:
    """A click is acked before its listener runs: wait for the listener's commit."""
    deadline = time.monotonic() + 10
    while {b["id"]: b["status"] for b in bookings(stack.engine)}.get(booking_id) != status:
        assert time.monotonic() < deadline, f"booking #{booking_id} never became {status}"
        time.sleep(0.02)


def _approve(stack: Stack, booking_id: int) -> None:
    ts = f"17000000{booking_id:02d}.000100"
    stack.send.click(ADMIN, ids.APPROVE, str(booking_id), channel=APPROVALS, message_ts=ts)
    _status_becomes(stack, booking_id, BookingStatus.APPROVED)
    stack.deliver()


def _approved(stack: Stack, line: str) -> None:
    assert "booking #" in stack.send.command(BOB, line).text
    stack.deliver()
    _approve(stack, bookings(stack.engine)[-1]["id"])


def _open_change(stack: Stack, booking_id: int, user: str = BOB, **where: object) -> dict:
    opened = len(stack.fake.calls_to("views.open"))
    assert stack.send.click(user, ids.CHANGE, str(booking_id), **where).status == 200
    return stack.fake.wait_for("views.open", count=opened + 1)[-1].params["view"]


def test_a_change_from_app_home_sends_the_booking_back_for_approval(
    mailed: tuple[Stack, Inbox],
) -> None:
    stack, inbox = mailed
    _approved(stack, "102 2026-12-02 10:00-11:00 Planning")  # Bob is in Asia/Seoul
    approved = inbox.wait_for(2)[1]  # after "requested", which has no invite
    method, invite = _calendar(approved.message)
    [was] = invite.walk("VEVENT")
    home = stack.home_of(BOB)
    assert ids.CHANGE in _actions(home["blocks"])

    form = _open_change(stack, 1, view=home)
    assert form["callback_id"] == ids.BOOK_MODAL
    assert json.loads(form["private_metadata"])["booking_id"] == 1
    elements = {b["block_id"]: b.get("element", {}) for b in form["blocks"] if "block_id" in b}
    assert elements[ids.ROOM_BLOCK]["initial_option"]["value"] == "102"
    assert elements[ids.DATE_BLOCK]["initial_date"] == "2026-12-02"
    assert (elements[ids.START_BLOCK]["initial_time"], elements[ids.END_BLOCK]["initial_time"]) == (
        "10:00",
        "11:00",
    )
    assert elements[ids.TITLE_BLOCK]["initial_value"] == "Planning"

    # one hour later and in the board room: approval again
    reply = stack.send.submit(
        BOB, form, booking_values("201", "2026-12-02", "11:00", "12:00", "Planning")
    )
    assert reply.status == 200 and reply.json["response_action"] == "update"
    assert "Booking changed" in json.dumps(reply.json["view"])
    [stored] = bookings(stack.engine)
    assert (stored["room_id"], stored["status"], stored["sequence"]) == ("201", "PENDING", 1)
    assert stored["starts_at"].isoformat() == "2026-12-02T02:00:00+00:00"

    stack.deliver()
    card = _card_update(stack)
    assert _actions(card["blocks"]) == [ids.APPROVE, ids.DENY, ids.CHANGE]  # back to pending
    text = _texts(card["blocks"])
    assert "Changed" in text and "Small room (102)" in text and "Board room (201)" in text
    dm = stack.dms_to(BOB)[-1].params
    assert "waiting for approval again" in dm["text"]
    assert "Was:" in json.dumps(dm["blocks"])
    assert "Board room" in _texts(stack.home_of(BOB)["blocks"])
    assert [a["status"] for a in approvals(stack.engine)] == ["REQUESTED"]
    assert len(stack.cards()) == 1  # the same card, updated in place

    # the email moves the invite: same UID, the next SEQUENCE, tentative until approved again
    [changed] = inbox.wait_for(3)[2:]
    assert changed.rcpt_tos == ["bob@example.com"]
    assert str(changed.message["Subject"]).startswith("Changed: ")
    assert method == "REQUEST" and _calendar(changed.message)[0] == "REQUEST"
    [moved] = _calendar(changed.message)[1].walk("VEVENT")
    assert str(moved["UID"]) == str(was["UID"])
    assert int(moved["SEQUENCE"]) == int(was["SEQUENCE"]) + 1
    assert str(moved["STATUS"]) == "TENTATIVE" and str(moved["LOCATION"]) == "Board room"
    assert moved.decoded("DTSTART").isoformat() == "2026-12-02T02:00:00+00:00"

    _approve(stack, 1)
    assert bookings(stack.engine)[0]["sequence"] == 2


def test_a_refused_change_is_a_field_error_and_leaves_the_booking_as_it_was(stack: Stack) -> None:
    _approved(stack, "102 2026-12-02 10:00-11:00 Planning")
    # Al (New York) takes 11:00-12:00 in Seoul time, right after Bob's booking
    assert "booking #2" in stack.send.command(AL, "102 2026-12-01 21:00-22:00 Al's").text
    form = _open_change(stack, 1, view=stack.home_of(BOB))
    before = bookings(stack.engine)

    reply = stack.send.submit(
        BOB, form, booking_values("102", "2026-12-02", "10:00", "12:30", "Planning")
    )

    assert reply.json["response_action"] == "errors"
    error = reply.json["errors"][ids.START_BLOCK]
    assert "Room 102 is taken by Al" in error  # the same help as for a new request:
    assert "Free from" in error and "Free at that time: Board room (201)" in error
    assert bookings(stack.engine) == before


def test_change_and_end_now_from_the_ephemeral_list(stack: Stack) -> None:
    _approved(stack, "102 2026-12-01 17:00-19:00 Long review")  # 08:00-10:00 UTC: starts now
    stack.clock.advance(timedelta(minutes=30))
    listing = stack.send.command(BOB, "list").json
    assert {ids.CHANGE, ids.END_NOW, ids.CANCEL} <= set(_actions(listing["blocks"]))
    form = _open_change(stack, 1, channel="C0GENERAL", message_ts="9", ephemeral=True)
    form_values = booking_values("102", "2026-12-01", "17:00", "18:00", "Long review")
    values = {**form, "state": {"values": form_values}}
    parsed, errors, _ = read_booking(values)
    assert parsed is not None and parsed.booking_id == 1 and not errors

    stack.send.click(BOB, ids.END_NOW, "1", channel="C0GENERAL", message_ts="9", ephemeral=True)
    [response] = stack.fake.wait_for_responses()
    assert response.body["replace_original"] in (True, "true")
    assert "is ended" in response.body["text"]
    [stored] = bookings(stack.engine)
    assert stored["ends_at"] == stack.clock.now and stored["status"] == BookingStatus.APPROVED
    # the freed rest can be booked at once
    assert "booking #2" in stack.send.command(AL, "102 2026-12-01 18:00-19:00").text


def test_an_admin_moves_someone_elses_booking_from_its_card(
    mailed: tuple[Stack, Inbox],
) -> None:
    stack, inbox = mailed
    _approved(stack, "102 2026-12-02 10:00-11:00 Planning")  # Bob's, 01:00-02:00 UTC
    card = _card_update(stack)
    assert _actions(card["blocks"]) == [ids.CHANGE]  # approved: no decision left, a change
    mails = len(inbox.wait_for(2))  # requested, approved

    # someone who neither booked it nor is an admin is told so, with no form
    opened = len(stack.fake.calls_to("views.open"))
    stack.send.click(AL, ids.CHANGE, "1", channel=APPROVALS, message_ts=card["ts"])
    assert "Only the person who booked it, or an admin" in stack.replies()[-1].body["text"]

    # Ada (Europe/Berlin) opens Change on the card: the form in her zone, naming the booker
    stack.send.click(ADMIN, ids.CHANGE, "1", channel=APPROVALS, message_ts=card["ts"])
    form = stack.fake.wait_for("views.open", count=opened + 1)[-1].params["view"]
    assert f"booked by <@{BOB}>" in _texts(form["blocks"])
    elements = {b["block_id"]: b.get("element", {}) for b in form["blocks"] if "block_id" in b}
    assert elements[ids.START_BLOCK]["initial_time"] == "02:00"  # 01:00 UTC in Berlin

    # one hour later: the booking waits for approval again, Bob is told who moved it
    reply = stack.send.submit(
        ADMIN, form, booking_values("102", "2026-12-02", "03:00", "04:00", "Planning")
    )
    assert reply.json["response_action"] == "update"
    saved = _texts(reply.json["view"]["blocks"])
    assert f"<@{BOB}> gets a DM and an email" in saved and "held for you" not in saved
    [stored] = bookings(stack.engine)
    assert stored["status"] == BookingStatus.PENDING
    assert stored["starts_at"].isoformat() == "2026-12-02T02:00:00+00:00"

    stack.deliver()
    card = _card_update(stack)
    assert _actions(card["blocks"]) == [ids.APPROVE, ids.DENY, ids.CHANGE]  # back to pending
    assert "Changed" in _texts(card["blocks"])
    dm = stack.dms_to(BOB)[-1].params
    assert "An admin changed your booking" in dm["text"]
    assert "waiting for approval again" in dm["text"]
    assert "Was:" in json.dumps(dm["blocks"])
    [changed] = [r for r in inbox.wait_for(mails + 1)[mails:] if "bob@example.com" in r.rcpt_tos]
    assert changed.message["Subject"].startswith("Changed: ")
    body = changed.message.get_body(preferencelist=("plain",)).get_content()
    assert "Ada Admin" in body and "waiting for approval again" in body
    assert len(stack.cards()) == 1  # the same card, updated in place

    _approve(stack, 1)
    assert bookings(stack.engine)[0]["status"] == BookingStatus.APPROVED


def test_an_admin_changes_a_waiting_request_from_app_home(stack: Stack) -> None:
    assert "booking #1" in stack.send.command(BOB, "102 2026-12-02 10:00-11:00 Planning").text
    stack.deliver()
    stack.send.event({"type": "app_home_opened", "user": ADMIN, "tab": "home"})
    home = stack.home_of(ADMIN)
    assert ids.CHANGE in _actions(home["blocks"])  # the queue's row of Bob's request

    form = _open_change(stack, 1, user=ADMIN, view=home)
    reply = stack.send.submit(
        ADMIN, form, booking_values("201", "2026-12-02", "02:00", "03:00", "Planning")
    )
    assert reply.json["response_action"] == "update"
    [stored] = bookings(stack.engine)
    assert (stored["room_id"], stored["status"]) == ("201", BookingStatus.PENDING)
    stack.deliver()
    assert "An admin changed your booking" in stack.dms_to(BOB)[-1].params["text"]
    assert _actions(_card_update(stack)["blocks"]) == [ids.APPROVE, ids.DENY, ids.CHANGE]
