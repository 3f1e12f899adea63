"""Someone's bookings for an admin, and a room's for anyone, over signed HTTP with the strict fake
Slack: ``/book list @someone`` (Slack sends the mention as ``<@U123|name>``) or a member ID, with
the buttons an admin has on a card (Approve, Deny, Change, and Cancel with a reason the booker
reads), and ``/book list <room>``, read only for everyone else. Every answer goes through the
response_url or the ack: the bot is not in #general, where the commands are typed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.domain import commands
from bot.domain.model import BookingStatus
from bot.views import ids
from tests.conftest import ADMIN, FixedClock
from tests.e2e.conftest import AL, APPROVALS, BOB, GENERAL, Stack, running_stack
from tests.e2e.slack_client import Reply, booking_values
from tests.e2e.test_languages import korean_only, texts_of
from tests.fakes.slack_api import StrictSlackApi
from tests.integration.helpers import bookings

MINA = "UMINA"  # an admin who reads Slack in Korean


@pytest.fixture
def admins(
    database_url: str, engine: Engine, clock: FixedClock, fake_slack: StrictSlackApi
) -> Iterator[Stack]:
    fake_slack.add_user(
        MINA, tz="Asia/Seoul", email="mina@example.com", name="미나", locale="ko-KR"
    )
    with running_stack(
        database_url, engine, clock, fake_slack, admin_user_ids=f"{ADMIN},{MINA}"
    ) as running:
        yield running


def _answer(stack: Stack, reply: Reply) -> dict[str, Any]:
    """A command's answer: in its ack, or (users.info was slow) through its response_url."""
    assert reply.status == 200
    if not reply.body:
        return dict(stack.replies()[-1].body)
    if reply.body.startswith(b"{"):
        return dict(reply.json)
    return {"text": reply.text}  # Bolt answers an ack with text alone as plain text


def _list(stack: Stack, user: str, text: str) -> dict[str, Any]:
    return _answer(stack, stack.send.command(user, f"list {text}".strip()))


def _buttons(message: dict[str, Any], action_id: str) -> list[tuple[str, str]]:
    """(value, block id) of each of the message's buttons with ``action_id``."""
    return [
        (e["value"], b.get("block_id", ""))
        for b in message.get("blocks", [])
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    ]


def _status(stack: Stack, booking_id: int) -> str | None:
    return {b["id"]: b["status"] for b in bookings(stack.engine)}.get(booking_id)


def _bobs_two_bookings(stack: Stack) -> None:
    """#1 waits for approval, #2 is approved (Bob's zone is Asia/Seoul)."""
    for line in ("102 2026-12-02 10:00-11:00 Planning", "201 2026-12-03 14:00-15:00 Retro"):
        assert stack.send.command(BOB, line).status == 200
    stack.until(lambda: len(bookings(stack.engine)) == 2)
    stack.container.bus.handle(commands.ApproveBooking(2, by=ADMIN))
    stack.fake.refill_limits()
    stack.deliver()


def _click(stack: Stack, user: str, action_id: str, button: tuple[str, str]) -> int:
    """Click a button of an ephemeral list in #general; how many response_url posts came
    before it."""
    seen = len(stack.fake.wait_for_responses(0))
    value, block_id = button
    reply = stack.send.click(
        user, action_id, value, channel=GENERAL, message_ts="9", ephemeral=True, block_id=block_id
    )
    assert reply.status == 200
    return seen


