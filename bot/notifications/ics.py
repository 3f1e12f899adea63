"""iCalendar parts: an invite when a booking is approved, a cancel when it is withdrawn.

Calendar clients match a cancel (or an update) to the invite by UID and apply it only if its
SEQUENCE is higher. So the UID is derived from the booking id and this installation's id, stable
across processes and retries and distinct from another roombot's booking with the same number,
and the SEQUENCE comes from the notice, whose writer makes it grow with each calendar change.
Times go out in UTC, which every client converts to its own zone; no VTIMEZONE block is needed.
"""

from __future__ import annotations

import email.utils
from datetime import UTC

from icalendar import Calendar, Event, vCalAddress, vText

from bot.notifications.notice import Notice
from bot.views.notifications import room_label

PRODID = "-//roombot//roombot//EN"


def uid(booking_id: int, install_id: str | None = None, domain: str = "roombot") -> str:
    """``booking-<id>-<install id>@<domain>``; without an install id the form earlier releases
    used, so their invites can still be withdrawn."""
    if install_id:
        return f"booking-{booking_id}-{install_id}@{domain}"
    return f"booking-{booking_id}@roombot"


def uid_domain(sender: str) -> str:
    """The domain of the sender's address (``Rooms <rooms@example.com>``: ``example.com``), which
    names the events' UIDs; ``roombot`` when it has none."""
    address = email.utils.parseaddr(sender)[1] or sender
    return address.rpartition("@")[2] or "roombot"


def title_of(notice: Notice) -> str:
    """The booking's title, or the room when it has none (a calendar entry needs a name)."""
    return notice.title.strip() or room_label(notice.room_id, notice.room_name)


def calendar(
    notice: Notice,
    organizer: str | None = None,
    attendee: str | None = None,
    *,
    event_uid: str | None = None,
    summary: str | None = None,
    description: str | None = None,
) -> bytes:
    """The iTIP object for the notice's calendar method (REQUEST or CANCEL), stamped with the
    event's time, so a retried email carries byte-identical data. ``summary`` and
    ``description`` are written in the attendee's language by the caller; without a summary
    the entry is named after the booking's title or room."""
    method = notice.calendar_method
    if method is None:
        raise ValueError(f"a {notice.kind!r} notice changes no calendar")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)

    event = Event()
    event.add("uid", event_uid or uid(notice.booking_id))
    event.add("sequence", notice.calendar_sequence)
    event.add("dtstamp", notice.at.astimezone(UTC))
    event.add("dtstart", notice.starts_at.astimezone(UTC))
    event.add("dtend", notice.ends_at.astimezone(UTC))
    event.add("summary", (summary or "").strip() or title_of(notice))
    if description:
        event.add("description", description)
    event.add("location", notice.room_name or notice.room_id)
    # a booking that changed and waits for approval again goes out TENTATIVE
    status = "TENTATIVE" if notice.needs_approval else "CONFIRMED"
    event.add("status", status if method == "REQUEST" else "CANCELLED")
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
