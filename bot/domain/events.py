"""Events: facts the aggregates record. Policies react to them inside the same transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import uuid4


def _new_id() -> str:
    return uuid4().hex


@dataclass(frozen=True, kw_only=True)
class Event:
    booking_id: int
    actor: str
    at: datetime
    event_id: str = field(default_factory=_new_id)

    @property
    def name(self) -> str:
        return type(self).__name__


@dataclass(frozen=True, kw_only=True)
class BookingRequested(Event):
    room_id: str
    starts_at: datetime
    ends_at: datetime
    title: str


@dataclass(frozen=True, kw_only=True)
class BookingApproved(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class BookingDenied(Event):
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class BookingCancelled(Event):
    """``was_approved`` tells notification whether an invite went out and must be withdrawn."""

    was_approved: bool
    by_admin: bool = False


@dataclass(frozen=True, kw_only=True)
class BookingExpired(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class BookingReminderDue(Event):
    """An approved booking starts soon; its booker gets one reminder."""

    starts_in_minutes: int


@dataclass(frozen=True, kw_only=True)
class ApprovalOverdue(Event):
    """A request has waited longer than admins promised to answer; they get one nudge."""

    waiting_minutes: int


BOOKING_EVENTS: tuple[type[Event], ...] = (
    BookingRequested,
    BookingApproved,
    BookingDenied,
    BookingCancelled,
    BookingExpired,
)
