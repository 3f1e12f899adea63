"""iCalendar attachments: an invite when a booking is approved, a cancel when it is withdrawn.

Calendar clients match a cancel to the invite by UID and apply it only if its SEQUENCE is higher,
so the UID is derived from the booking id alone (stable across processes and retries) and the
cancel always carries a higher sequence than the invite. Times go out in UTC, which every client
converts to its own zone; no VTIMEZONE block is needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from icalendar import Calendar, Event, vCalAddress, vText

from bot.views.notifications import room_label

PRODID = "-//roombot//roombot//EN"

#: SEQUENCE of the invite sent on approval, and of the cancel that withdraws it.
INVITE_SEQUENCE = 0
CANCEL_SEQUENCE = 1


def uid(booking_id: int | str) -> str:
    return f"booking-{booking_id}@roombot"


def summary(booking: Mapping[str, Any]) -> str:
    """The snapshot's ``summary`` (written in the attendee's language), else the booking's title,
    else the room (a calendar entry needs a name)."""
    given = str(booking.get("summary") or "").strip()
    title = str(booking.get("title") or "").strip()
    return given or title or room_label(str(booking.get("room_id") or ""), booking.get("room_name"))


def invite(
    booking: Mapping[str, Any],
    sequence: int = INVITE_SEQUENCE,
    organizer: str | None = None,
    attendee: str | None = None,
    *,
    stamp: datetime | None = None,
) -> bytes:
    """METHOD:REQUEST for an approved booking (a snapshot dict with ISO datetimes); a booking
    that changed and waits for approval again goes out TENTATIVE."""
    status = "TENTATIVE" if booking.get("status") == "PENDING" else "CONFIRMED"
    return _calendar("REQUEST", status, booking, sequence, organizer, attendee, stamp)


def cancel(
    booking: Mapping[str, Any],
    sequence: int = CANCEL_SEQUENCE,
    organizer: str | None = None,
    attendee: str | None = None,
    *,
    stamp: datetime | None = None,
) -> bytes:
    """METHOD:CANCEL withdrawing the invite of the same booking."""
    return _calendar("CANCEL", "CANCELLED", booking, sequence, organizer, attendee, stamp)


def _utc(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError("booking times must be timezone-aware")
    return moment.astimezone(UTC)


def _calendar(
    method: str,
    status: str,
    booking: Mapping[str, Any],
    sequence: int,
    organizer: str | None,
    attendee: str | None,
    stamp: datetime | None,
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)

    event = Event()
    event.add("uid", uid(booking["booking_id"]))
    event.add("sequence", sequence)
    event.add("dtstamp", (stamp or datetime.now(UTC)).astimezone(UTC))
    event.add("dtstart", _utc(booking["starts_at"]))
    event.add("dtend", _utc(booking["ends_at"]))
    event.add("summary", summary(booking))
    if booking.get("description"):
        event.add("description", str(booking["description"]))
    event.add("location", str(booking.get("room_name") or booking.get("room_id") or ""))
    event.add("status", status)
    event.add("transp", "OPAQUE")
    if organizer:
        address = vCalAddress(f"mailto:{organizer}")
        address.params["cn"] = vText("roombot")
        event.add("organizer", address)
    if attendee:
        address = vCalAddress(f"mailto:{attendee}")
        address.params["role"] = vText("REQ-PARTICIPANT")
        address.params["partstat"] = vText("ACCEPTED")
        address.params["rsvp"] = vText("FALSE")
        event.add("attendee", address)
    calendar.add_component(event)
    return bytes(calendar.to_ical())
