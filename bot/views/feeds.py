"""The words inside calendar feeds (``/calendar/<token>.ics``): the calendar's name, a room's
busy slot, a booking's status. The caller picks the language (see ``bot.adapters.feeds``)."""

from __future__ import annotations

from bot.domain.model import BookingStatus
from bot.views.cards import status_word
from bot.views.i18n import _, pgettext


def feed_name(room_name: str | None) -> str:
    """The name a calendar app shows for the feed: the room's own, or the person's bookings."""
    return room_name or _("My room bookings")


def room_busy() -> str:
    """The title of a slot in a room feed that shows no titles or bookers."""
    return pgettext("calendar feed", "Busy")


def booked_by(name: str) -> str:
    """Who booked a slot, in the description of a room feed's event that shows details."""
    return _("Booked by {name}").format(name=name)


def feed_status(status: BookingStatus) -> str:
    """A person's booking's status, in the event's description."""
    return _("Booking status: {status}").format(status=status_word(status))
