"""The domain's errors: a small hierarchy with messages written for the person who caused them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


class BookingError(Exception):
    """Base of every refusal the domain can give. ``field`` names the input at fault, if one is.

    ``message`` is English, for logs and the command line. ``code`` and ``params`` say the same
    as data, so the views can tell the person in their own language (bot/views/refusals.py).
    """

    field: str | None = None
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.params: Mapping[str, object] = params or {}
        if field is not None:
            self.field = field
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class InvalidBooking(BookingError):
    """The request itself is malformed: times, title, length or horizon."""


class UnknownRoom(BookingError):
    field = "room"


class RoomInactive(BookingError):
    field = "room"


class UnknownBooking(BookingError):
    pass


class NotAllowed(BookingError):
    """The actor may not do this (not an admin, not the booker)."""


class InvalidTransition(BookingError):
    """The status machine refuses the change (for example approving a cancelled booking)."""


class QuotaExceeded(BookingError):
    """The booker has used up their weekly quota of hours or of bookings."""


class DuplicateRoom(BookingError):
    field = "room_id"


@dataclass(frozen=True)
class Conflict:
    """An active booking that holds (part of) a requested slot."""

    booking_id: int
    booker: str
    starts_at: datetime
    ends_at: datetime
    title: str


class RoomUnavailable(BookingError):
    """The slot overlaps an active booking.

    Carries the conflict, so the user can be told who holds the room and until when. When the
    one asking (``by``) holds it themselves, the code is ``room_yours``: they are told so, not
    pointed at someone else.
    """

    field = "start"

    def __init__(
        self, room_id: str, conflict: Conflict | None = None, *, by: str | None = None
    ) -> None:
        params: dict[str, object] = {"room_id": room_id}
        if conflict is None:
            message = f"Room {room_id} is already booked for (part of) that time."
        else:
            message = (
                f"Room {room_id} is already booked by {conflict.booker} "
                f"from {conflict.starts_at:%Y-%m-%d %H:%M} to {conflict.ends_at:%H:%M} UTC."
            )
        yours = conflict is not None and by is not None and conflict.booker == by
        if yours:
            assert conflict is not None
            params["booking_id"] = conflict.booking_id
        super().__init__(message, code="room_yours" if yours else "room_taken", params=params)
        self.room_id = room_id
        self.conflict = conflict
        self.yours = yours
