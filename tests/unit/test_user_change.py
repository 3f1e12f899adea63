"""Slack's ``user_change`` event: the listener's data path (the directory's cache, the release of
someone deactivated) and what the admins are told about a departed approver or admin."""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.blocks import Block

from bot.domain import commands, events
from bot.domain.model import BookingStatus, Room
from bot.handlers.events import user_changed
from bot.notifications.notice import Departure, Unattended
from bot.services.handlers import Context
from bot.services.messagebus import MessageBus
from bot.services.ports import Channel
from bot.views.i18n import use_locale
from bot.views.notifications import departure_message, unattended_message
from tests.unit.fakes import FakeUnitOfWork, FixedClock, Store
from tests.unit.test_departed import ADMIN, ADMIN2, BOOKER, NOW, OTHER, Slack, book, directory


class FakeDeps:
    def __init__(self, slack: Slack) -> None:
        self.directory = directory(slack)
        self.store = Store()
        self.bus = MessageBus(lambda: FakeUnitOfWork(self.store), Context(clock=FixedClock(NOW)))
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
    assert deps.store.member_changes == [(BOOKER, False)]  # for the other processes' caches


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
    assert deps.store.member_changes == [(BOOKER, True)]


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
    assert deps.store.member_changes == []


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


# --- approvers through user groups, and rooms left with no one to decide -------------------------

TEAM, LONE, THIRD = "S0TEAM", "S0LONE", "UTHIRD"


class Groups:
    """User groups as ``usergroups.users.list`` answers (still naming who left: cached)."""

    def __init__(self, groups: dict[str, frozenset[str] | None]) -> None:
        self.groups = groups

    def members(self, group_id: str) -> frozenset[str] | None:
        return self.groups.get(group_id, frozenset())


def grouped(store: Store, admins: set[str], **groups: frozenset[str] | None) -> MessageBus:
    """Rooms 301 (approved by the team group, BOOKER and OTHER in it) and 302 (by a group of
    BOOKER alone) besides 102 and 201; ``groups`` overrides a group's members."""
    store.rooms["301"] = Room("301", "Team room", 6, approvers=[TEAM])
    store.rooms["302"] = Room("302", "Lab", 6, approvers=[LONE])
    members = {TEAM: frozenset({BOOKER, OTHER}), LONE: frozenset({BOOKER})} | groups
    context = Context(admins=frozenset(admins), clock=FixedClock(NOW), groups=Groups(members))
    return MessageBus(lambda: FakeUnitOfWork(store), context)


def channel_notes(store: Store) -> list[Unattended]:
    return [
        Unattended.from_payload(m.payload)
        for m in store.outbox
        if m.recipient == "approvals" and Unattended.is_one(m.payload)
    ]


def test_rooms_approved_through_a_user_group_are_named_with_the_group(store: Store) -> None:
    bus = grouped(store, {ADMIN, ADMIN2})
    bus.handle(commands.ReleaseDeparted(BOOKER, quiet=True))
    [first, second] = told(store)
    assert first == second
    assert first.approver_of == (("102", "Board room"),)
    assert first.through_groups == (("301", "Team room", TEAM), ("302", "Lab", LONE))
    assert first.no_approver_left == ("302",)  # 102 keeps OTHER, 301 the team's other member
    assert Departure.from_payload(first.to_payload()) == first
    assert channel_notes(store) == []  # the admins still decide every room


def test_approving_only_through_a_group_is_not_nothing_to_tell(store: Store) -> None:
    bus = grouped(store, {ADMIN}, S0LONE=frozenset({THIRD}))
    bus.handle(commands.ReleaseDeparted(THIRD, quiet=True))
    [dm] = told(store)
    assert dm.approver_of == () and dm.through_groups == (("302", "Lab", LONE),)


def test_a_group_slack_cannot_list_is_not_said_to_be_empty(store: Store) -> None:
    bus = grouped(store, set(), S0TEAM=None)
    bus.handle(commands.ReleaseDeparted(OTHER, quiet=True))
    # 201 had OTHER alone; 301's group could not be read, so no one claims it has nobody
    [note] = channel_notes(store)
    assert note.rooms == (("201", "Small room"),)


def test_with_no_admin_a_room_left_with_nobody_is_warned_and_posted_to_the_channel(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    bus = grouped(store, set())
    with caplog.at_level(logging.WARNING, logger="bot.services.handlers"):
        bus.handle(commands.ReleaseDeparted(BOOKER, quiet=True))
    assert told(store) == []  # ADMIN_USER_IDS names nobody to DM
    [note] = channel_notes(store)
    assert (note.user, note.rooms, note.admin) == (BOOKER, (("302", "Lab"),), False)
    [post] = [
        m for m in store.outbox if m.recipient == "approvals" and Unattended.is_one(m.payload)
    ]
    assert post.channel == Channel.CARD and post.event_id == events.member_left_id(BOOKER)
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert BOOKER in warning.getMessage() and "302" in warning.getMessage()
    assert "ADMIN_USER_IDS" in warning.getMessage()


def test_the_last_admin_leaving_strands_every_room_without_approvers(store: Store) -> None:
    store.rooms["401"] = Room("401", "Quiet room", 2)
    store.rooms["402"] = Room("402", "Booth", 1, auto_approve=True)  # approves on its own
    store.rooms["403"] = Room("403", "Old", 4, active=False)
    bus = grouped(store, {ADMIN})
    bus.handle(commands.ReleaseDeparted(ADMIN, quiet=True))
    [note] = channel_notes(store)
    assert note.admin and note.rooms == (("401", "Quiet room"),)
    assert Unattended.from_payload(note.to_payload()) == note


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_the_admins_dm_names_the_groups_and_the_rooms_with_no_approver_left(locale: str) -> None:
    departure = Departure(
        BOOKER,
        NOW,
        approver_of=(("102", "Board room"),),
        through_groups=(("301", "Team room", TEAM), ("302", "Lab", LONE)),
        no_approver_left=("102", "302"),
    )
    with use_locale(locale):
        message = departure_message(departure, ZoneInfo("Asia/Seoul"))
    for block in message["blocks"]:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
    body = "\n".join(b["text"]["text"] for b in message["blocks"] if b["type"] == "section")
    assert f"<!subteam^{TEAM}>" in body and f"<!subteam^{LONE}>" in body
    no_one = "no approver of its own left" if locale == "en" else "자체 승인자가 없습니다"
    assert body.count(no_one) == 2
    said = "as a member of a user group" if locale == "en" else "사용자 그룹"
    assert said in body


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_the_channel_note_says_who_can_fix_it(locale: str) -> None:
    note = Unattended(BOOKER, NOW, (("302", "Lab <x>"),), admin=True)
    with use_locale(locale):
        message = unattended_message(note)
    for block in message["blocks"]:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
    body = str(message)
    assert f"<@{BOOKER}>" in body and "Lab &lt;x&gt;" in body
    assert "ADMIN_USER_IDS" in body and "python -m bot rooms edit" in body
    assert ("nobody can approve" if locale == "en" else "아무도") in body
