"""Calendar feeds end to end: a link from App Home (a signed click), the feed from the app's
HTTP server, read by two independent iCalendar parsers; its events are the email invites'."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import vobject
from icalendar import Calendar
from sqlalchemy import Engine

from bot.adapters.feeds import room_scope
from bot.bootstrap import feed_store
from bot.demo.loopback import Inbox
from bot.domain import commands as c
from bot.views import ids
from tests.conftest import ADMIN, FixedClock
from tests.e2e.conftest import Stack, mailing_stack
from tests.fakes.slack_api import StrictSlackApi

KIM = "UKIM"  # reads Slack in Korean
PUBLIC = "https://rooms.example.com"


@pytest.fixture
def feeds(
    database_url: str, engine: Engine, clock: FixedClock, fake_slack: StrictSlackApi
) -> Iterator[tuple[Stack, Inbox]]:
    fake_slack.add_user(KIM, tz="Asia/Seoul", email="kim@example.com", name="Kim", locale="ko-KR")
    with mailing_stack(database_url, engine, clock, fake_slack, public_base_url=PUBLIC) as running:
        yield running


def _get(
    stack: Stack, path: str, method: str = "GET", etag: str | None = None
) -> tuple[int, Any, bytes]:
    headers = {"If-None-Match": etag} if etag else {}
    request = urllib.request.Request(stack.server.url + path, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def _new_link(stack: Stack, user: str) -> str:
    """Click App Home's *New feed link*; the path of the link the modal shows."""
    before = len(stack.fake.calls_to("views.open"))
    assert stack.send.click(user, ids.FEED_LINK, "user", view={"type": "home"}).status == 200
    stack.until(lambda: len(stack.fake.calls_to("views.open")) > before)
    return _link_in(stack.fake.calls_to("views.open")[-1].params["view"])


def _link_in(view: dict[str, Any]) -> str:
    [url] = set(re.findall(re.escape(PUBLIC) + r"/calendar/[A-Za-z0-9_-]+\.ics", str(view)))
    return url.removeprefix(PUBLIC)


def _invite_uid(inbox: Inbox, address: str) -> str:
    for received in inbox.wait_for(1):
        if address in received.rcpt_tos:
            for part in received.message.walk():
                if part.get_content_type() == "text/calendar":
                    data = part.get_payload(decode=True)
                    assert isinstance(data, bytes)
                    [event] = Calendar.from_ical(data).walk("VEVENT")
                    return str(event["uid"])
    raise AssertionError(f"no invite to {address}")


def test_a_feed_link_from_app_home_serves_the_invites_events_and_follows_changes(
    feeds: tuple[Stack, Inbox],
) -> None:
    stack, inbox = feeds
    bus, now = stack.container.bus, stack.clock.now
    start = now + timedelta(hours=2)
    booking = bus.handle(c.RequestBooking("102", start, start + timedelta(hours=1), KIM, "Plan"))
    bus.handle(c.ApproveBooking(booking, by=ADMIN))
    stack.deliver()
    invite_uid = _invite_uid(inbox, "kim@example.com")

    path = _new_link(stack, KIM)
    status, headers, body = _get(stack, path)
    assert status == 200 and headers["Content-Type"].startswith("text/calendar")

    # icalendar and vobject read the same event, named as the invite is: one calendar object
    [event] = Calendar.from_ical(body).walk("VEVENT")
    assert str(event["uid"]) == invite_uid
    assert event.decoded("dtstart") == start
    assert str(event["status"]) == "CONFIRMED"
    assert str(event["description"]) == "예약 상태: 승인"  # Kim's language
    parsed = vobject.readOne(body.decode())
    [other] = parsed.vevent_list
    assert other.uid.value == invite_uid
    assert other.dtstart.value == start and other.dtend.value == start + timedelta(hours=1)
    assert other.summary.value == "Plan"

    # polls: an unchanged feed answers 304 to its ETag; HEAD has the headers and no body
    etag = headers["ETag"]
    assert _get(stack, path, etag=etag)[0] == 304
    head_status, head_headers, head_body = _get(stack, path, "HEAD")
    assert (head_status, head_headers["ETag"], head_body) == (200, etag, b"")

    # a change shows at the next poll
    bus.handle(c.CancelBooking(booking, by=KIM))
    status, changed, body = _get(stack, path, etag=etag)
    assert status == 200 and changed["ETag"] != etag
    [cancelled] = vobject.readOne(body.decode()).vevent_list
    assert (cancelled.uid.value, cancelled.status.value) == (invite_uid, "CANCELLED")

    # a new link: the old one answers 404
    rotated = _new_link(stack, KIM)
    assert rotated != path
    assert _get(stack, path)[0] == 404
    assert _get(stack, rotated)[0] == 200