def test_an_admin_lists_someones_bookings_and_acts_on_them(admins: Stack) -> None:
    stack = admins
    _bobs_two_bookings(stack)
    listing = _list(stack, ADMIN, f"<@{BOB}|bob>")
    assert f"<@{BOB}> has 2 upcoming bookings." == listing["text"]
    seen = texts_of(listing["blocks"])
    assert "Upcoming bookings of" in seen and "Planning" in seen and "(Europe/Berlin)" in seen
    [(approve, _)] = _buttons(listing, ids.APPROVE)
    [cancel] = _buttons(listing, ids.ADMIN_CANCEL)
    assert approve == "1" and cancel[0] == "2" and len(_buttons(listing, ids.CHANGE)) == 2
    assert _list(stack, ADMIN, BOB)["text"] == listing["text"]  # a member ID typed as it is

    # Cancel asks for the reason first; the submit cancels and shows the list again in place
    opened = len(stack.fake.calls_to("views.open"))
    seen_posts = _click(stack, ADMIN, ids.ADMIN_CANCEL, cancel)
    form = stack.fake.wait_for("views.open", opened + 1)[-1].params["view"]
    assert form["callback_id"] == ids.CANCEL_MODAL
    values = {ids.REASON_BLOCK: {ids.REASON_ACTION: {"value": "The board <meets> there"}}}
    assert stack.send.submit(ADMIN, form, values).status == 200
    assert _status(stack, 2) == BookingStatus.CANCELLED
    again = stack.fake.wait_for_responses(seen_posts + 1)[seen_posts]
    assert again.status == 200 and again.body["replace_original"] in (True, "true")
    assert "Booking #2 is cancelled." in texts_of(again.body["blocks"])
    assert _buttons(again.body, ids.ADMIN_CANCEL) == []  # only #1 is left
    stack.fake.refill_limits()
    stack.deliver()
    dm = stack.dms_to(BOB)[-1].params
    assert "cancelled by an admin" in dm["text"]
    assert "*Reason:* The board &lt;meets&gt; there" in texts_of(dm["blocks"])
    card = stack.fake.calls_to("chat.update")[-1].params
    assert card["channel"] == APPROVALS
    assert "“The board &lt;meets&gt; there”" in texts_of(card["blocks"])

    # Approve in the list: the list again, saying so, with the request's buttons gone
    seen_posts = _click(stack, ADMIN, ids.APPROVE, _buttons(listing, ids.APPROVE)[0])
    stack.until(lambda: _status(stack, 1) == BookingStatus.APPROVED)
    again = stack.fake.wait_for_responses(seen_posts + 1)[seen_posts]
    assert "Booking #1 is approved." in texts_of(again.body["blocks"])
    assert _buttons(again.body, ids.APPROVE) == [] and len(_buttons(again.body, ids.ADMIN_CANCEL))


def test_someone_elses_list_is_for_admins_and_a_rooms_for_everyone(admins: Stack) -> None:
    stack = admins
    _bobs_two_bookings(stack)
    for target in (f"<@{BOB}|bob>", BOB):
        refused = _list(stack, AL, target)
        assert "Only admins can see someone else's bookings" in refused["text"]
        assert "blocks" not in refused
    own = _list(stack, BOB, f"<@{BOB}|bob>")  # naming oneself is one's own list
    assert own["text"] == "You have 2 upcoming bookings." and _buttons(own, ids.CANCEL)

    room = _list(stack, AL, "102")
    assert room["text"] == "Small room (102) has 1 upcoming booking."
    shown = texts_of(room["blocks"])
    assert f"Requested by <@{BOB}>" in shown and "(America/New_York)" in shown
    assert "Planning" not in shown  # the room's feed does not show titles
    assert all(b["type"] != "actions" for b in room["blocks"])
    by_name = _list(stack, AL, "board ROOM")
    assert by_name["text"] == "Board room (201) has 1 upcoming booking."

    admin_view = _list(stack, ADMIN, "102")
    assert "Planning" in texts_of(admin_view["blocks"]) and _buttons(admin_view, ids.APPROVE)

    unknown = _list(stack, AL, "&lt;nowhere&gt; &amp;")  # as Slack escapes what was typed
    assert "“&lt;nowhere&gt; &amp;” is neither a room nor a person" in unknown["text"]


def test_a_long_list_pages(admins: Stack) -> None:
    stack = admins
    for day in range(1, 24):
        line = f"102 2026-12-{day + 1:02d} 10:00-11:00"
        assert stack.send.command(BOB, line).status == 200
    stack.until(lambda: len(bookings(stack.engine)) == 23)
    listing = _list(stack, ADMIN, f"<@{BOB}|bob>")
    assert len(listing["blocks"]) <= 50 and len(_buttons(listing, ids.APPROVE)) == 20
    [later] = _buttons(listing, ids.LIST_PAGE)
    assert json.loads(later[0]) == ["user", BOB, 20]
    seen = _click(stack, ADMIN, ids.LIST_PAGE, later)
    page = stack.fake.wait_for_responses(seen + 1)[seen].body
    assert "Bookings 21–23 of 23." in texts_of(page["blocks"])
    assert [v for v, _ in _buttons(page, ids.APPROVE)] == ["21", "22", "23"]
    # a page button's list is checked again: not an admin, not someone else's bookings
    seen = _click(stack, AL, ids.LIST_PAGE, later)
    refused = stack.fake.wait_for_responses(seen + 1)[seen].body
    assert "Only admins" in refused["text"] and "blocks" not in refused


