"""End to end through the HTTP endpoint with signed requests: find a room and book it with a
click, auto-approval for a user group's members, and a room's own approver."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from bot.domain import commands
from bot.domain.model import BookingStatus
from bot.views import ids
from tests.conftest import ADMIN, FixedClock
from tests.e2e.conftest import AL, APPROVALS, BOB, Stack, running_stack
from tests.e2e.slack_client import booking_values
from tests.fakes.slack_api import StrictSlackApi
from tests.integration.helpers import booking_list, bookings, events

NEW = "UNEWCOMER"  # not cached yet: the first request about them has to ask users.info


def _buttons(blocks: list[dict[str, Any]], action_id: str) -> list[dict[str, Any]]:
    return [
        e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    ]


def test_find_six_now_for_half_an_hour_with_a_projector_and_book_one(stack: Stack) -> None:
    bus, now = stack.container.bus, stack.clock.now
    bus.handle(commands.AddRoom("301", "Studio", 8, by="cli", tags=("projector",)))
    bus.handle(commands.AddRoom("302", "Nook", 6, by="cli", tags=("projector",)))
    bus.handle(commands.AddRoom("401", "Hall", 20, by="cli", tags=("projector", "video")))
    bus.handle(commands.AddRoom("402", "Annex", 10, by="cli", tags=("video",)))
    # the Nook is taken from ten minutes from now; the Hall from an hour from now
    bus.handle(
        commands.RequestBooking("302", now + timedelta(minutes=10), now + timedelta(hours=1), by=AL)
    )
    bus.handle(
        commands.RequestBooking("401", now + timedelta(hours=1), now + timedelta(hours=2), by=AL)
    )

    reply = stack.send.command(BOB, "find 6 now 30m projector")
    assert reply.status == 200
    answer = reply.json
    # smallest that fits first; one line per room with until when (Bob is in Seoul: 17:00 now)
    assert answer["text"].splitlines()[1:] == [
        "Studio (301), 8 people: free for the rest of the day",
        "Hall (401), 20 people: free until 18:00",
    ]
    [book, _] = _buttons(answer["blocks"], ids.FIND_BOOK)
    assert book["value"].startswith('{"room":"301"')

    stack.send.click(
        BOB, ids.FIND_BOOK, book["value"], channel="C0GENERAL", message_ts="5", ephemeral=True
    )
    [response] = stack.fake.wait_for_responses()
    assert response.status == 200
    assert response.body["replace_original"] in (True, "true")
    assert "Requested room 301," in response.body["text"]
    booked = [b for b in bookings(stack.engine) if b["room_id"] == "301"]
    assert [(b["booker"], b["starts_at"], b["ends_at"], b["status"]) for b in booked] == [
        (BOB, now, now + timedelta(minutes=30), BookingStatus.PENDING)
    ]
    assert "email" not in response.body["text"]  # email is off in this stack
    # the same click again: Bob is told he holds the room, not that someone has it
    stack.send.click(
        BOB, ids.FIND_BOOK, book["value"], channel="C0GENERAL", message_ts="5", ephemeral=True
    )
    again = stack.fake.wait_for_responses(count=2)[-1].body["text"]
    assert "You already hold room 301 for that time: booking #3" in again, again
    assert "taken by" not in again
    # the room is no longer found for that time
    again = stack.send.command(AL, "find 6 now 30m projector").json
    assert "Studio" not in again["text"] and "Hall (401)" in again["text"]


def test_change_opens_the_booking_form_prefilled(stack: Stack) -> None:
    answer = stack.send.command(BOB, "find 2 tomorrow 10:00 1h").json
    [change, _] = _buttons(answer["blocks"], ids.FIND_EDIT)
    stack.send.click(BOB, ids.FIND_EDIT, change["value"], channel="C0GENERAL", message_ts="5")
    view = stack.fake.wait_for("views.open")[-1].params["view"]
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks[ids.ROOM_BLOCK]["element"]["initial_option"]["value"] == "102"
    assert blocks[ids.DATE_BLOCK]["element"]["initial_date"] == "2026-12-02"
    assert blocks[ids.START_BLOCK]["element"]["initial_time"] == "10:00"
    assert blocks[ids.END_BLOCK]["element"]["initial_time"] == "11:00"


def test_find_a_room_from_app_home(stack: Stack) -> None:
    stack.send.event({"type": "app_home_opened", "user": BOB, "tab": "home"})
    stack.delivered("views.publish")
    home = stack.home_of(BOB)
    assert any(b.get("accessory", {}).get("action_id") == ids.FIND for b in home["blocks"])
    opened = len(stack.fake.calls_to("views.open"))
    stack.send.click(BOB, ids.FIND, "home", view=home)
    form = stack.fake.shown_view(opened)  # after a placeholder, if Bob's zone is not cached
    assert form["callback_id"] == ids.FIND_MODAL
    values = {
        ids.FIND_PEOPLE_BLOCK: {ids.FIND_PEOPLE_ACTION: {"type": "number_input", "value": "10"}},
        ids.FIND_DATE_BLOCK: {
            ids.FIND_DATE_ACTION: {"type": "datepicker", "selected_date": "2026-12-02"}
        },
        ids.FIND_START_BLOCK: {
            ids.FIND_START_ACTION: {"type": "timepicker", "selected_time": "10:00"}
        },
        ids.FIND_LENGTH_BLOCK: {
            ids.FIND_LENGTH_ACTION: {"type": "static_select", "selected_option": {"value": "60"}}
        },
        ids.FIND_TAGS_BLOCK: {ids.FIND_TAGS_ACTION: {"type": "plain_text_input", "value": ""}},
    }
    reply = stack.send.submit(BOB, form, values)
    assert reply.json["response_action"] == "update"
    results = reply.json["view"]
    [book] = _buttons(results["blocks"], ids.FIND_BOOK)  # only the Board room seats 10
    assert '"room":"201"' in book["value"]
    updated = len(stack.fake.calls_to("views.update"))
    stack.send.click(
        BOB, ids.FIND_BOOK, book["value"], view={**results, "id": "V123", "type": "modal"}
    )
    update = stack.fake.wait_for("views.update", updated + 1)[-1].params
    assert update["view_id"] == "V123"
    assert "Requested room 201" in update["view"]["blocks"][0]["text"]["text"]
    [booked] = bookings(stack.engine)
    assert booked["starts_at"].isoformat() == "2026-12-02T01:00:00+00:00"  # 10:00 in Seoul


def test_a_user_group_members_request_is_approved_without_a_card_decision(stack: Stack) -> None:
    stack.fake.add_usergroup("S0TEAM", [AL])
    stack.container.bus.handle(
        commands.UpdateRoom("201", by="cli", auto_approve_groups=("S0TEAM",))
    )
    reply = stack.send.command(AL, "201 2026-12-02 10:00-11:00 Offsite prep")
    assert "approved by policy" in reply.text
    bob = stack.send.command(BOB, "201 2026-12-03 10:00-11:00")
    assert "Requested room 201" in bob.text
    stack.deliver()
    # one usergroups.users.list for both requests: its answer is cached
    [lookup] = stack.fake.calls_to("usergroups.users.list")
    assert lookup.params["usergroup"] == "S0TEAM"
    [first, second] = bookings(stack.engine)
    assert (first["status"], first["decided_by"]) == (BookingStatus.APPROVED, "policy")
    assert second["status"] == BookingStatus.PENDING
    cards = {c.params["text"].split(":")[0]: c.params for c in stack.cards()}
    approved = cards["Room request #1"]
    assert not _buttons(approved["blocks"], ids.APPROVE)
    assert "Approved by policy" in approved["blocks"][-1]["elements"][0]["text"]
    assert "S0TEAM" in approved["blocks"][-1]["elements"][0]["text"]
    assert _buttons(cards["Room request #2"]["blocks"], ids.APPROVE)
    [dm] = stack.dms_to(AL)
    assert "approved" in dm.params["text"].lower()
    logged = [(e["type"], e["actor"]) for e in events(stack.engine) if e["booking_id"] == 1]
    assert logged == [("BookingRequested", AL), ("BookingApproved", "policy")]
    # the read model keeps which policy decided
    listed = {r["booking_id"]: r for r in booking_list(stack.engine)}
    assert (listed[1]["decided_by"], listed[1]["policy"]) == ("policy", "group:S0TEAM")
    assert listed[2]["policy"] is None


def test_a_room_approver_approves_their_room_and_is_refused_on_another(stack: Stack) -> None:
    stack.container.bus.handle(commands.UpdateRoom("201", by="cli", approvers=(AL,)))
    stack.send.command(BOB, "201 2026-12-02 10:00-11:00")
    stack.send.command(BOB, "102 2026-12-02 10:00-11:00")
    stack.deliver()
    card = next(c for c in stack.cards() if "#1" in c.params["text"])
    assert f"<@{AL}>" in card.params["blocks"][-1]["elements"][0]["text"]  # the card names them

    stack.send.click(AL, ids.APPROVE, "1", channel=APPROVALS, message_ts="1.1")
    stack.send.click(AL, ids.APPROVE, "2", channel=APPROVALS, message_ts="1.2")
    refused = stack.replies()[-1]
    assert "approvers of room 102" in refused.body["text"]
    assert stack.fake.calls_to("chat.postEphemeral") == []  # fails where the bot is no member
    deadline = time.monotonic() + 5
    while bookings(stack.engine)[0]["status"] != BookingStatus.APPROVED:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    first, second = bookings(stack.engine)
    assert first["decided_by"] == AL
    assert second["status"] == BookingStatus.PENDING
    stack.send.click(ADMIN, ids.APPROVE, "2", channel=APPROVALS, message_ts="1.2")
    deadline = time.monotonic() + 5
    while bookings(stack.engine)[1]["status"] != BookingStatus.APPROVED:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_with_email_off_no_answer_promises_an_email(stack: Stack) -> None:
    assert not stack.container.settings.email_enabled
    help_ = stack.send.command(BOB, "help").text
    assert "you get a DM at each step" in help_ and "email" not in help_
    assert "until an admin or the room's policy approves it" in help_  # not only admins
    assert "email" not in stack.send.command(BOB, "frobnicate").text
    one_line = stack.send.command(BOB, "102 2026-12-02 10:00-11:00").text
    assert "You'll get a DM once" in one_line and "email" not in one_line
    view = {"callback_id": ids.BOOK_MODAL, "private_metadata": json.dumps({"tz": "Asia/Seoul"})}
    sent = stack.send.submit(BOB, view, booking_values("201", "2026-12-02", "10:00", "11:00"))
    note = json.dumps(sent.json["view"]["blocks"])
    assert "You'll get a DM once" in note and "email" not in note


def test_an_acked_book_click_is_already_stored(stack: Stack) -> None:
    answer = stack.send.command(BOB, "find 2 tomorrow 10:00 1h").json
    [book, _] = _buttons(answer["blocks"], ids.FIND_BOOK)
    reply = stack.send.click(BOB, ids.FIND_BOOK, book["value"], channel="C0GENERAL", message_ts="5")
    assert reply.status == 200
    [booked] = bookings(stack.engine)  # committed before the ack
    assert booked["room_id"] == "102" and booked["booker"] == BOB
    assert "Requested room 102," in stack.fake.wait_for_responses()[-1].body["text"]


def test_the_find_forms_open_before_users_info_is_asked(stack: Stack) -> None:
    """The trigger expires 3 s after the click: the find form (and the booking form from a
    result's Change) open before Slack is asked the clicker's zone, then show it."""
    stack.fake.add_user(NEW, tz="Asia/Tokyo", name="Nao")
    stack.fake.delay("users.info", 1.0)
    home = {"type": "home", "blocks": []}
    assert stack.send.click(NEW, ids.FIND, "home", view=home).status == 200
    form = stack.fake.shown_view()
    methods = [c.method for c in stack.fake.calls if c.method in ("views.open", "users.info")]
    assert methods[:2] == ["views.open", "users.info"]
    assert form["callback_id"] == ids.FIND_MODAL
    assert '"tz": "Asia/Tokyo"' in form["private_metadata"].replace('":"', '": "')

    answer = stack.send.command(BOB, "find 2 tomorrow 10:00 1h").json
    [change, _] = _buttons(answer["blocks"], ids.FIND_EDIT)
    stack.container.directory.forget(NEW)
    opened = len(stack.fake.calls_to("views.open"))
    asked = len(stack.fake.calls_to("users.info"))
    stack.send.click(NEW, ids.FIND_EDIT, change["value"], channel="C0GENERAL", message_ts="5")
    edit = stack.fake.shown_view(opened)
    later = [c.method for c in stack.fake.calls if c.method in ("views.open", "users.info")]
    assert later[opened + asked :][:2] == ["views.open", "users.info"]
    assert '"tz": "Asia/Tokyo"' in edit["private_metadata"].replace('":"', '": "')


def test_a_request_past_a_quota_is_refused_on_the_forms_field_with_what_is_left(
    database_url: str, engine: Engine, clock: FixedClock, fake_slack: StrictSlackApi
) -> None:
    with running_stack(
        database_url,
        engine,
        clock,
        fake_slack,
        quota_hours_per_week=2,
        quota_bookings_per_week=2,
    ) as stack:
        view = {"callback_id": ids.BOOK_MODAL, "private_metadata": json.dumps({"tz": "Asia/Seoul"})}

        def submit(room: str, date: str, start: str, end: str) -> dict[str, Any]:
            reply = stack.send.submit(BOB, view, booking_values(room, date, start, end))
            assert reply.status == 200
            return dict(reply.json)

        assert "errors" not in submit("201", "2026-12-02", "10:00", "11:30")
        over = submit("102", "2026-12-03", "10:00", "11:00")
        assert over["response_action"] == "errors"
        assert "You have 30 minutes left that week" in over["errors"][ids.END_BLOCK], over
        assert "errors" not in submit("102", "2026-12-03", "10:00", "10:30")  # exactly the limit
        third = submit("102", "2026-12-04", "10:00", "10:15")
        assert third["response_action"] == "errors", third
        assert third["errors"][ids.DATE_BLOCK].startswith("You have 2 active bookings that week.")
        assert [b["status"] for b in bookings(stack.engine)] == [BookingStatus.PENDING] * 2
        # an admin is exempt
        admin = stack.send.submit(
            ADMIN, view, booking_values("201", "2026-12-04", "10:00", "13:00")
        )
        assert "errors" not in admin.json


def test_an_admin_sets_a_rooms_attributes_and_policy_in_the_room_form(stack: Stack) -> None:
    def room_form() -> dict[str, Any]:
        opened = len(stack.fake.calls_to("views.open"))
        stack.send.click(
            ADMIN, ids.ROOM_EDIT, "201", channel="C0GENERAL", message_ts="5", ephemeral=True
        )
        return dict(stack.fake.wait_for("views.open", opened + 1)[-1].params["view"])

    def typed(value: str) -> dict[str, Any]:
        return {"value": value}

    def ticked(value: str) -> dict[str, Any]:
        return {"selected_options": [{"value": value}]}

    values = {
        ids.ROOM_NAME_BLOCK: {ids.ROOM_NAME_ACTION: typed("Board room")},
        ids.ROOM_CAPACITY_BLOCK: {ids.ROOM_CAPACITY_ACTION: typed("12")},
        ids.ROOM_ACTIVE_BLOCK: {ids.ROOM_ACTIVE_ACTION: ticked("active")},
        ids.ROOM_LOCATION_BLOCK: {ids.ROOM_LOCATION_ACTION: typed("HQ 3F")},
        ids.ROOM_TAGS_BLOCK: {ids.ROOM_TAGS_ACTION: typed("Projector, #video")},
        ids.ROOM_POLICY_BLOCK: {ids.ROOM_POLICY_ACTION: ticked("auto")},
        ids.ROOM_GROUPS_BLOCK: {ids.ROOM_GROUPS_ACTION: typed("")},
        ids.ROOM_APPROVERS_BLOCK: {ids.ROOM_APPROVERS_ACTION: typed(f"<@{AL}>")},
    }
    assert stack.send.submit(ADMIN, room_form(), values).json is None

    again = json.dumps(room_form()["blocks"], ensure_ascii=False)  # the form shows what was stored
    assert '"initial_value": "HQ 3F"' in again and '"initial_value": "projector, video"' in again
    listed = json.dumps(stack.send.command(BOB, "rooms").json["blocks"], ensure_ascii=False)
    assert "Board room* (201) · 12 people · HQ 3F · `projector`, `video`" in listed
    assert "approved on request" in listed and f"approvers: <@{AL}>" in listed
    opened = len(stack.fake.calls_to("views.open"))
    stack.send.command(BOB, "")
    form = stack.fake.wait_for("views.open", opened + 1)[-1].params["view"]
    assert "Board room (201) · 12 people · HQ 3F · projector, video" in json.dumps(
        form, ensure_ascii=False
    )
    # the policy applies at once
    assert "approved by policy" in stack.send.command(BOB, "201 2026-12-02 10:00-11:00").text
