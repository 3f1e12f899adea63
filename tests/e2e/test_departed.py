"""A booker leaves the workspace, end to end: the next DM to them finds them gone, their bookings
are released, the card says why, the person waiting for the slot gets the offer, and the admins
get one DM."""

from __future__ import annotations

from sqlalchemy import Engine

from bot.domain.commands import UpdateRoom
from bot.domain.model import BookingStatus
from bot.views import ids
from tests.conftest import ADMIN, FixedClock
from tests.e2e.conftest import AL, APPROVALS, BOB, Stack, running_stack
from tests.e2e.test_change_booking import _status_becomes
from tests.e2e.test_slack_app import _card_update, _texts
from tests.fakes.slack_api import StrictSlackApi
from tests.integration.helpers import bookings, outbox

LABS = "S0LABS"


def test_a_booker_who_left_is_released_and_the_admins_told_once(stack: Stack) -> None:
    assert "booking #1" in stack.send.command(BOB, "102 2026-12-02 10:00-11:00 Planning").text
    assert "booking #2" in stack.send.command(BOB, "201 2026-12-03 10:00-11:00 Review").text
    stack.deliver()  # Bob's "received" DMs: his profile is cached now
    assert len(stack.dms_to(BOB)) == 2
    refused = stack.send.command(AL, "102 2026-12-01 20:00-21:00 Al's sync").json
    [wait] = [e for b in refused["blocks"] if b["type"] == "actions" for e in b["elements"]]
    stack.send.click(AL, ids.WAIT, wait["value"], channel="C0GENERAL", message_ts="9")
    stack.fake.wait_for_responses()

    stack.fake.delete_user(BOB)  # an admin deactivates Bob's account
    stack.send.click(ADMIN, ids.APPROVE, "1", channel=APPROVALS, message_ts="1")
    _status_becomes(stack, 1, BookingStatus.APPROVED)
    stack.deliver()  # the approval DM is refused: Bob left, and his bookings are released
    stack.deliver()  # what the release wrote: the cards, the admin's DM, Al's offer

    assert {b["id"]: b["status"] for b in bookings(stack.engine)} == {
        1: BookingStatus.CANCELLED,
        2: BookingStatus.CANCELLED,
    }
    *received, approved = stack.dms_to(
        BOB, tried=True
    )  # the approval was refused; nothing more tried
    assert len(received) == 2 and approved.response["error"] == "channel_not_found"
    to_bob = [r for r in outbox(stack.engine) if r["recipient"] == BOB and r["channel"] == "dm"]
    assert {r["status"] for r in to_bob} == {"sent", "skipped"}
    assert all(r["status"] == "sent" or "left the workspace" in r["last_error"] for r in to_bob)
    assert "left the workspace" in _texts(_card_update(stack)["blocks"])
    [told] = stack.dms_to(ADMIN)
    assert f"<@{BOB}>" in told.params["text"]
    assert "#1" in _texts(told.params["blocks"]) and "#2" in _texts(told.params["blocks"])
    assert "A slot you were waiting for is free" in stack.dms_to(AL)[-1].params["text"]

    # Slack keeps saying Bob is gone (a late row, another worker): the admins hear it once
    stack.container.dispatcher.on_departed(BOB)  # type: ignore[misc]
    stack.deliver()
    assert len(stack.dms_to(ADMIN)) == 1


def test_an_approver_through_a_group_who_leaves_the_last_one_is_said_in_the_channel(
    database_url: str, engine: Engine, clock: FixedClock, fake_slack: StrictSlackApi
) -> None:
    """No admin is named, and room 102's requests were decided by a user group whose only member
    was Al: once he leaves, nobody can decide them, which the log and the approvals channel say.
    Room 201 keeps its approver and is not named."""
    fake_slack.add_usergroup(LABS, [AL])
    with running_stack(database_url, engine, clock, fake_slack, admin_user_ids="") as stack:
        stack.container.bus.handle(UpdateRoom("102", by="cli", approvers=(LABS,)))
        stack.container.bus.handle(UpdateRoom("201", by="cli", approvers=(LABS, BOB)))
        assert "booking #1" in stack.send.command(BOB, "102 2026-12-02 10:00-11:00 Sync").text
        stack.deliver()
        cards = len(stack.cards())

        stack.fake.delete_user(AL)
        stack.container.dispatcher.on_departed(AL)  # type: ignore[misc]  # as a DM would find
        stack.deliver()

        [note] = stack.cards()[cards:]
        assert "ts" not in note.params  # a post of its own, not a card's update
        text = _texts(note.params["blocks"])
        assert f"<@{AL}>" in text and "nobody can approve or deny" in text
        assert "Room 102" in text and "Room 201" not in text
        assert "ADMIN_USER_IDS" in text
        stack.container.dispatcher.on_departed(AL)  # type: ignore[misc]  # said again: once
        stack.deliver()
        assert len(stack.cards()) == cards + 1