def test_in_korean(admins: Stack) -> None:
    stack = admins
    _bobs_two_bookings(stack)
    listing = _list(stack, MINA, f"<@{BOB}|bob>")
    assert "Upcoming" not in listing["text"]
    for text in texts_of(listing).splitlines():
        korean_only("someone's bookings", text.replace("Planning", "").replace("Retro", ""))
    room = _list(stack, MINA, "201")
    korean_only("a room's bookings", texts_of(room))
    cancel = _buttons(listing, ids.ADMIN_CANCEL)[0]
    opened = len(stack.fake.calls_to("views.open"))
    seen = _click(stack, MINA, ids.ADMIN_CANCEL, cancel)
    form = stack.fake.wait_for("views.open", opened + 1)[-1].params["view"]
    korean_only("cancel form", texts_of(form))
    values = {ids.REASON_BLOCK: {ids.REASON_ACTION: {"value": "이사회"}}}
    assert stack.send.submit(MINA, form, values).status == 200
    again = stack.fake.wait_for_responses(seen + 1)[seen].body
    korean_only("the list again", texts_of(again))
    stack.fake.add_user("UJUN", tz="Asia/Seoul", email="jun@example.com", name="준", locale="ko-KR")
    korean_only("refused", _list(stack, "UJUN", f"<@{BOB}|bob>")["text"])
    korean_only("nothing to list", _list(stack, "UJUN", "없는방")["text"])


def test_a_deny_from_the_list_shows_the_list_again(admins: Stack) -> None:
    stack = admins
    _bobs_two_bookings(stack)
    listing = _list(stack, ADMIN, f"<@{BOB}|bob>")
    opened = len(stack.fake.calls_to("views.open"))
    seen = _click(stack, ADMIN, ids.DENY, _buttons(listing, ids.DENY)[0])
    form = stack.fake.wait_for("views.open", opened + 1)[-1].params["view"]
    assert form["callback_id"] == ids.DENY_MODAL
    values = {ids.REASON_BLOCK: {ids.REASON_ACTION: {"value": "Taken for the offsite"}}}
    assert stack.send.submit(ADMIN, form, values).status == 200
    assert _status(stack, 1) == BookingStatus.DENIED
    again = stack.fake.wait_for_responses(seen + 1)[seen].body
    assert "Booking #1 is denied." in texts_of(again["blocks"])
    assert again["text"].endswith(f"<@{BOB}> has 1 upcoming booking.")


def test_a_one_line_title_reads_as_typed_though_slack_escapes_it(admins: Stack) -> None:
    # with should_escape, Slack sends & < > as entities and a mention as <@U...|name>
    sent = "102 2026-12-02 10:00-11:00 Sync &amp; &lt;plan&gt; with <@UAL|al>"
    assert admins.send.command(BOB, sent).status == 200
    admins.until(lambda: len(bookings(admins.engine)) == 1)
    assert bookings(admins.engine)[0]["title"] == "Sync & <plan> with @al"


def test_a_change_from_the_list_shows_the_list_again(admins: Stack) -> None:
    stack = admins
    _bobs_two_bookings(stack)
    listing = _list(stack, ADMIN, f"<@{BOB}|bob>")
    change = next(b for b in _buttons(listing, ids.CHANGE) if b[0] == "2")
    opened = len(stack.fake.calls_to("views.open"))
    seen = _click(stack, ADMIN, ids.CHANGE, change)
    form = stack.fake.wait_for("views.open", opened + 1)[-1].params["view"]
    assert json.loads(form["private_metadata"])["back"]["list"] == json.dumps(["user", BOB, 0])
    # the form is in the admin's zone: 14:00 in Seoul is 06:00 in Berlin
    values = booking_values("201", "2026-12-03", "06:00", "07:00", "Retro, moved up")
    assert stack.send.submit(ADMIN, form, values).status == 200
    again = stack.fake.wait_for_responses(seen + 1)[seen].body
    assert "Booking #2 is changed." in texts_of(again["blocks"])
    assert "Retro, moved up" in texts_of(again["blocks"])
