"""The message bus with in-memory storage: use cases, policies, the transaction and its hooks."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain import commands, events
from bot.domain.errors import (
    DuplicateRoom,
    InvalidBooking,
    InvalidTransition,
    NotAllowed,
    RoomInactive,
    RoomUnavailable,
    UnknownBooking,
    UnknownRoom,
)
from bot.domain.model import ApprovalStatus, BookingStatus, Room
from bot.notifications.notice import Notice
from bot.services.handlers import APPROVALS, EVENT_HANDLERS, Context, Handler
from bot.services.messagebus import AfterCommit, MessageBus
from bot.services.ports import BookingRow, Channel, OutboxMessage, Reader
from bot.services.unit_of_work import AbstractUnitOfWork
from tests.unit.fakes import FakeUnitOfWork, FixedClock, Store

BOOKER = "UBOOKER"
OTHER = "UOTHER"
ADMIN = "UADMIN"
ADMIN2 = "UADMIN2"
ADMINS = frozenset({ADMIN, ADMIN2})

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    """``hours`` after the tests' starting time."""
    return NOW + timedelta(hours=hours)


# --- fixtures and helpers -------------------------------------------------------------------------


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def store() -> Store:
    store = Store()
    store.rooms["102"] = Room("102", "Board room", 10)
    store.rooms["201"] = Room("201", "Focus room", 2)
    return store


