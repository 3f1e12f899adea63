"""Aggregates: Room, Booking (with its status machine) and Approval (the original's *confirm*)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from bot.domain import events
from bot.domain.errors import InvalidBooking, InvalidTransition, NotAllowed, RoomInactive
from bot.domain.rules import BookingLimits, overlaps, validate_request


class BookingStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    DENIED = "DENIED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"

    @property
    def holds_slot(self) -> bool:
        return self in HOLDING

    @property
    def is_final(self) -> bool:
        return not ALLOWED[self]


HOLDING = frozenset({BookingStatus.PENDING, BookingStatus.APPROVED})

ALLOWED: dict[BookingStatus, frozenset[BookingStatus]] = {
    BookingStatus.PENDING: frozenset(
        {
            BookingStatus.APPROVED,
            BookingStatus.DENIED,
            BookingStatus.CANCELLED,
            BookingStatus.EXPIRED,
        }
    ),
    BookingStatus.APPROVED: frozenset({BookingStatus.CANCELLED}),
    BookingStatus.DENIED: frozenset(),
    BookingStatus.CANCELLED: frozenset(),
    BookingStatus.EXPIRED: frozenset(),
}


class ApprovalStatus(StrEnum):
    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    DENIED = "DENIED"


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


@dataclass(eq=False)
class Room:
    id: str
    name: str
    capacity: int
    active: bool = True

    def __post_init__(self) -> None:
        self.id = self.id.strip()
        self.name = self.name.strip()
        if not self.id or len(self.id) > 32 or any(c.isspace() for c in self.id):
            raise InvalidBooking(
                "A room id is 1 to 32 characters without spaces, such as 102.", field="room_id"
            )
        if not self.name or len(self.name) > 80:
            raise InvalidBooking("A room name is 1 to 80 characters.", field="name")
        if (
            isinstance(self.capacity, bool)
            or not isinstance(self.capacity, int)
            or not 1 <= self.capacity <= 10_000
        ):
            raise InvalidBooking("Capacity is a whole number from 1 to 10000.", field="capacity")

    def ensure_bookable(self) -> None:
        if not self.active:
            raise RoomInactive(f"Room {self.id} ({self.name}) is no longer available for booking.")


@dataclass(eq=False)
class Booking:
    """A booking request and its life. Times are aware UTC; the slot is ``[starts_at, ends_at)``.

    ``id`` is given by the database when the booking is first stored; until then it is ``None`` and
    events carry 0, which the unit of work fixes up when it collects them.
    """

    room_id: str
    starts_at: datetime
    ends_at: datetime
    booker: str
    title: str
    requested_at: datetime
    status: BookingStatus = BookingStatus.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    reminded_at: datetime | None = None
    nudged_at: datetime | None = None
    id: int | None = None
    events: list[events.Event] = field(default_factory=list, repr=False)

    @classmethod
    def request(
        cls,
        *,
        room: Room,
        starts_at: datetime,
        ends_at: datetime,
        booker: str,
        title: str,
        now: datetime,
        limits: BookingLimits,
    ) -> Booking:
        title = " ".join(title.split())
        room.ensure_bookable()
        validate_request(starts_at=starts_at, ends_at=ends_at, title=title, now=now, limits=limits)
        booking = cls(
            room_id=room.id,
            starts_at=_utc(starts_at),
            ends_at=_utc(ends_at),
            booker=booker,
            title=title,
            requested_at=_utc(now),
        )
        booking.events.append(
            events.BookingRequested(
                booking_id=0,
                actor=booker,
                at=booking.requested_at,
                room_id=room.id,
                starts_at=booking.starts_at,
                ends_at=booking.ends_at,
                title=title,
            )
        )
        return booking

    @property
    def holds_slot(self) -> bool:
        return self.status.holds_slot

    def overlaps(self, starts_at: datetime, ends_at: datetime) -> bool:
        return overlaps(self.starts_at, self.ends_at, starts_at, ends_at)

    def _move(self, to: BookingStatus) -> bool:
        """Change status; ``False`` means it already was ``to`` (a repeat, which is a no-op)."""
        if self.status == to:
            return False
        if to not in ALLOWED[self.status]:
            raise InvalidTransition(
                f"Booking {self.id} is {self.status.lower()}; it cannot become {to.lower()}."
            )
        self.status = to
        return True

    def approve(self, by: str, at: datetime) -> None:
        at = _utc(at)
        if self._move(BookingStatus.APPROVED):
            self.decided_by, self.decided_at = by, at
            self.events.append(events.BookingApproved(booking_id=self._event_id, actor=by, at=at))

    def deny(self, by: str, at: datetime, reason: str | None = None) -> None:
        """Deny the request; a denied booking frees its slot (the original's cancel-on-deny)."""
        reason = " ".join((reason or "").split()) or None
        at = _utc(at)
        if self._move(BookingStatus.DENIED):
            self.decided_by, self.decided_at, self.reason = by, at, reason
            self.events.append(
                events.BookingDenied(booking_id=self._event_id, actor=by, at=at, reason=reason)
            )

    def cancel(self, by: str, at: datetime, *, is_admin: bool = False) -> None:
        if by != self.booker and not is_admin:
            raise NotAllowed("Only the person who booked it, or an admin, can cancel this booking.")
        at = _utc(at)
        was_approved = self.status == BookingStatus.APPROVED
        if self._move(BookingStatus.CANCELLED):
            self.events.append(
                events.BookingCancelled(
                    booking_id=self._event_id,
                    actor=by,
                    at=at,
                    was_approved=was_approved,
                    by_admin=by != self.booker,
                )
            )

    def expire(self, at: datetime) -> None:
        at = _utc(at)
        if self.status != BookingStatus.PENDING:
            raise InvalidTransition(f"Booking {self.id} is {self.status.lower()}, not pending.")
        if at < self.starts_at:
            raise InvalidTransition(f"Booking {self.id} has not started yet.")
        self._move(BookingStatus.EXPIRED)
        self.events.append(events.BookingExpired(booking_id=self._event_id, actor="system", at=at))

    def remind(self, at: datetime) -> None:
        """Record the one reminder of an approved booking; later calls do nothing."""
        at = _utc(at)
        if self.status != BookingStatus.APPROVED or self.reminded_at is not None:
            return
        self.reminded_at = at
        minutes = max(0, round((self.starts_at - at).total_seconds() / 60))
        self.events.append(
            events.BookingReminderDue(
                booking_id=self._event_id, actor="system", at=at, starts_in_minutes=minutes
            )
        )

    def nudge(self, at: datetime) -> None:
        """Record the one nudge to admins about a request still waiting; later calls do nothing."""
        at = _utc(at)
        if self.status != BookingStatus.PENDING or self.nudged_at is not None:
            return
        self.nudged_at = at
        waiting = max(0, round((at - self.requested_at).total_seconds() / 60))
        self.events.append(
            events.ApprovalOverdue(
                booking_id=self._event_id, actor="system", at=at, waiting_minutes=waiting
            )
        )

    @property
    def _event_id(self) -> int:
        return self.id or 0


@dataclass(eq=False)
class Approval:
    """The approval record of a booking (the original's *confirm*), alive while the booking is
    pending or decided, and deleted when the booking is cancelled."""

    booking_id: int
    status: ApprovalStatus = ApprovalStatus.REQUESTED
    decided_by: str | None = None
    decided_at: datetime | None = None

    def record(self, status: ApprovalStatus, by: str, at: datetime) -> None:
        self.status, self.decided_by, self.decided_at = status, by, _utc(at)
