"""The Booking aggregate's status machine and events, and the Room aggregate's own rules."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import events
from bot.domain.errors import InvalidBooking, InvalidTransition, NotAllowed, RoomInactive
from bot.domain.model import ALLOWED, Booking, BookingStatus, Room
from bot.domain.rules import BookingLimits

PENDING = BookingStatus.PENDING
APPROVED = BookingStatus.APPROVED
DENIED = BookingStatus.DENIED
CANCELLED = BookingStatus.CANCELLED
EXPIRED = BookingStatus.EXPIRED
RELEASED = BookingStatus.RELEASED

BOOKER = "UBOOKER"
ADMIN = "UADMIN"
STRANGER = "USTRANGER"

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
STARTS = NOW + timedelta(hours=2)
ENDS = STARTS + timedelta(hours=1)
DECIDED = NOW + timedelta(minutes=5)
AFTER_START = STARTS + timedelta(minutes=1)


def board_room(*, active: bool = True) -> Room:
    return Room("102", "Board room", 10, active=active)


def requested(*, booking_id: int | None = 7) -> Booking:
    """A fresh request, stored under ``booking_id`` (``None``: not stored yet)."""
    booking = Booking.request(
        room=board_room(),
        starts_at=STARTS,
        ends_at=ENDS,
        booker=BOOKER,
        title="Quarterly planning",
        now=NOW,
        limits=BookingLimits(),
    )
    booking.id = booking_id
    return booking


def approve(booking: Booking) -> None:
    booking.approve(ADMIN, DECIDED)


def deny(booking: Booking) -> None:
    booking.deny(ADMIN, DECIDED, "Room is being painted")


def cancel(booking: Booking) -> None:
    booking.cancel(BOOKER, DECIDED)


def expire(booking: Booking) -> None:
    booking.expire(AFTER_START)


def reschedule(booking: Booking) -> None:
    """Move the booking an hour later: an approved one needs approval again."""
    booking.change(
        room=board_room(),
        starts_at=booking.starts_at + timedelta(hours=1),
        ends_at=booking.ends_at + timedelta(hours=1),
        title=booking.title,
        by=BOOKER,
        at=DECIDED,
        limits=BookingLimits(),
    )


#: The room's check-in window in these tests.
WINDOW = timedelta(minutes=10)


def release(booking: Booking) -> None:
    """Nobody checked in: the scheduler releases the booking once the window has passed."""
    booking.release("system", STARTS + WINDOW, window=WINDOW)


#: How each status is reached: the action a person (or the scheduler) takes.
ACTIONS: dict[BookingStatus, Callable[[Booking], None]] = {
    PENDING: reschedule,
    APPROVED: approve,
    DENIED: deny,
    CANCELLED: cancel,
    EXPIRED: expire,
    RELEASED: release,
}

EVENT_OF: dict[BookingStatus, type[events.Event]] = {
    APPROVED: events.BookingApproved,
    DENIED: events.BookingDenied,
    CANCELLED: events.BookingCancelled,
    EXPIRED: events.BookingExpired,
    PENDING: events.BookingChanged,
    RELEASED: events.BookingReleased,
}

#: The design's status machine, written out independently of ``ALLOWED``.
MOVES = {
    (PENDING, APPROVED),
    (PENDING, DENIED),
    (PENDING, CANCELLED),
    (PENDING, EXPIRED),
    (APPROVED, CANCELLED),
    (APPROVED, PENDING),  # a change that moves it: approval is asked for again
    (APPROVED, RELEASED),
}
#: Moving a pending request keeps it pending and records the change.
CHANGES = {(PENDING, PENDING)}
#: Repeating a decision is a no-op. Expiry is not a decision: expiring twice is refused.
REPEATS = {
    (APPROVED, APPROVED),
    (DENIED, DENIED),
    (CANCELLED, CANCELLED),
    (RELEASED, RELEASED),
}

ALL_PAIRS = list(itertools.product(BookingStatus, BookingStatus))


def booking_in(status: BookingStatus) -> Booking:
    """A stored booking brought to ``status`` the ordinary way, its past events already handled."""
    booking = requested()
    if status is RELEASED:
        approve(booking)  # only an approved booking is released
    if status is not PENDING:
        ACTIONS[status](booking)
    assert booking.status is status
    booking.events.clear()
    return booking


# --- the status machine ---------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "target"), ALL_PAIRS, ids=lambda s: str(s).lower())
def test_status_table_matches_the_design(start: BookingStatus, target: BookingStatus) -> None:
    assert (target in ALLOWED[start]) == ((start, target) in MOVES)


@pytest.mark.parametrize(("start", "target"), ALL_PAIRS, ids=lambda s: str(s).lower())
def test_every_transition_is_allowed_repeated_or_refused(
    start: BookingStatus, target: BookingStatus
) -> None:
    booking = booking_in(start)

    if (start, target) in MOVES or (start, target) in CHANGES:
        ACTIONS[target](booking)
        assert booking.status is target
        assert [type(event) for event in booking.events] == [EVENT_OF[target]]
    elif (start, target) in REPEATS:
        ACTIONS[target](booking)
        assert booking.status is start
        assert booking.events == []
    else:
        with pytest.raises(InvalidTransition):
            ACTIONS[target](booking)
        assert booking.status is start
        assert booking.events == []


def test_refused_transition_names_the_booking_and_both_statuses() -> None:
    booking = booking_in(CANCELLED)
    with pytest.raises(
        InvalidTransition, match=r"Booking 7 is cancelled; it cannot become approved"
    ):
        booking.approve(ADMIN, DECIDED)


@pytest.mark.parametrize(
    ("status", "holds_slot", "is_final"),
    [
        (PENDING, True, False),
        (APPROVED, True, False),
        (DENIED, False, True),
        (CANCELLED, False, True),
        (EXPIRED, False, True),
        (RELEASED, False, True),
    ],
)
def test_only_pending_and_approved_bookings_hold_their_slot(
    status: BookingStatus, holds_slot: bool, is_final: bool
) -> None:
    booking = booking_in(status)
    assert booking.holds_slot is holds_slot
    assert status.is_final is is_final


# --- repeated decisions ---------------------------------------------------------------------------


def test_approving_twice_records_one_event_and_keeps_the_first_decision() -> None:
    booking = requested()
    booking.approve(ADMIN, DECIDED)
    booking.approve("UOTHERADMIN", DECIDED + timedelta(minutes=1))

    assert [type(event) for event in booking.events] == [
        events.BookingRequested,
        events.BookingApproved,
    ]
    assert (booking.decided_by, booking.decided_at) == (ADMIN, DECIDED)


def test_denying_twice_records_one_event_and_keeps_the_first_reason() -> None:
    booking = requested()
    booking.deny(ADMIN, DECIDED, "Painting")
    booking.deny(ADMIN, DECIDED + timedelta(minutes=1), "Another reason")

    assert [type(event) for event in booking.events][1:] == [events.BookingDenied]
    assert booking.reason == "Painting"
    assert booking.decided_at == DECIDED


def test_cancelling_twice_records_one_event() -> None:
    booking = requested()
    booking.cancel(BOOKER, DECIDED)
    booking.cancel(BOOKER, DECIDED + timedelta(minutes=1))

    assert [type(event) for event in booking.events][1:] == [events.BookingCancelled]


# --- events and their fields ----------------------------------------------------------------------


def test_a_request_records_booking_requested_with_the_slot() -> None:
    booking = requested(booking_id=None)

    assert booking.status is PENDING
    assert booking.requested_at == NOW
    [event] = booking.events
    assert isinstance(event, events.BookingRequested)
    assert event.booking_id == 0  # not stored yet: the unit of work fills the id in
    assert (event.actor, event.at) == (BOOKER, NOW)
    assert (event.room_id, event.starts_at, event.ends_at) == ("102", STARTS, ENDS)
    assert event.title == "Quarterly planning"
    assert event.name == "BookingRequested"


def test_approval_records_who_decided_and_when() -> None:
    booking = booking_in(PENDING)
    booking.approve(ADMIN, DECIDED)

    assert (booking.decided_by, booking.decided_at, booking.reason) == (ADMIN, DECIDED, None)
    [event] = booking.events
    assert isinstance(event, events.BookingApproved)
    assert (event.booking_id, event.actor, event.at) == (7, ADMIN, DECIDED)


def test_denial_records_the_reason_with_whitespace_collapsed() -> None:
    booking = booking_in(PENDING)
    booking.deny(ADMIN, DECIDED, "  Room is\n being   painted ")

    assert booking.status is DENIED
    assert booking.reason == "Room is being painted"
    assert (booking.decided_by, booking.decided_at) == (ADMIN, DECIDED)
    [event] = booking.events
    assert isinstance(event, events.BookingDenied)
    assert (event.booking_id, event.actor, event.at) == (7, ADMIN, DECIDED)
    assert event.reason == "Room is being painted"


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_denial_without_a_reason_records_none(reason: str | None) -> None:
    booking = booking_in(PENDING)
    booking.deny(ADMIN, DECIDED, reason)

    [event] = booking.events
    assert isinstance(event, events.BookingDenied)
    assert event.reason is None
    assert booking.reason is None


@pytest.mark.parametrize(
    ("status", "by", "is_admin", "was_approved", "by_admin"),
    [
        (PENDING, BOOKER, False, False, False),
        (APPROVED, BOOKER, False, True, False),
        (PENDING, ADMIN, True, False, True),
        (APPROVED, ADMIN, True, True, True),
        (APPROVED, BOOKER, True, True, False),  # an admin cancelling their own booking
    ],
)
def test_cancellation_tells_whether_an_invite_went_out_and_who_cancelled(
    status: BookingStatus, by: str, is_admin: bool, was_approved: bool, by_admin: bool
) -> None:
    booking = booking_in(status)
    booking.cancel(by, DECIDED, is_admin=is_admin)

    assert booking.status is CANCELLED
    [event] = booking.events
    assert isinstance(event, events.BookingCancelled)
    assert (event.booking_id, event.actor, event.at) == (7, by, DECIDED)
    assert event.was_approved is was_approved
    assert event.by_admin is by_admin


@pytest.mark.parametrize("status", [PENDING, APPROVED])
def test_someone_else_cannot_cancel_a_booking(status: BookingStatus) -> None:
    booking = booking_in(status)

    with pytest.raises(NotAllowed, match="Only the person who booked it, or an admin"):
        booking.cancel(STRANGER, DECIDED)
    assert booking.status is status
    assert booking.events == []


def test_expiry_is_recorded_by_the_system() -> None:
    booking = booking_in(PENDING)
    booking.expire(AFTER_START)

    assert booking.status is EXPIRED
    [event] = booking.events
    assert isinstance(event, events.BookingExpired)
    assert (event.booking_id, event.actor, event.at) == (7, "system", AFTER_START)


def test_a_request_expires_from_its_start() -> None:
    booking = booking_in(PENDING)
    booking.expire(STARTS)
    assert booking.status is EXPIRED


def test_a_request_does_not_expire_before_its_start() -> None:
    booking = booking_in(PENDING)

    with pytest.raises(InvalidTransition, match="has not started yet"):
        booking.expire(STARTS - timedelta(microseconds=1))
    assert booking.status is PENDING
    assert booking.events == []


@pytest.mark.parametrize("status", [APPROVED, DENIED, CANCELLED, EXPIRED, RELEASED])
def test_only_a_pending_request_expires(status: BookingStatus) -> None:
    booking = booking_in(status)

    with pytest.raises(InvalidTransition, match="not pending"):
        booking.expire(AFTER_START)
    assert booking.status is status
    assert booking.events == []


# --- rooms ----------------------------------------------------------------------------------------


def test_a_room_is_stored_trimmed() -> None:
    room = Room("  102 ", "  Board room ", 12)
    assert (room.id, room.name, room.capacity, room.active) == ("102", "Board room", 12, True)


@pytest.mark.parametrize("room_id", ["", "   ", "1 02", "a\tb", "x" * 33])
def test_a_room_id_is_short_and_without_spaces(room_id: str) -> None:
    with pytest.raises(InvalidBooking, match="room id is 1 to 32 characters") as error:
        Room(room_id, "Board room", 10)
    assert error.value.field == "room_id"


@pytest.mark.parametrize("name", ["", "   ", "n" * 81])
def test_a_room_name_is_1_to_80_characters(name: str) -> None:
    with pytest.raises(InvalidBooking, match="room name is 1 to 80 characters") as error:
        Room("102", name, 10)
    assert error.value.field == "name"


@pytest.mark.parametrize("capacity", [0, -1, 10_001])
def test_a_room_capacity_is_1_to_10000(capacity: int) -> None:
    with pytest.raises(InvalidBooking, match="Capacity is a whole number from 1 to 10000") as error:
        Room("102", "Board room", capacity)
    assert error.value.field == "capacity"


def test_room_limits_are_inclusive() -> None:
    assert Room("x" * 32, "n" * 80, 1).capacity == 1
    assert Room("1", "A", 10_000).capacity == 10_000


def test_an_active_room_is_bookable() -> None:
    board_room().ensure_bookable()


def test_an_inactive_room_is_not_bookable() -> None:
    with pytest.raises(
        RoomInactive, match=r"Room 102 \(Board room\) is no longer available"
    ) as error:
        board_room(active=False).ensure_bookable()
    assert error.value.field == "room"


def test_an_inactive_room_cannot_be_requested() -> None:
    with pytest.raises(RoomInactive):
        Booking.request(
            room=board_room(active=False),
            starts_at=STARTS,
            ends_at=ENDS,
            booker=BOOKER,
            title="Planning",
            now=NOW,
            limits=BookingLimits(),
        )
