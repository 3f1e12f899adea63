"""iCalendar parts: an invite when a booking is approved, a cancel when it is withdrawn.

A recurring series is one calendar entry: an RRULE on its wall-clock times in its zone (with the
zone's VTIMEZONE), EXDATE for the rule's dates it does not hold (taken when it was requested,
cancelled, released), and an override (RECURRENCE-ID) for each date moved since. One date
withdrawn is a CANCEL of that RECURRENCE-ID; the whole series withdrawn, a CANCEL of its UID.

Calendar clients match a cancel (or an update) to the invite by UID and apply it only if its
SEQUENCE is higher. So the UID is derived from the booking id and this installation's id, stable
across processes and retries and distinct from another roombot's booking with the same number,
and the SEQUENCE comes from the notice, whose writer makes it grow with each calendar change.
A single booking's times go out in UTC, which every client converts to its own zone (no VTIMEZONE).
"""

from __future__ import annotations

import email.utils
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vRecur, vText

from bot.notifications.notice import Notice, SeriesDate, SeriesPart
from bot.views.notifications import room_label

PRODID = "-//roombot//roombot//EN"


def uid(
    booking_id: int,
    install_id: str | None = None,
    domain: str = "roombot",
    *,
    kind: str = "booking",
) -> str:
    """``booking-<id>-<install id>@<domain>`` (``series-...`` for a series' one entry); without
    an install id the form earlier releases used, so their invites can still be withdrawn."""
    if install_id:
        return f"{kind}-{booking_id}-{install_id}@{domain}"
    return f"{kind}-{booking_id}@roombot"


def uid_of(notice: Notice, install_id: str | None = None, domain: str = "roombot") -> str:
    """The UID of the calendar entry a notice changes: its booking's, or its series'."""
    if notice.series is not None:
        return uid(notice.series.series_id, install_id, domain, kind="series")
    return uid(notice.booking_id, install_id, domain)


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

    def entry(starts_at: datetime, ends_at: datetime, _status: str = "", _title: str = "") -> Event:
        """An event of this notice's entry with its slot; the rest is the same for every one
        (a series' invite holds its approved dates alone, so the status is the notice's)."""
        event = Event()
        event.add("uid", event_uid or uid_of(notice))
        event.add("sequence", notice.calendar_sequence)
        event.add("dtstamp", notice.at.astimezone(UTC))
        event.add("dtstart", starts_at)
        event.add("dtend", ends_at)
        event.add("summary", (summary or "").strip() or title_of(notice))
        if description:
            event.add("description", description)
        event.add("location", notice.room_name or notice.room_id)
        # a booking that changed and waits for approval again goes out TENTATIVE; a series'
        # entry holds its approved dates only (one waiting again is left out until approved)
        status = "TENTATIVE" if notice.needs_approval and notice.series is None else "CONFIRMED"
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
        return event

    series = notice.series
    if series is None:
        calendar.add_component(
            entry(notice.starts_at.astimezone(UTC), notice.ends_at.astimezone(UTC))
        )
        return bytes(calendar.to_ical())
    zone = ZoneInfo(series.timezone)
    if notice.recurrence_id is not None and method == "CANCEL":
        # one date withdrawn: a cancel of that instance only
        event = entry(notice.starts_at.astimezone(zone), notice.ends_at.astimezone(zone))
        event.add("recurrence-id", notice.recurrence_id.astimezone(zone))
        calendar.add_component(event)
    else:
        for event in series_events(series, entry, whole=method == "REQUEST"):
            calendar.add_component(event)
    first, last = series_span(series)
    calendar.add_missing_timezones(first_date=first, last_date=last)
    return bytes(calendar.to_ical())


#: Makes one event of a series' entry: its slot (in the series' zone), the status (a
#: ``BookingStatus`` value) and the title of the dates it stands for; the rest is the caller's.
Entry = Callable[[datetime, datetime, str, str], Event]


def series_events(
    series: SeriesPart,
    entry: Entry,
    *,
    held: Iterable[SeriesDate] | None = None,
    whole: bool = True,
    title: str | None = None,
) -> list[Event]:
    """The series' one calendar entry: its master event (DTSTART, RRULE, EXDATE for every date
    of the rule it does not hold) and, with ``whole``, an override (RECURRENCE-ID) for each held
    date whose slot moved from the rule's or whose status is not the master's. Without ``whole``
    (a cancel of the whole series) the master alone: its UID is all of it.

    ``held``: the dates the entry holds; an invite's are the approved ones (the default), a
    calendar feed's those its reader sees. The master has the status most of them have, so a
    date with another (waiting again in an approved series) is an override of its own.

    ``title``: the master's (the series'); with it, a held date retitled since is an override
    with its own title too (a calendar feed shows each date's). Without it titles are the
    caller's alone, the same for every event (an invite's).

    The invites and the calendar feeds both build a series with this, so they are one object."""
    zone = ZoneInfo(series.timezone)
    kept = {d.recurrence_id: d for d in (series.approved if held is None else held)}
    statuses = Counter(d.status for d in (kept.values() or series.dates))
    status = statuses.most_common(1)[0][0] if statuses else "APPROVED"
    master = entry(
        series.starts_at.astimezone(zone), series.ends_at.astimezone(zone), status, title or ""
    )
    master.add("rrule", vRecur.from_ical(series.rule))
    by_rule = series.by_rule()
    if whole:
        excluded = [start.astimezone(zone) for start, _end in by_rule if start not in kept]
        if excluded:
            master.add("exdate", excluded)
    events = [master]
    if not whole:
        return events
    length = series.ends_at - series.starts_at
    for start, _end in by_rule:
        one = kept.get(start)
        if one is None or (
            (one.starts_at, one.ends_at, one.status) == (start, start + length, status)
            and (title is None or one.title == title)
        ):
            continue
        moved = entry(
            one.starts_at.astimezone(zone), one.ends_at.astimezone(zone), one.status, one.title
        )
        moved.add("recurrence-id", start.astimezone(zone))
        events.append(moved)
    return events


def series_span(series: SeriesPart) -> tuple[date, date]:
    """Days before and after every slot of the series: the range its zone's VTIMEZONE covers."""
    first = min(series.starts_at, *(d.starts_at for d in series.dates))
    last = max(series.ends_at, *(d.ends_at for d in series.dates))
    return (first - timedelta(days=1)).date(), (last + timedelta(days=1)).date()