def test_an_admin_gets_a_room_feed_link_from_book_rooms(feeds: tuple[Stack, Inbox]) -> None:
    stack, _inbox = feeds
    bus, now = stack.container.bus, stack.clock.now
    start = now + timedelta(hours=2)
    booking = bus.handle(c.RequestBooking("201", start, start + timedelta(hours=1), KIM, "Plan"))

    reply = stack.send.command(ADMIN, "rooms").json
    [picker] = [
        b["accessory"]
        for b in reply["blocks"]
        if b.get("accessory", {}).get("action_id") == ids.FEED_ROOM_LINK
    ]
    assert [o["value"] for o in picker["options"]] == ["102", "201"]
    assert ids.FEED_ROOM_LINK not in str(stack.send.command(KIM, "rooms").json)

    opened = len(stack.fake.calls_to("views.open"))
    action = {
        "type": "static_select",
        "action_id": ids.FEED_ROOM_LINK,
        "block_id": "feeds",
        "selected_option": picker["options"][1],
        "action_ts": "1.0",
    }
    picked = stack.send.interact(
        {
            "type": "block_actions",
            "user": {"id": ADMIN, "username": "admin", "team_id": "T0ROOMBOT"},
            "trigger_id": stack.fake.issue_trigger_id(),
            "actions": [action],
            "container": {"type": "message", "message_ts": "7", "is_ephemeral": True},
            "response_url": stack.fake.issue_response_url("actions"),
        }
    )
    assert picked.status == 200
    stack.until(lambda: len(stack.fake.calls_to("views.open")) > opened)
    status, _headers, body = _get(stack, _link_in(stack.fake.calls_to("views.open")[-1].params))
    assert status == 200
    [slot] = vobject.readOne(body.decode()).vevent_list
    assert (slot.summary.value, slot.status.value) == ("Busy", "TENTATIVE")
    assert slot.uid.value.startswith(f"booking-{booking}-") and "description" not in slot.contents


def test_a_room_feed_names_a_booker_by_the_name_slack_gave_the_app(
    feeds: tuple[Stack, Inbox],
) -> None:
    """The served room feed (details shown) takes bookers' names from the app's users.info
    cache: Kim, who used the app, by name; someone it never looked up, not at all."""
    stack, _inbox = feeds
    bus, now = stack.container.bus, stack.clock.now
    bus.handle(c.UpdateRoom("201", by="cli", feed_details=True))
    start = now + timedelta(hours=2)
    bus.handle(c.RequestBooking("201", start, start + timedelta(hours=1), KIM, "Plan"))
    later = start + timedelta(hours=2)
    bus.handle(c.RequestBooking("201", later, later + timedelta(hours=1), "USTRANGER", "Demo"))
    assert stack.send.command(KIM, "rooms").status == 200  # the app looks Kim up
    stack.listeners.wait_idle()

    token = feed_store(stack.engine, stack.container.settings).issue(ADMIN, room_scope("201"))
    status, _headers, body = _get(stack, f"/calendar/{token}.ics")
    assert status == 200
    shown = {
        e.summary.value: e.contents.get("description", [None])[0]
        for e in vobject.readOne(body.decode()).vevent_list
    }
    assert shown["Demo"] is None
    assert shown["Plan"] is not None and shown["Plan"].value == "Booked by Kim"
    assert b"UKIM" not in body and b"USTRANGER" not in body