class Recorder:
    """A unit-of-work factory that remembers the units of work it made."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.made: list[FakeUnitOfWork] = []

    def __call__(self) -> FakeUnitOfWork:
        uow = FakeUnitOfWork(self.store)
        self.made.append(uow)
        return uow


def make_bus(
    store: Store,
    clock: FixedClock,
    *,
    event_handlers: dict[type[events.Event], list[Handler]] | None = None,
    after_commit: Sequence[AfterCommit] = (),
) -> MessageBus:
    return MessageBus(
        lambda: FakeUnitOfWork(store),
        Context(admins=ADMINS, clock=clock),
        event_handlers=event_handlers,
        after_commit=after_commit,
    )


@pytest.fixture
def bus(store: Store, clock: FixedClock) -> MessageBus:
    return make_bus(store, clock)


def request(
    bus: MessageBus,
    *,
    room: str = "102",
    start: float = 2,
    end: float = 3,
    by: str = BOOKER,
    title: str = "Quarterly planning",
) -> int:
    booking_id: int = bus.handle(commands.RequestBooking(room, at(start), at(end), by, title))
    return booking_id


def state(store: Store) -> tuple[Any, ...]:
    """Everything committed, as plain values, to compare before and after a refused command."""
    return (
        {key: dataclasses.asdict(room) for key, room in store.rooms.items()},
        {key: dataclasses.asdict(booking) for key, booking in store.bookings.items()},
        {key: dataclasses.asdict(approval) for key, approval in store.approvals.items()},
        list(store.event_log),
        dict(store.booking_list),
        list(store.outbox),
    )


def last_event(store: Store) -> events.Event:
    return store.event_log[-1]


def messages_of(store: Store, event: events.Event) -> list[OutboxMessage]:
    return [message for message in store.outbox if message.event_id == event.event_id]


def addressed(messages: Sequence[OutboxMessage]) -> list[tuple[Channel, str]]:
    return sorted((message.channel, message.recipient) for message in messages)


def dm_of(store: Store, event: events.Event) -> dict[str, Any]:
    [dm] = [message for message in messages_of(store, event) if message.channel is Channel.DM]
    return dm.payload


# --- requesting -----------------------------------------------------------------------------------


def test_a_request_is_pending_with_its_read_model_row_approval_and_event(
    bus: MessageBus, store: Store
) -> None:
    booking_id = request(bus)

    booking = store.bookings[booking_id]
    assert booking.status is BookingStatus.PENDING
    assert store.booking_list[booking_id] == BookingRow(
        booking_id=booking_id,
        room_id=booking.room_id,
        room_name="Board room",
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        booker=booking.booker,
        title=booking.title,
        status=booking.status,
        requested_at=booking.requested_at,
    )
    assert (booking.starts_at, booking.ends_at, booking.requested_at) == (at(2), at(3), NOW)
    assert store.approvals[booking_id].status is ApprovalStatus.REQUESTED
    [event] = store.event_log
    assert isinstance(event, events.BookingRequested)
    assert (event.booking_id, event.actor, event.room_id) == (booking_id, BOOKER, "102")


def test_a_request_notifies_the_booker_the_approvers_and_every_home(
    bus: MessageBus, store: Store
) -> None:
    booking_id = request(bus)

    [event] = store.event_log
    assert addressed(store.outbox) == sorted(
        [
            (Channel.DM, BOOKER),
            (Channel.EMAIL, BOOKER),
            (Channel.CARD, APPROVALS),
            (Channel.HOME, BOOKER),
            (Channel.HOME, ADMIN),
            (Channel.HOME, ADMIN2),
        ]
    )
    assert all(message.event_id == event.event_id for message in store.outbox)
    dm = dm_of(store, event)
    assert (dm["kind"], dm["actor"]) == ("requested", BOOKER)
    assert dm["booking"]["booking_id"] == booking_id
    assert dm["booking"]["starts_at"] == at(2).isoformat()
    [email] = [m for m in store.outbox if m.channel is Channel.EMAIL]
    assert email.payload == dm
    [card] = [m for m in store.outbox if m.channel is Channel.CARD]
    assert card.payload == {"booking_id": booking_id}


def test_an_admin_booking_for_themselves_gets_one_home_refresh(
    bus: MessageBus, store: Store
) -> None:
    request(bus, by=ADMIN)

    homes = [m.recipient for m in store.outbox if m.channel is Channel.HOME]
    assert sorted(homes) == [ADMIN, ADMIN2]
    assert len(store.outbox) == 5


@pytest.mark.parametrize("decision", ["pending", "approved"])
def test_an_overlapping_request_is_told_who_holds_the_slot(
    bus: MessageBus, store: Store, decision: str
) -> None:
    first = request(bus, start=2, end=4, title="Board meeting")
    if decision == "approved":
        bus.handle(commands.ApproveBooking(first, ADMIN))
    before = state(store)

    with pytest.raises(RoomUnavailable) as error:
        request(bus, start=3, end=5, by=OTHER)

    conflict = error.value.conflict
    assert conflict is not None
    assert (conflict.booking_id, conflict.booker) == (first, BOOKER)
    assert (conflict.starts_at, conflict.ends_at, conflict.title) == (at(2), at(4), "Board meeting")
    assert error.value.room_id == "102"
    assert error.value.field == "start"
    assert f"by {BOOKER} from" in error.value.message
    assert "2026-12-01 10:00 to 12:00 UTC" in error.value.message
    assert state(store) == before


def test_touching_slots_and_other_rooms_are_free(bus: MessageBus, store: Store) -> None:
    request(bus, start=2, end=3)
    request(bus, start=3, end=4, by=OTHER)
    request(bus, start=1, end=2, by=OTHER)
    request(bus, room="201", start=2, end=3, by=OTHER)

    assert len(store.bookings) == 4


def test_an_unknown_room_is_refused(bus: MessageBus, store: Store) -> None:
    before = state(store)
    with pytest.raises(UnknownRoom, match="There is no room '999'") as error:
        request(bus, room="999")
    assert error.value.field == "room"
    assert state(store) == before


def test_an_inactive_room_is_refused(bus: MessageBus, store: Store) -> None:
    store.rooms["102"].active = False
    before = state(store)
    with pytest.raises(RoomInactive):
        request(bus)
    assert state(store) == before


def test_an_invalid_request_stores_nothing(bus: MessageBus, store: Store) -> None:
    before = state(store)
    with pytest.raises(InvalidBooking) as error:
        request(bus, start=-1, end=1)
    assert error.value.field == "start"
    assert state(store) == before


# --- approving and denying ------------------------------------------------------------------------


def test_only_admins_approve(bus: MessageBus, store: Store) -> None:
    booking_id = request(bus)
    before = state(store)

    with pytest.raises(NotAllowed, match="Only admins"):
        bus.handle(commands.ApproveBooking(booking_id, BOOKER))
    assert state(store) == before


def test_only_admins_deny(bus: MessageBus, store: Store) -> None:
    booking_id = request(bus)
    before = state(store)

    with pytest.raises(NotAllowed, match="Only admins"):
        bus.handle(commands.DenyBooking(booking_id, OTHER, "No"))
    assert state(store) == before


def test_approval_is_projected_recorded_and_announced(
    bus: MessageBus, store: Store, clock: FixedClock
) -> None:
    booking_id = request(bus)
    clock.advance(timedelta(minutes=10))
    decided = clock()

    bus.handle(commands.ApproveBooking(booking_id, ADMIN))

    row = store.booking_list[booking_id]
    assert (row.status, row.decided_by, row.decided_at) == (BookingStatus.APPROVED, ADMIN, decided)
    approval = store.approvals[booking_id]
    assert (approval.status, approval.decided_by, approval.decided_at) == (
        ApprovalStatus.APPROVED,
        ADMIN,
        decided,
    )
    event = last_event(store)
    assert isinstance(event, events.BookingApproved)
    assert len(store.event_log) == 2
    new = messages_of(store, event)
    assert len(new) == 6
    assert {m.payload["kind"] for m in new if m.channel in (Channel.DM, Channel.EMAIL)} == {
        "approved"
    }
    assert Notice.from_payload(dm_of(store, event)).calendar_method == "REQUEST"


def test_denial_keeps_the_reason_and_releases_the_slot(bus: MessageBus, store: Store) -> None:
    booking_id = request(bus)

    bus.handle(commands.DenyBooking(booking_id, ADMIN, "The room  is being\npainted"))

    row = store.booking_list[booking_id]
    assert (row.status, row.decided_by, row.reason) == (
        BookingStatus.DENIED,
        ADMIN,
        "The room is being painted",
    )
    assert store.approvals[booking_id].status is ApprovalStatus.DENIED
    event = last_event(store)
    assert isinstance(event, events.BookingDenied)
    dm = dm_of(store, event)
    assert dm["kind"] == "denied"
    assert dm["booking"]["reason"] == "The room is being painted"

    again = request(bus, by=OTHER)
    assert store.bookings[again].status is BookingStatus.PENDING


def test_a_denial_reason_is_at_most_500_characters(bus: MessageBus, store: Store) -> None:
    booking_id = request(bus)
    before = state(store)

    with pytest.raises(InvalidBooking, match="at most 500 characters") as error:
        bus.handle(commands.DenyBooking(booking_id, ADMIN, "r" * 501))
    assert error.value.field == "reason"
    assert state(store) == before


def test_an_admins_cancellation_carries_its_reason_to_the_booker(
    bus: MessageBus, store: Store
) -> None:
    booking_id = request(bus)
    bus.handle(commands.ApproveBooking(booking_id, ADMIN))
    before = state(store)
    with pytest.raises(InvalidBooking, match="at most 500 characters"):
        bus.handle(commands.CancelBooking(booking_id, ADMIN, reason="r" * 501))
    assert state(store) == before

    bus.handle(commands.CancelBooking(booking_id, ADMIN, reason="  The board meets there  "))
    assert store.bookings[booking_id].status is BookingStatus.CANCELLED
    event = last_event(store)
    assert isinstance(event, events.BookingCancelled) and event.by_admin
    assert event.reason == "The board meets there"
    assert dm_of(store, event)["booking"]["reason"] == "The board meets there"


def test_deciding_an_unknown_booking_is_refused(bus: MessageBus) -> None:
    with pytest.raises(UnknownBooking, match="There is no booking #42"):
        bus.handle(commands.ApproveBooking(42, ADMIN))


@pytest.mark.parametrize(
    "decision",
    [
        commands.ApproveBooking(1, ADMIN),
        commands.DenyBooking(1, ADMIN, "Painting"),
        commands.CancelBooking(1, BOOKER),
    ],
    ids=["approve", "deny", "cancel"],
)
def test_a_repeated_decision_changes_nothing(
    bus: MessageBus, store: Store, decision: commands.Command
) -> None:
    assert request(bus) == 1
    bus.handle(decision)
    before = state(store)

    bus.handle(decision)

    assert state(store) == before


# --- cancelling -----------------------------------------------------------------------------------


def test_cancelling_drops_the_approval_record(bus: MessageBus, store: Store) -> None:
    booking_id = request(bus)

    bus.handle(commands.CancelBooking(booking_id, BOOKER))

    assert booking_id not in store.approvals
    assert store.booking_list[booking_id].status is BookingStatus.CANCELLED
    event = last_event(store)
    assert isinstance(event, events.BookingCancelled)
    dm = dm_of(store, event)
    assert dm["kind"] == "cancelled"
    assert (dm["was_approved"], dm["by_admin"]) == (False, False)
    assert len(messages_of(store, event)) == 6


def test_cancelling_an_approved_booking_says_it_was_approved(bus: MessageBus, store: Store) -> None:
    booking_id = request(bus)
    bus.handle(commands.ApproveBooking(booking_id, ADMIN))

    bus.handle(commands.CancelBooking(booking_id, BOOKER))

    assert booking_id not in store.approvals
    assert dm_of(store, last_event(store))["was_approved"] is True
    request(bus, by=OTHER)  # the slot is free again


def test_someone_else_cannot_cancel(bus: MessageBus, store: Store) -> None:
    booking_id = request(bus)
    before = state(store)

    with pytest.raises(NotAllowed):
        bus.handle(commands.CancelBooking(booking_id, OTHER))
    assert state(store) == before


def test_an_admin_can_cancel_anyones_booking(bus: MessageBus, store: Store) -> None:
    booking_id = request(bus)

    bus.handle(commands.CancelBooking(booking_id, ADMIN2))

    assert store.booking_list[booking_id].status is BookingStatus.CANCELLED
    event = last_event(store)
    assert isinstance(event, events.BookingCancelled)
    assert (event.actor, event.by_admin) == (ADMIN2, True)
    assert dm_of(store, event)["by_admin"] is True


def test_a_cancelled_booking_cannot_be_approved(bus: MessageBus, store: Store) -> None:
    booking_id = request(bus)
    bus.handle(commands.CancelBooking(booking_id, BOOKER))
    before = state(store)

    with pytest.raises(InvalidTransition):
        bus.handle(commands.ApproveBooking(booking_id, ADMIN))
    assert state(store) == before


# --- expiry ---------------------------------------------------------------------------------------


def test_only_pending_requests_whose_start_passed_expire(
    bus: MessageBus, store: Store, clock: FixedClock
) -> None:
    started = request(bus, start=1, end=2)
    approved = request(bus, start=2, end=3)
    bus.handle(commands.ApproveBooking(approved, ADMIN))
    later = request(bus, start=5, end=6)
    assert bus.handle(commands.ExpirePending()) == 0

    clock.advance(timedelta(hours=3))
    assert bus.handle(commands.ExpirePending()) == 1

    assert store.bookings[started].status is BookingStatus.EXPIRED
    assert store.booking_list[started].status is BookingStatus.EXPIRED
    assert store.bookings[approved].status is BookingStatus.APPROVED
    assert store.bookings[later].status is BookingStatus.PENDING
    event = last_event(store)
    assert isinstance(event, events.BookingExpired)
    assert (event.booking_id, event.actor) == (started, "system")
    assert dm_of(store, event)["kind"] == "expired"

    before = state(store)
    assert bus.handle(commands.ExpirePending()) == 0
    assert state(store) == before


def test_a_request_expires_from_the_minute_it_starts(
    bus: MessageBus, store: Store, clock: FixedClock
) -> None:
    booking_id = request(bus, start=1, end=2)
    clock.set(at(1))

    assert bus.handle(commands.ExpirePending()) == 1
    assert store.bookings[booking_id].status is BookingStatus.EXPIRED


# --- rooms ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [ADMIN, "cli", "system"])
def test_admins_and_the_operator_add_rooms(bus: MessageBus, store: Store, actor: str) -> None:
    bus.handle(commands.AddRoom(" 305 ", "Library", 6, actor))

    room = store.rooms["305"]
    assert (room.name, room.capacity, room.active) == ("Library", 6, True)
    request(bus, room="305")


@pytest.mark.parametrize(
    "command",
    [
        commands.AddRoom("305", "Library", 6, BOOKER),
        commands.UpdateRoom("102", BOOKER, name="Mine now"),
        commands.DeactivateRoom("102", BOOKER),
    ],
    ids=["add", "update", "deactivate"],
)
def test_only_admins_manage_rooms(bus: MessageBus, store: Store, command: commands.Command) -> None:
    before = state(store)
    with pytest.raises(NotAllowed, match="Only admins can manage rooms"):
        bus.handle(command)
    assert state(store) == before


def test_a_room_id_is_taken_once(bus: MessageBus, store: Store) -> None:
    before = state(store)
    with pytest.raises(DuplicateRoom, match="Room 102 exists already"):
        bus.handle(commands.AddRoom("102", "Another", 4, ADMIN))
    assert state(store) == before


def test_an_invalid_room_is_not_added(bus: MessageBus, store: Store) -> None:
    with pytest.raises(InvalidBooking) as error:
        bus.handle(commands.AddRoom("305", "Library", 0, ADMIN))
    assert error.value.field == "capacity"
    assert "305" not in store.rooms


def test_updating_a_room(bus: MessageBus, store: Store) -> None:
    bus.handle(commands.UpdateRoom("102", ADMIN, name=" Big board room ", capacity=14))

    room = store.rooms["102"]
    assert (room.name, room.capacity, room.active) == ("Big board room", 14, True)


def test_an_invalid_update_leaves_the_room_as_it_was(bus: MessageBus, store: Store) -> None:
    before = state(store)
    with pytest.raises(InvalidBooking) as error:
        bus.handle(commands.UpdateRoom("102", ADMIN, name="Renamed", capacity=0))
    assert error.value.field == "capacity"
    assert state(store) == before


def test_updating_an_unknown_room_is_refused(bus: MessageBus) -> None:
    with pytest.raises(UnknownRoom):
        bus.handle(commands.UpdateRoom("999", ADMIN, name="Nowhere"))


def test_a_deactivated_room_takes_no_requests_until_reactivated(
    bus: MessageBus, store: Store
) -> None:
    bus.handle(commands.DeactivateRoom("102", "cli"))
    assert store.rooms["102"].active is False
    with pytest.raises(RoomInactive):
        request(bus)

    bus.handle(commands.UpdateRoom("102", ADMIN, active=True))
    request(bus)


# --- the transaction ------------------------------------------------------------------------------


def test_a_failing_policy_rolls_everything_back(store: Store, clock: FixedClock) -> None:
    def explode(event: events.Event, uow: AbstractUnitOfWork, ctx: Context) -> None:
        raise RuntimeError("policy failed")

    hooked: list[Sequence[events.Event]] = []
    handlers = {
        **EVENT_HANDLERS,
        events.BookingRequested: [*EVENT_HANDLERS[events.BookingRequested], explode],
    }
    made = Recorder(store)
    bus = MessageBus(
        made,
        Context(admins=ADMINS, clock=clock),
        event_handlers=handlers,
        after_commit=[hooked.append],
    )

    with pytest.raises(RuntimeError, match="policy failed"):
        request(bus)

    assert store.bookings == {}
    assert store.booking_list == {}
    assert store.approvals == {}
    assert store.outbox == []
    assert store.event_log == []
    assert [uow.committed for uow in made.made] == [False]
    assert hooked == []


def test_after_commit_hooks_receive_the_committed_events(store: Store, clock: FixedClock) -> None:
    hooked: list[list[events.Event]] = []
    bus = make_bus(store, clock, after_commit=[lambda committed: hooked.append(list(committed))])

    booking_id = request(bus)
    bus.handle(commands.ApproveBooking(booking_id, ADMIN))
    bus.handle(commands.ApproveBooking(booking_id, ADMIN))  # a repeat: nothing new

    assert hooked == [[store.event_log[0]], [store.event_log[1]], []]
    assert [type(event) for [event] in hooked[:2]] == [
        events.BookingRequested,
        events.BookingApproved,
    ]
    assert hooked[0][0].booking_id == booking_id


def test_a_failing_hook_does_not_fail_the_command(
    store: Store, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    def wake_dispatcher(committed: Sequence[events.Event]) -> None:
        raise ConnectionError("dispatcher unreachable")

    later: list[Sequence[events.Event]] = []
    bus = make_bus(store, clock, after_commit=[wake_dispatcher, later.append])

    with caplog.at_level(logging.ERROR, logger="bot.services.messagebus"):
        booking_id = request(bus)

    assert store.bookings[booking_id].status is BookingStatus.PENDING
    assert len(later) == 1
    assert "after-commit hook" in caplog.text
    assert "dispatcher unreachable" in caplog.text


def test_a_command_is_committed_exactly_once(store: Store, clock: FixedClock) -> None:
    made = Recorder(store)
    bus = MessageBus(made, Context(admins=ADMINS, clock=clock))

    request(bus)
    with pytest.raises(RoomUnavailable):
        request(bus, by=OTHER)

    assert [uow.committed for uow in made.made] == [True, False]


# --- threads --------------------------------------------------------------------------------------


def test_one_bus_serves_many_threads(bus: MessageBus, store: Store) -> None:
    users = [f"U{n:03d}" for n in range(8)]
    ready = threading.Barrier(len(users), timeout=30)

    def book(n: int) -> int:
        ready.wait()
        return request(bus, start=2 + n, end=3 + n, by=users[n], title=f"Meeting {n}")

    with ThreadPoolExecutor(max_workers=len(users)) as pool:
        ids = list(pool.map(book, range(len(users))))

    assert sorted(ids) == list(range(1, 9))
    for n, booking_id in enumerate(ids):
        row = store.booking_list[booking_id]
        assert (row.booker, row.title, row.starts_at) == (users[n], f"Meeting {n}", at(2 + n))
        assert store.approvals[booking_id].status is ApprovalStatus.REQUESTED
    assert sorted(event.booking_id for event in store.event_log) == sorted(ids)
    assert len(store.outbox) == 8 * 6
    for event in store.event_log:
        dm = dm_of(store, event)
        assert dm["booking"]["booking_id"] == event.booking_id


def test_many_threads_asking_for_one_slot_get_it_once(bus: MessageBus, store: Store) -> None:
    users = [f"U{n:03d}" for n in range(8)]
    ready = threading.Barrier(len(users), timeout=30)

    def book(user: str) -> int | RoomUnavailable:
        ready.wait()
        try:
            return request(bus, by=user)
        except RoomUnavailable as refused:
            return refused

    with ThreadPoolExecutor(max_workers=len(users)) as pool:
        outcomes = list(pool.map(book, users))

    won = [outcome for outcome in outcomes if isinstance(outcome, int)]
    assert len(won) == 1
    assert all(isinstance(outcome, RoomUnavailable) for outcome in outcomes if outcome not in won)
    assert list(store.bookings) == won
    assert len(store.event_log) == 1


class LostRace(Exception):
    """Stands for the database aborting a transaction that raced another (a deadlock)."""


class RacingUnitOfWork(FakeUnitOfWork):
    def is_retryable(self, error: BaseException) -> bool:
        return isinstance(error, LostRace)


def test_a_transaction_that_lost_a_race_is_rerun_once_more_and_commits_once(
    store: Store, clock: FixedClock
) -> None:
    failures = iter([LostRace(), LostRace()])

    def flaky(event: events.Event, uow: object, ctx: object) -> None:
        error = next(failures, None)
        if error is not None:
            raise error

    table = {
        **EVENT_HANDLERS,
        events.BookingRequested: [*EVENT_HANDLERS[events.BookingRequested], flaky],
    }
    seen: list[Sequence[events.Event]] = []
    bus = MessageBus(
        lambda: RacingUnitOfWork(store),
        Context(admins=ADMINS, clock=clock),
        event_handlers=table,
        after_commit=[seen.append],
    )
    booking_id = request(bus)
    assert list(store.bookings) == [booking_id]
    assert len(store.event_log) == 1 and len(seen) == 1  # one commit, one hook call


def test_a_race_lost_every_time_gives_up_with_the_error(store: Store, clock: FixedClock) -> None:
    def always(event: events.Event, uow: object, ctx: object) -> None:
        raise LostRace()

    table = {**EVENT_HANDLERS, events.BookingRequested: [always]}
    bus = MessageBus(lambda: RacingUnitOfWork(store), Context(clock=clock), event_handlers=table)
    with pytest.raises(LostRace):
        request(bus)
    assert store.bookings == {}


class Readers:
    def __init__(self, **known: Reader) -> None:
        self.known_readers = known

    def known(self, user: str) -> Reader | None:
        return self.known_readers.get(user)


def test_the_booker_s_notices_carry_their_zone_and_language_when_known(
    store: Store, clock: FixedClock
) -> None:
    seoul = Reader("Asia/Seoul", "ko")
    bus = MessageBus(
        lambda: FakeUnitOfWork(store),
        Context(admins=ADMINS, clock=clock, readers=Readers(**{BOOKER: seoul})),
    )
    booking_id = request(bus)
    request(bus, by=OTHER, start=5, end=6)
    bus.handle(commands.ApproveBooking(booking_id, ADMIN))

    readers = {
        (m.recipient, m.payload["kind"]): m.payload.get("reader")
        for m in store.outbox
        if m.channel in (Channel.DM, Channel.EMAIL)
    }
    assert readers == {
        (BOOKER, "requested"): {"tz": "Asia/Seoul", "locale": "ko"},
        (BOOKER, "approved"): {"tz": "Asia/Seoul", "locale": "ko"},
        (OTHER, "requested"): None,
    }
