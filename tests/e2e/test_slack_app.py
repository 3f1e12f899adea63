"""End to end: signed requests into the HTTP app; the real Slack client against a fake Slack API.

Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.adapters import orm
from bot.domain import commands
from bot.domain.model import BookingStatus
from bot.views import ids
from bot.views.home import pages_of
from tests.conftest import ADMIN
from tests.e2e.conftest import AL, APPROVALS, BOB, Stack
from tests.e2e.slack_client import booking_values
from tests.integration.helpers import approvals, bookings, outbox


def _texts(blocks: list[dict]) -> str:
    """All the text of some blocks, to assert on what a person would read."""
    out = []
    for block in blocks:
        for key in ("text",):
            if isinstance(block.get(key), dict):
                out.append(block[key]["text"])
        for item in block.get("fields", []) + block.get("elements", []):
            if isinstance(item, dict) and "text" in item:
                text = item["text"]
                out.append(text["text"] if isinstance(text, dict) else text)
    return "\n".join(out)


def _actions(blocks: list[dict]) -> list[str]:
    found = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    found += [b["accessory"]["action_id"] for b in blocks if "accessory" in b]
    return found


def _request_by_modal(
    stack: Stack, user: str, room: str, day: str, start: str, end: str, title: str = ""
):
    opened = len(stack.fake.calls_to("views.open"))
    assert stack.send.command(user).status == 200
    view = stack.fake.shown_view(opened)
    return stack.send.submit(user, view, booking_values(room, day, start, end, title))


def _card_update(stack: Stack) -> dict:
    return stack.fake.calls_to("chat.update")[-1].params


def test_the_original_scenario_end_to_end(stack: Stack) -> None:
    # Bob (Asia/Seoul) books through the modal: the app opens it prefilled in his zone
    reply = _request_by_modal(stack, BOB, "102", "2026-12-02", "10:00", "11:00", "Weekly sync")
    assert reply.status == 200
    assert reply.json["response_action"] == "update"
    assert "Booking #1" in json.dumps(reply.json["view"])
    [first] = bookings(stack.engine)
    assert first["starts_at"].isoformat() == "2026-12-02T01:00:00+00:00"  # 10:00 in Seoul

    stack.deliver()
    [card] = stack.cards()
    assert _actions(card.params["blocks"]) == [ids.APPROVE, ids.DENY, ids.CHANGE]
    assert "<!date^" in _texts(card.params["blocks"])  # each reader sees their own zone
    assert card.params["text"]  # fallback text for notifications and screen readers
    assert "waiting for approval" in stack.dms_to(BOB)[-1].params["text"].lower()
    assert "Weekly sync" in _texts(stack.home_of(BOB)["blocks"])
    assert ids.APPROVE in _actions(stack.home_of(ADMIN)["blocks"])

    # the admin approves on the card; the card keeps only Change and says who decided
    ts = "1700000000.000100"
    assert stack.send.click(ADMIN, ids.APPROVE, "1", channel=APPROVALS, message_ts=ts).status == 200
    stack.until(lambda: bookings(stack.engine)[0]["status"] == BookingStatus.APPROVED)
    stack.deliver()
    update = _card_update(stack)
    assert update["channel"] == APPROVALS and update["ts"]
    assert _actions(update["blocks"]) == [ids.CHANGE]
    assert f"Approved by <@{ADMIN}>" in _texts(update["blocks"])
    assert "approved" in stack.dms_to(BOB)[-1].params["text"].lower()

    # Bob books again, in one line; the admin denies with a reason from the modal
    reply = stack.send.command(BOB, "102 2026-12-02 14:00-15:00 Retro")
    assert reply.status == 200 and "booking #2" in reply.text
    stack.deliver()
    opened = len(stack.fake.calls_to("views.open"))
    stack.send.click(ADMIN, ids.DENY, "2", channel=APPROVALS, message_ts="2")
    deny_view = stack.fake.wait_for("views.open", opened + 1)[-1].params["view"]
    assert deny_view["callback_id"] == ids.DENY_MODAL
    reason = {
        ids.REASON_BLOCK: {
            ids.REASON_ACTION: {"type": "plain_text_input", "value": "Floor is closed"}
        }
    }
    assert stack.send.submit(ADMIN, deny_view, reason).status == 200
    stack.deliver()
    assert "Denied by" in _texts(_card_update(stack)["blocks"])
    assert "Floor is closed" in _texts(_card_update(stack)["blocks"])
    assert "Floor is closed" in json.dumps(stack.dms_to(BOB)[-1].params)

    # Bob cancels the approved booking: the saga drops its approval record, the card says so
    reply = stack.send.command(BOB, "cancel 1")
    assert "cancelled" in reply.text
    stack.deliver()
    assert "Cancelled by requester" in _texts(_card_update(stack)["blocks"])
    assert [a["booking_id"] for a in approvals(stack.engine)] == [2]
    statuses = {b["id"]: b["status"] for b in bookings(stack.engine)}
    assert statuses == {1: BookingStatus.CANCELLED, 2: BookingStatus.DENIED}
    # exactly one card per booking, updated in place
    assert len(stack.cards()) == 2


def test_only_admins_decide_and_a_refusal_changes_nothing(stack: Stack) -> None:
    stack.send.command(BOB, "102 2026-12-02 10:00-11:00")
    stack.deliver()
    before = len(stack.fake.calls_to("chat.update"))
    assert stack.send.click(AL, ids.APPROVE, "1", channel=APPROVALS, message_ts="1").status == 200
    refusal = stack.replies()[-1]
    assert "Only admins" in refusal.body["text"]
    stack.send.click(AL, ids.DENY, "1", channel=APPROVALS, message_ts="1")
    stack.replies(count=2)
    assert stack.fake.calls_to("chat.postEphemeral") == []  # fails where the bot is no member
    stack.deliver()
    assert bookings(stack.engine)[0]["status"] == BookingStatus.PENDING
    assert len(stack.fake.calls_to("chat.update")) == before
    assert stack.fake.calls_to("views.open") == []


def test_a_second_click_on_a_decided_card_is_a_polite_no_op(stack: Stack) -> None:
    stack.send.command(BOB, "102 2026-12-02 10:00-11:00")
    stack.deliver()
    stack.send.click(ADMIN, ids.APPROVE, "1", channel=APPROVALS, message_ts="1")
    stack.until(lambda: bookings(stack.engine)[0]["status"] == BookingStatus.APPROVED)
    stack.deliver()
    events_before = len(stack.fake.calls_to("chat.postMessage"))
    stack.send.click(ADMIN, ids.DENY, "1", channel=APPROVALS, message_ts="1")
    note = stack.replies()[-1].body["text"]
    assert "already approved" in note and "Nothing was changed" in note
    stack.deliver()
    assert bookings(stack.engine)[0]["status"] == BookingStatus.APPROVED
    assert len(stack.fake.calls_to("chat.postMessage")) == events_before


def test_a_taken_slot_names_the_holder_and_a_way_out(stack: Stack) -> None:
    _request_by_modal(stack, BOB, "102", "2026-12-02", "10:00", "11:00", "Sync")
    reply = _request_by_modal(stack, AL, "102", "2026-12-01", "20:30", "21:30")  # NY = 01:30 UTC
    assert reply.json["response_action"] == "update"
    message = _texts(reply.json["view"]["blocks"])
    assert "taken by Bob until 21:00" in message  # 02:00 UTC, in Al's New York time
    assert "Free from Tue 1 Dec, 21:00–22:00 (America/New_York)" in message
    assert "Board room (201)" in message
    assert len(bookings(stack.engine)) == 1


@pytest.mark.parametrize(
    ("day", "start", "end", "block", "words"),
    [
        # an end before the start is the next day: 23 hours, past the maximum length
        ("2026-12-02", "11:00", "10:00", ids.END_BLOCK, "at most 8 hours"),
        ("2026-12-01", "08:00", "09:00", ids.START_BLOCK, "in the past"),  # now is 17:00 Seoul
        ("2026-12-02", "09:00", "18:00", ids.END_BLOCK, "at most 8 hours"),
        ("2027-06-01", "09:00", "10:00", ids.DATE_BLOCK, "at most 90 days ahead"),
    ],
)
def test_bad_times_come_back_on_the_right_field(
    stack: Stack, day: str, start: str, end: str, block: str, words: str
) -> None:
    reply = _request_by_modal(stack, BOB, "102", day, start, end)
    assert reply.json["response_action"] == "errors"
    assert list(reply.json["errors"]) == [block]
    assert words in reply.json["errors"][block]
    assert bookings(stack.engine) == []


def test_times_are_read_and_shown_in_each_users_own_zone(stack: Stack) -> None:
    _request_by_modal(stack, AL, "201", "2026-12-02", "09:00", "10:00", "NY standup")
    [booking] = bookings(stack.engine)
    assert booking["starts_at"].isoformat() == "2026-12-02T14:00:00+00:00"
    stack.deliver()
    assert "Wed 2 Dec, 09:00–10:00 (America/New_York)" in _texts(stack.home_of(AL)["blocks"])
    admin_home = _texts(stack.home_of(ADMIN)["blocks"])
    assert "Wed 2 Dec, 15:00–16:00 (Europe/Berlin)" in admin_home
    listing = stack.send.command(AL, "list").json
    assert "09:00–10:00 (America/New_York)" in _texts(listing["blocks"])


def test_requests_with_a_bad_signature_or_a_stale_timestamp_are_refused(stack: Stack) -> None:
    assert stack.send.command(BOB, "", secret="not-the-secret").status == 401
    assert (
        stack.send.command(
            BOB, "102 2026-12-02 10:00-11:00", timestamp=int(time.time()) - 600
        ).status
        == 401
    )
    assert (
        stack.send.event({"type": "app_home_opened", "user": BOB, "tab": "home"}, secret="x").status
        == 401
    )
    assert bookings(stack.engine) == []
    assert stack.fake.calls_to("views.open") == [] and stack.fake.calls_to("views.publish") == []


def test_an_event_retried_by_slack_has_one_effect(stack: Stack) -> None:
    event = {"type": "app_home_opened", "user": BOB, "channel": "DBOB", "tab": "home"}
    assert stack.send.event(event, event_id="Ev0RETRY").status == 200
    stack.delivered("views.publish")
    retry = stack.send.event(
        event,
        event_id="Ev0RETRY",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert retry.status == 200
    stack.send.event({**event, "tab": "messages"})  # a different event: handled, publishes nothing
    time.sleep(0.3)
    stack.deliver()
    assert len(stack.fake.calls_to("views.publish")) == 1


def test_home_tab_books_lists_and_cancels(stack: Stack) -> None:
    stack.send.event({"type": "app_home_opened", "user": BOB, "tab": "home"})
    home = stack.delivered("views.publish")[-1].params["view"]
    assert home["type"] == "home" and ids.OPEN_BOOK_MODAL in _actions(home["blocks"])
    stack.send.click(BOB, ids.OPEN_BOOK_MODAL, "home", view=home)
    assert stack.last_view()["callback_id"] == ids.BOOK_MODAL

    stack.send.command(BOB, "102 2026-12-02 10:00-11:00 Planning")
    stack.deliver()
    home = stack.home_of(BOB)
    assert ids.CANCEL in _actions(home["blocks"])
    published = len(stack.fake.calls_to("views.publish"))
    stack.send.click(BOB, ids.CANCEL, "1", view=home)
    stack.delivered("views.publish", count=published + 1)
    assert bookings(stack.engine)[0]["status"] == BookingStatus.CANCELLED
    assert "cancelled" in _texts(stack.home_of(BOB)["blocks"])


def test_list_and_cancel_from_the_ephemeral_list(stack: Stack) -> None:
    stack.send.command(BOB, "102 2026-12-02 10:00-11:00 Planning")
    listing = stack.send.command(BOB, "list").json
    assert ids.CANCEL in _actions(listing["blocks"]) and listing["text"]
    stack.send.click(BOB, ids.CANCEL, "1", channel="C0GENERAL", message_ts="9", ephemeral=True)
    [response] = stack.fake.wait_for_responses()
    assert response.status == 200 and "/actions/" in response.url
    assert response.body["replace_original"] in (True, "true")
    assert "is cancelled" in response.body["text"]
    # someone else's booking cannot be cancelled
    stack.send.command(BOB, "102 2026-12-03 10:00-11:00")
    assert "Only the person who booked it" in stack.send.command(AL, "cancel 2").text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("help", "/book list"),
        ("dance", "I don't know `/book dance`"),
        ("cancel", "Which booking?"),
        ("cancel 999", "There is no booking #999"),
        ("102 2026-13-40 10:00-11:00", "does not exist"),
        ("999 2026-12-02 10:00-11:00", "There is no room '999'"),
    ],
)
def test_subcommands_answer_with_help_or_a_specific_error(
    stack: Stack, text: str, expected: str
) -> None:
    reply = stack.send.command(BOB, text)
    assert reply.status == 200 and expected in reply.text


def test_admins_manage_rooms_in_slack(stack: Stack) -> None:
    rooms = stack.send.command(ADMIN, "rooms").json
    assert ids.ROOM_ADD in _actions(rooms["blocks"]) and ids.ROOM_EDIT in _actions(rooms["blocks"])
    assert ids.ROOM_ADD not in _actions(stack.send.command(BOB, "rooms").json["blocks"])
    stack.send.click(BOB, ids.ROOM_ADD, "new", channel="C0GENERAL", message_ts="5", ephemeral=True)
    assert "Only admins" in stack.replies()[-1].body["text"]

    opened = len(stack.fake.calls_to("views.open"))
    stack.send.click(
        ADMIN, ids.ROOM_ADD, "new", channel="C0GENERAL", message_ts="5", ephemeral=True
    )
    modal = stack.fake.wait_for("views.open", opened + 1)[-1].params["view"]
    values = {
        ids.ROOM_ID_BLOCK: {ids.ROOM_ID_ACTION: {"value": "301"}},
        ids.ROOM_NAME_BLOCK: {ids.ROOM_NAME_ACTION: {"value": "Loft"}},
        ids.ROOM_CAPACITY_BLOCK: {ids.ROOM_CAPACITY_ACTION: {"value": "8"}},
    }
    assert stack.send.submit(ADMIN, modal, values).json is None  # closes the modal
    duplicate = stack.send.submit(ADMIN, modal, values).json
    assert duplicate["errors"] == {ids.ROOM_ID_BLOCK: "Room 301 exists already."}

    stack.send.click(
        ADMIN, ids.ROOM_EDIT, "102", channel="C0GENERAL", message_ts="5", ephemeral=True
    )
    edit = stack.fake.wait_for("views.open", count=2)[-1].params["view"]
    values = {
        ids.ROOM_NAME_BLOCK: {ids.ROOM_NAME_ACTION: {"value": "Small room"}},
        ids.ROOM_CAPACITY_BLOCK: {ids.ROOM_CAPACITY_ACTION: {"value": "5"}},
        ids.ROOM_ACTIVE_BLOCK: {ids.ROOM_ACTIVE_ACTION: {"selected_options": []}},
    }
    assert stack.send.submit(ADMIN, edit, values).json is None
    with stack.engine.connect() as conn:
        rooms = {r.id: r for r in conn.execute(select(orm.rooms))}
    assert rooms["301"].name == "Loft" and rooms["301"].capacity == 8
    assert rooms["102"].capacity == 5 and rooms["102"].active is False
    assert "no longer available" in stack.send.command(BOB, "102 2026-12-02 10:00-11:00").text


def test_unexpected_errors_reach_the_user_and_the_log(stack: Stack, monkeypatch, caplog) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(stack.container.queries, "rooms", broken)
    reply = stack.send.click(BOB, ids.OPEN_BOOK_MODAL, "home", view={"type": "home"})
    assert reply.status == 200
    note = stack.fake.wait_for("chat.postMessage")[-1].params
    assert note["channel"] == BOB and "something went wrong" in note["text"]
    assert "database on fire" not in note["text"]
    assert any("unhandled error" in r.message and r.exc_info for r in caplog.records)


def test_health_and_readiness(stack: Stack) -> None:
    for path, expected in (("/healthz", "ok"), ("/readyz", "ready")):
        with urllib.request.urlopen(stack.server.url + path, timeout=5) as response:
            assert response.status == 200 and json.load(response)["status"] == expected


def test_an_undecided_request_expires_its_card_and_tells_the_booker(stack: Stack) -> None:
    stack.send.command(BOB, "102 2026-12-01 18:00-19:00 Too late")  # 09:00 UTC, an hour away
    stack.deliver()
    stack.clock.advance(timedelta(hours=1, minutes=1))
    assert stack.container.bus.handle(commands.ExpirePending()) == 1
    stack.deliver()
    card = _card_update(stack)
    assert _actions(card["blocks"]) == [] and "Expired" in _texts(card["blocks"])
    assert "expired" in stack.dms_to(BOB)[-1].params["text"].lower()
    assert stack.container.queries.booking(1).status == BookingStatus.EXPIRED
    assert "expired" in _texts(stack.home_of(BOB)["blocks"])


def test_show_more_pages_the_home_tab_through_the_outbox(stack: Stack) -> None:
    """The listener only writes a refresh row carrying the pages; the home sender publishes it,
    and a later refresh the click caused (an approval from the home tab) keeps them."""
    for hour in range(12):  # more than one page of upcoming bookings
        stack.send.command(BOB, f"102 2026-12-03 {hour:02d}:00-{hour:02d}:30 Slot {hour}")
    stack.deliver()
    home = stack.home_of(BOB)
    shown = _texts(home["blocks"]).count("Slot ")
    published = len(stack.fake.calls_to("views.publish"))
    stack.send.click(BOB, f"{ids.HOME_MORE}_upcoming", "upcoming", view=home)
    stack.delivered("views.publish", count=published + 1)
    paged = stack.home_of(BOB)
    assert _texts(paged["blocks"]).count("Slot ") > shown
    assert pages_of(paged) == {"upcoming": 2}
    [row] = [r for r in outbox(stack.engine) if r["channel"] == "home" and r["event_id"] is None]
    assert row["payload"] == {"pages": {"upcoming": 2}} and row["status"] == "sent"
