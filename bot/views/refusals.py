"""The domain's refusals in the reader's language.

A :class:`BookingError` carries an English ``message`` (logs, the command line) and, as data, a
``code`` with ``params``; this module turns those into the sentence the person reads. A refusal
without a text here (a new one) falls back to its English message: add it below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.domain.errors import BookingError
from bot.domain.model import BookingStatus
from bot.views.cards import status_word
from bot.views.i18n import _, ngettext
from bot.views.mrkdwn import escape


def _status(value: Any) -> str:
    try:
        return status_word(BookingStatus(value))
    except ValueError:
        return str(value)


def _duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if rest:
        return ngettext("{count} minute", "{count} minutes", minutes).format(count=minutes)
    return ngettext("{count} hour", "{count} hours", hours).format(count=hours)


def _admins_only(p: Mapping[str, Any]) -> str:
    doing = p.get("doing")
    if doing == "approve bookings":
        return _("Only admins can approve bookings.")
    if doing == "deny bookings":
        return _("Only admins can deny bookings.")
    return _("Only admins can manage rooms.")


def _control_characters(p: Mapping[str, Any]) -> str:
    field = p.get("field")
    if field == "reason":
        return _("The reason contains control characters; type it without them.")
    if field == "location":
        return _("The location contains control characters; type it without them.")
    if field == "tags":
        return _("A tag contains control characters; type it without them.")
    if field == "name":
        return _("The room name contains control characters; type it without them.")
    return _("The title contains control characters; type it without them.")


def _quota_bookings(p: Mapping[str, Any]) -> str:
    held = int(p["held"])
    have = ngettext(
        "You have {count} active booking that week.",
        "You have {count} active bookings that week.",
        held,
    ).format(count=held)
    limit = _("The limit is {limit}; cancel one to book another.").format(limit=p["limit"])
    return f"{have} {limit}"


def _slack_ids_invalid(p: Mapping[str, Any]) -> str:
    if p.get("groups_only"):
        return _("'{value}' is not a Slack user group id (S…).").format(value=p["value"])
    return _("'{value}' is not a Slack user or user group id (U…, W… or S…).").format(
        value=p["value"]
    )


TEXTS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "interval_invalid": lambda p: _("Repeat every 1 to 12 days or weeks."),
    "repeat_end_missing": lambda p: _("Say until when the series repeats, or how many times."),
    "count_invalid": lambda p: _("A series has 2 to {limit} occurrences.").format(limit=p["limit"]),
    "weekdays_invalid": lambda p: _("Weekdays are Monday to Sunday."),
    "weekdays_weekly": lambda p: _("Weekdays go with a weekly series."),
    "single_occurrence": lambda p: _(
        "This pattern gives a single date; book it without repeating."
    ),
    "series_beyond_horizon": lambda p: _(
        "The last occurrence is more than {days} days ahead; end the series sooner."
    ).format(days=p["days"]),
    "unknown_series": lambda p: _("There is no series #{series_id}.").format(
        series_id=p["series_id"]
    ),
    "unknown_zone": lambda p: _("That is not a time zone we know."),
    "room_id_invalid": lambda p: _("A room id is 1 to 32 characters without spaces, such as 102."),
    "room_name_invalid": lambda p: _("A room name is 1 to 80 characters."),
    "capacity_invalid": lambda p: _("Capacity is a whole number from 1 to 10000."),
    "checkin_invalid": lambda p: _(
        "The check-in window is a whole number of minutes from 1 to {limit} "
        "(or empty for no check-in)."
    ).format(limit=p["limit"]),
    "room_inactive": lambda p: _(
        "Room {room_id} ({name}) is no longer available for booking."
    ).format(room_id=p["room_id"], name=p["name"]),
    "cannot_become": lambda p: _(
        "Booking #{booking_id} is {status}; it cannot become {to}."
    ).format(booking_id=p["booking_id"], status=_status(p["status"]), to=_status(p["to"])),
    "not_yours": lambda p: _(
        "Only the person who booked it, or an admin, can cancel this booking."
    ),
    "not_pending": lambda p: _("Booking #{booking_id} is {status}, not pending.").format(
        booking_id=p["booking_id"], status=_status(p["status"])
    ),
    "not_started": lambda p: _("Booking #{booking_id} has not started yet.").format(
        booking_id=p["booking_id"]
    ),
    "naive_time": lambda p: _("A time has no time zone."),
    "end_first": lambda p: _("The end must be after the start."),
    "in_the_past": lambda p: _("The start is in the past."),
    "too_long": lambda p: _("A booking can be at most {duration} long.").format(
        duration=_duration(int(p["minutes"]))
    ),
    "too_far_ahead": lambda p: ngettext(
        "Bookings can be made at most {count} day ahead.",
        "Bookings can be made at most {count} days ahead.",
        int(p["days"]),
    ).format(count=p["days"]),
    "title_too_long": lambda p: _(
        "The title is {length} characters long; the limit is {limit}."
    ).format(length=p["length"], limit=p["limit"]),
    "admins_only": _admins_only,
    "unknown_room": lambda p: _("There is no room '{room_id}'.").format(room_id=p["room_id"]),
    "unknown_booking": lambda p: _("There is no booking #{booking_id}.").format(
        booking_id=p["booking_id"]
    ),
    "reason_too_long": lambda p: _("A reason is at most {limit} characters.").format(
        limit=p["limit"]
    ),
    "room_exists": lambda p: _("Room {room_id} exists already.").format(room_id=p["room_id"]),
    "not_yours_change": lambda p: _(
        "Only the person who booked it, or an admin, can change this booking."
    ),
    "not_yours_end": lambda p: _(
        "Only the person who booked it, or an admin, can end this booking."
    ),
    "not_yours_check_in": lambda p: _("Only the person who booked it, or an admin, can check in."),
    "not_yours_release": lambda p: _(
        "Only the person who booked it, or an admin, can release this room."
    ),
    "started": lambda p: _(
        "Booking #{booking_id} has started; only its end and title can change."
    ).format(booking_id=p["booking_id"]),
    "started_grows": lambda p: _(
        "Booking #{booking_id} has started, so it cannot wait for approval again: its end "
        "cannot move later. Book the extra time as a new request."
    ).format(booking_id=p["booking_id"]),
    "end_not_approved": lambda p: _(
        "Booking #{booking_id} is not approved yet; cancel it instead of ending it."
    ).format(booking_id=p["booking_id"]),
    "end_not_started": lambda p: _(
        "Booking #{booking_id} has not started yet; cancel it or change its time instead."
    ).format(booking_id=p["booking_id"]),
    "check_in_not_approved": lambda p: _(
        "Booking #{booking_id} is {status}; only an approved booking checks in."
    ).format(booking_id=p["booking_id"], status=_status(p["status"])),
    "check_in_closed": lambda p: _(
        "Check-in for booking #{booking_id} is open from {before} before its start "
        "until {after} after it."
    ).format(
        booking_id=p["booking_id"],
        before=_duration(int(p["before"])),
        after=_duration(int(p["after"])),
    ),
    "release_not_approved": lambda p: _(
        "Booking #{booking_id} is {status}; only an approved booking is released."
    ).format(booking_id=p["booking_id"], status=_status(p["status"])),
    "release_checked_in": lambda p: _(
        "Booking #{booking_id} is checked in; end it instead to free the room."
    ).format(booking_id=p["booking_id"]),
    "ended": lambda p: _("Booking #{booking_id} has ended already.").format(
        booking_id=p["booking_id"]
    ),
    "check_in_open": lambda p: _(
        "The check-in window of booking #{booking_id} is still open."
    ).format(booking_id=p["booking_id"]),
    "not_changeable": lambda p: _(
        "Booking #{booking_id} is {status}; it can no longer be changed."
    ).format(booking_id=p["booking_id"], status=_status(p["status"])),
    "end_in_the_past": lambda p: _("The end is in the past."),
    "offer_not_yours": lambda p: _("This offer is for someone else."),
    "offer_booked": lambda p: _("You booked this slot already."),
    "offer_closed": lambda p: _("This offer is no longer open."),
    "offer_lapsed": lambda p: _("This offer has lapsed; the slot passed to the next person."),
    "offer_gone": lambda p: _("That offer no longer exists."),
    "no_check_in": lambda p: _("Room {room_id} does not use check-in.").format(
        room_id=p["room_id"]
    ),
    "free_then": lambda p: _("Room {room_id} is free then: book it instead.").format(
        room_id=p["room_id"]
    ),
    "control_characters": _control_characters,
    "quota_bookings": _quota_bookings,
    "quota_hours": lambda p: _(
        "You have {left} left that week (the limit is {limit}). "
        "Choose a shorter booking or another week."
    ).format(left=_duration(int(p["left_minutes"])), limit=_duration(int(p["limit_minutes"]))),
    "not_approver": lambda p: _(
        "Only admins and the approvers of room {room_id} can approve or deny its bookings."
    ).format(room_id=p["room_id"]),
    "slack_ids_invalid": _slack_ids_invalid,
    "too_many_ids": lambda p: _("At most {limit} ids here.").format(limit=p["limit"]),
    "location_too_long": lambda p: _("A location is at most {limit} characters.").format(
        limit=p["limit"]
    ),
    "tags_invalid": lambda p: _(
        "A room has at most {count} tags of at most {length} characters each."
    ).format(count=p["count"], length=p["length"]),
    "room_yours": lambda p: _(
        "You already hold room {room_id} for that time (booking #{booking_id})."
    ).format(room_id=p["room_id"], booking_id=p["booking_id"]),
    "room_taken": lambda p: _("Room {room_id} is taken for that time.").format(
        room_id=p["room_id"]
    ),
}


def text(error: BookingError) -> str:
    """The refusal as plain text (a modal field error)."""
    render = TEXTS.get(error.code or "")
    return render(error.params) if render is not None else error.message


def reply(error: BookingError) -> str:
    """The refusal as a message: escaped for mrkdwn, with a warning sign."""
    return f":warning: {escape(text(error))}"
