"""Slack's ``user_change`` event: the listener's data path (the directory's cache, the release of
someone deactivated) and what the admins are told about a departed approver or admin."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.blocks import Block

from bot.domain import commands
from bot.domain.model import BookingStatus, Room
from bot.handlers.events import user_changed
from bot.notifications.notice import Departure
from bot.services.handlers import Context
from bot.services.messagebus import MessageBus
from bot.services.ports import Channel
from bot.views.i18n import use_locale
from bot.views.notifications import departure_message
from tests.unit.fakes import FakeUnitOfWork, FixedClock, Store
from tests.unit.test_departed import ADMIN, ADMIN2, BOOKER, NOW, OTHER, Slack, book, directory


class FakeDeps:
    def __init__(self, slack: Slack) -> None:
        self.directory = directory(slack)
        self.released: list[str] = []
        self.release_departed = self.released.append


def change(user_id: str, **fields: Any) -> dict[str, Any]:
    """A ``user_change`` event as Slack sends it: the member's object, without ``locale``."""
    return {"type": "user_change", "user": {"id": user_id, "tz": "Asia/Seoul", **fields}}


def test_a_profile_change_drops_the_cached_profile_and_releases_no_one() -> None:
    slack = Slack()
    slack.add(BOOKER)
    deps = FakeDeps(slack)
    assert deps.directory.tz(BOOKER) == ZoneInfo("Asia/Seoul")
    slack.users[BOOKER]["tz"] = "Europe/London"

    user_changed(change(BOOKER, tz="Europe/London", deleted=False), {"deps": deps})

    assert deps.directory.cached(BOOKER) is None
    assert deps.directory.tz(BOOKER) == ZoneInfo("Europe/London")  # asked again, with locale
    assert slack.info_calls == 2
    assert deps.released == []


def test_a_deactivated_member_is_gone_at_once_and_released() -> None:
    slack = Slack()
    slack.add(BOOKER)
    deps = FakeDeps(slack)
    deps.directory.profile(BOOKER)

    user_changed(change(BOOKER, deleted=True), {"deps": deps})

    gone = deps.directory.cached(BOOKER)
    assert gone is not None and gone.gone
    assert deps.released == [BOOKER]
    assert slack.info_calls == 1  # the event said it: Slack is not asked


def test_the_senders_share_the_listeners_cache() -> None:
    slack = Slack()
    slack.add(BOOKER)
    deps = FakeDeps(slack)
    senders = deps.directory.through(slack)  # type: ignore[arg-type]
    senders.profile(BOOKER)

    user_changed(change(BOOKER, deleted=True), {"deps": deps})

    gone = senders.cached(BOOKER)
    assert gone is not None and gone.gone
    assert slack.info_calls == 1


@pytest.mark.parametrize("event", [{"type": "user_change"}, {"user": "UBOOKER"}, change("")])
def test_an_event_without_a_member_does_nothing(event: dict[str, Any]) -> None:
    deps = FakeDeps(Slack())
    user_changed(event, {"deps": deps})
    assert deps.released == [] and len(deps.directory) == 0


# --- what the admins are told --------------------------------------------------------------------


@pytest.fixture
def store() -> Store:
    store = Store()
    store.rooms["102"] = Room("102", "Board room", 10, approvers=[BOOKER, OTHER])
    store.rooms["201"] = Room("201", "Small room", 4, approvers=[OTHER])
    return store


@pytest.fixture
def bus(store: Store) -> MessageBus:
    context = Context(admins=frozenset({ADMIN, ADMIN2}), clock=FixedClock(NOW))
    return MessageBus(lambda: FakeUnitOfWork(store), context)


def told(store: Store) -> list[Departure]:
    return [
        Departure.from_payload(m.payload)
        for m in store.outbox
        if m.channel == Channel.DM and Departure.is_one(m.payload)
    ]


def test_a_quiet_release_of_someone_with_nothing_here_tells_no_one(
    bus: MessageBus, store: Store
) -> None:
    assert bus.handle(commands.ReleaseDeparted("USTRANGER", quiet=True)) == 0
    assert told(store) == []
    assert bus.handle(commands.ReleaseDeparted("USTRANGER")) == 0  # then a DM finds them gone
    assert len(told(store)) == 2  # each admin, once


def test_a_quiet_release_that_freed_bookings_tells_the_admins(
    bus: MessageBus, store: Store
) -> None:
    booking_id = book(bus, 2, by="UTHIRD")
    assert bus.handle(commands.ReleaseDeparted("UTHIRD", quiet=True)) == 1
    assert store.bookings[booking_id].status == BookingStatus.CANCELLED
    assert [[b.booking_id for b in d.bookings] for d in told(store)] == [[booking_id]] * 2
    bus.handle(commands.ReleaseDeparted("UTHIRD"))  # the notification path, later
    assert len(told(store)) == 2


def test_an_approver_who_left_is_named_with_their_rooms(bus: MessageBus, store: Store) -> None:
    bus.handle(commands.ReleaseDeparted(BOOKER, quiet=True))  # no bookings, but an approver
    [first, _] = told(store)
    assert first.approver_of == (("102", "Board room"),)
    assert not first.admin
    assert Departure.from_payload(first.to_payload()) == first


def test_an_admin_who_left_is_named_as_one(bus: MessageBus, store: Store) -> None:
    bus.handle(commands.ReleaseDeparted(ADMIN2, quiet=True))
    [dm] = told(store)
    assert dm.admin and dm.approver_of == ()


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_the_admins_dm_says_what_to_fix(locale: str) -> None:
    rooms = tuple((f"R{i}", f"Room <{i}>") for i in range(12))
    departure = Departure(BOOKER, NOW, (), rooms, admin=True)
    with use_locale(locale):
        message = departure_message(departure, ZoneInfo("Asia/Seoul"))
    for block in message["blocks"]:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
    body = "\n".join(b["text"]["text"] for b in message["blocks"] if b["type"] == "section")
    assert "R0" in body and "R9" in body and "R10" not in body  # the rest counted
    assert "Room &lt;0&gt;" in body
    assert "/book rooms" in body
    assert "ADMIN_USER_IDS" in body and BOOKER in body
    if locale == "ko":
        assert "승인자" in body and "다시 시작" in body
    else:
        assert "approve requests for these 12 rooms" in body


def test_an_old_departure_payload_has_nothing_to_fix() -> None:
    payload = Departure(BOOKER, NOW).to_payload()
    del payload["approver_of"], payload["admin"]
    assert Departure.from_payload(payload) == Departure(BOOKER, NOW)
