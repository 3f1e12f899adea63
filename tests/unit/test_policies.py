"""Policies through the message bus: auto-approval per room and per user group, weekly quotas,
room approvers; each decision recorded as an event and in the read model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import commands, events
from bot.domain.errors import NotAllowed, QuotaExceeded
from bot.domain.model import BookingStatus, Room
from bot.domain.rules import Quota, check_quota, week_of
from bot.services.handlers import Context
from bot.services.messagebus import MessageBus
from bot.services.ports import Channel
from tests.unit.fakes import FakeUnitOfWork, FixedClock, Store

ADMIN, BOOKER, OTHER, APPROVER = "UADMIN", "UBOOKER", "UOTHER", "UAPPROVER"
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # a Monday


class Groups:
    """Slack user groups as ``usergroups.users.list`` would answer; ``None``: Slack is down."""

    def __init__(self, groups: dict[str, frozenset[str] | None]) -> None:
        self.groups = groups
        self.asked: list[str] = []

    def members(self, group_id: str) -> frozenset[str] | None:
        self.asked.append(group_id)
        return self.groups.get(group_id, frozenset())


@pytest.fixture
def store() -> Store:
    store = Store()
    store.rooms["102"] = Room("102", "Phone booth", 1, auto_approve=True)
    store.rooms["201"] = Room(
        "201",
        "Board room",
        12,
        auto_approve_groups=["S0TEAM"],
        approvers=[APPROVER, "S0LEADS"],
    )
    store.rooms["301"] = Room("301", "Studio", 6)
    return store


def make_bus(store: Store, **context: object) -> MessageBus:
    groups = Groups({"S0TEAM": frozenset({BOOKER}), "S0LEADS": frozenset({"ULEAD"})})
    values: dict[str, object] = {"admins": frozenset({ADMIN}), "clock": FixedClock(NOW)}
    values["groups"] = groups
    values.update(context)
    return MessageBus(lambda: FakeUnitOfWork(store), Context(**values))  # type: ignore[arg-type]


def at(hours: float) -> datetime:
    return NOW + timedelta(hours=hours)


def request(bus: MessageBus, room: str, start: float = 2, end: float = 3, by: str = BOOKER) -> int:
    booking_id: int = bus.handle(commands.RequestBooking(room, at(start), at(end), by))
    return booking_id


def approvals_of(store: Store, booking_id: int) -> list[events.BookingApproved]:
    return [
        e
        for e in store.event_log
        if isinstance(e, events.BookingApproved) and e.booking_id == booking_id
    ]


def test_an_auto_approve_room_approves_on_creation_and_says_so_once(store: Store) -> None:
    booking_id = request(make_bus(store), "102")
    booking, row = store.bookings[booking_id], store.booking_list[booking_id]
    assert booking.status == BookingStatus.APPROVED and booking.decided_by == "policy"
    assert (row.status, row.decided_by, row.policy) == (BookingStatus.APPROVED, "policy", "room")
    [approved] = approvals_of(store, booking_id)
    assert (approved.actor, approved.policy, approved.at) == ("policy", "room", NOW)
    assert [type(e).__name__ for e in store.event_log] == ["BookingRequested", "BookingApproved"]
    # the booker hears once, that it is approved (DM and email with the invite), and the card
    # is posted in its approved state
    kinds = {(m.channel, m.payload.get("kind")) for m in store.outbox}
    assert (Channel.DM, "approved") in kinds and (Channel.EMAIL, "approved") in kinds
    assert not any(m.payload.get("kind") == "requested" for m in store.outbox)
    assert any(m.channel == Channel.CARD for m in store.outbox)


def test_a_room_needing_approval_stays_pending(store: Store) -> None:
    booking_id = request(make_bus(store), "301")
    assert store.bookings[booking_id].status == BookingStatus.PENDING
    assert store.booking_list[booking_id].policy is None
    assert approvals_of(store, booking_id) == []


def test_a_group_member_is_approved_for_a_listed_room_only(store: Store) -> None:
    bus = make_bus(store)
    member = request(bus, "201")
    assert store.booking_list[member].policy == "group:S0TEAM"
    assert store.bookings[member].status == BookingStatus.APPROVED
    outsider = request(bus, "201", 4, 5, by=OTHER)
    assert store.bookings[outsider].status == BookingStatus.PENDING
    elsewhere = request(bus, "301", 4, 5)
    assert store.bookings[elsewhere].status == BookingStatus.PENDING


def test_groups_approved_for_every_room(store: Store) -> None:
    bus = make_bus(store, auto_approve_groups=("S0TEAM",))
    booking_id = request(bus, "301")
    assert store.booking_list[booking_id].policy == "group:S0TEAM"


def test_a_group_slack_cannot_answer_for_leaves_the_decision_to_people(store: Store) -> None:
    bus = make_bus(store, groups=Groups({"S0TEAM": None}))
    booking_id = request(bus, "201")
    assert store.bookings[booking_id].status == BookingStatus.PENDING


def test_a_policy_change_does_not_rewrite_past_decisions(store: Store) -> None:
    bus = make_bus(store)
    before = request(bus, "102")
    bus.handle(commands.UpdateRoom("102", by=ADMIN, auto_approve=False))
    after = request(bus, "102", 4, 5)
    assert store.bookings[before].status == BookingStatus.APPROVED
    assert store.booking_list[before].policy == "room"
    assert store.bookings[after].status == BookingStatus.PENDING
    assert len(approvals_of(store, before)) == 1


def test_racing_auto_approved_requests_leave_one_winner(store: Store) -> None:
    bus = make_bus(store)
    request(bus, "102")
    with pytest.raises(Exception, match="already booked"):
        request(bus, "102", 2.5, 3.5, by=OTHER)
    assert [b.status for b in store.bookings.values()] == [BookingStatus.APPROVED]


# --- room approvers ------------------------------------------------------------------------------


def test_a_room_approver_decides_that_room_only(store: Store) -> None:
    bus = make_bus(store)
    mine = request(bus, "201", by=OTHER)
    other_room = request(bus, "301", by=OTHER)
    bus.handle(commands.ApproveBooking(mine, by=APPROVER))
    assert store.bookings[mine].decided_by == APPROVER
    with pytest.raises(NotAllowed, match="approvers of room 301"):
        bus.handle(commands.ApproveBooking(other_room, by=APPROVER))
    with pytest.raises(NotAllowed):
        bus.handle(commands.DenyBooking(other_room, by=APPROVER))
    assert store.bookings[other_room].status == BookingStatus.PENDING


def test_members_of_an_approver_group_decide_and_admins_still_may(store: Store) -> None:
    bus = make_bus(store)
    first = request(bus, "201", by=OTHER)
    second = request(bus, "201", 4, 5, by=OTHER)
    bus.handle(commands.DenyBooking(first, by="ULEAD", reason="Board only"))
    bus.handle(commands.ApproveBooking(second, by=ADMIN))
    assert store.bookings[first].status == BookingStatus.DENIED
    assert store.bookings[second].decided_by == ADMIN


# --- quotas --------------------------------------------------------------------------------------


def test_hours_quota_allows_reaching_the_limit_and_refuses_past_it(store: Store) -> None:
    bus = make_bus(store, quota=Quota(hours=3))
    request(bus, "301", 2, 4)
    request(bus, "301", 5, 6)  # exactly 3 hours
    with pytest.raises(QuotaExceeded, match="You have 0 hours left that week") as caught:
        request(bus, "301", 7, 7.5)
    assert caught.value.field == "end"


def test_hours_quota_says_what_is_left(store: Store) -> None:
    bus = make_bus(store, quota=Quota(hours=3))
    request(bus, "301", 2, 4)
    with pytest.raises(QuotaExceeded, match=r"1 hour left that week \(limit 3 hours\)"):
        request(bus, "301", 5, 6.5)


def test_bookings_quota_counts_active_bookings_of_the_week(store: Store) -> None:
    bus = make_bus(store, quota=Quota(bookings=2))
    first = request(bus, "301", 2, 3)
    request(bus, "301", 4, 5)
    with pytest.raises(QuotaExceeded, match="2 active bookings that week; the limit is 2") as e:
        request(bus, "301", 6, 7)
    assert e.value.field == "date"
    bus.handle(commands.CancelBooking(first, by=BOOKER))  # a cancelled one frees its place
    request(bus, "301", 6, 7)
    request(bus, "301", 24 * 7 + 1, 24 * 7 + 2)  # next week counts on its own


def test_admins_are_exempt_from_quotas(store: Store) -> None:
    bus = make_bus(store, quota=Quota(hours=1, bookings=1))
    for n in range(3):
        request(bus, "301", 2 + 2 * n, 4 + 2 * n, by=ADMIN)


def test_weeks_start_on_monday_in_the_organisations_zone() -> None:
    from zoneinfo import ZoneInfo

    seoul = ZoneInfo("Asia/Seoul")
    start, end = week_of(datetime(2026, 11, 29, 16, 0, tzinfo=UTC), seoul)  # Mon 01:00 Seoul
    assert start == datetime(2026, 11, 30, 0, 0, tzinfo=seoul)
    assert end - start == timedelta(days=7)
    check_quota(Quota(), [(NOW, NOW + timedelta(hours=99))], NOW, NOW + timedelta(hours=1))
