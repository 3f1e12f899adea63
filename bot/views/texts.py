"""Words the user reads outside notifications and cards: help, replies, refusals.

Functions, not constants: each is rendered in the active language when it is called.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.domain.model import BookingStatus
from bot.views.cards import status_word
from bot.views.i18n import _, calendar_day, clock, span
from bot.views.mrkdwn import escape, mention, shown


def example() -> str:
    return _("/book 102 2026-12-01 09:00-10:00 Weekly sync")


def help_text(*, email: bool) -> str:
    """``email``: the app sends email (SMTP is set up), so the help may promise it."""
    return "\n".join(
        [
            _("*Book a meeting room with* `/book`"),
            _(
                "• `/book` – open the booking form (it can also repeat: daily, weekly, "
                "every few weeks)"
            ),
            _("• `{example}` – book in one line (times in your Slack time zone)").format(
                example=example()
            ),
            _(
                "• `/book find 6 now 30m projector` – rooms free now "
                "(or `14:00`, `tomorrow 10:00`) that fit"
            ),
            _("• `/book list` – your upcoming bookings, with Change, End now and Cancel buttons"),
            _("• `/book list 102` – a room's upcoming bookings"),
            _(
                "• `/book list @someone` – (admins) their upcoming bookings, with Approve, Deny, "
                "Change and Cancel"
            ),
            _("• `/book cancel 42` – cancel booking #42"),
            _("• `/book checkin` – check in to your booking starting now (where a room asks)"),
            _("• `/book rooms` – the rooms (admins can add and edit them there)"),
            _("• `/book help` – this help"),
            _(
                "A booking is a request until an admin or the room's policy approves it; "
                "you get a DM and an email at each step."
            )
            if email
            else _(
                "A booking is a request until an admin or the room's policy approves it; "
                "you get a DM at each step."
            ),
        ]
    )


def cannot_change(booking_id: int, status: BookingStatus | None) -> str:
    """A Change click on a booking that is gone, closed or over."""
    if status is None:
        return _("Booking #{booking_id} no longer exists.").format(booking_id=booking_id)
    if status.holds_slot:
        return _("Booking #{booking_id} is over and can no longer be changed.").format(
            booking_id=booking_id
        )
    return _(
        "Booking #{booking_id} is {status} and can no longer be changed. Nothing was changed."
    ).format(booking_id=booking_id, status=status_word(status))


def cannot_cancel(booking_id: int, status: BookingStatus | None) -> str:
    """An admin's Cancel click on a booking that is gone, closed or over."""
    if status is None:
        return _("Booking #{booking_id} no longer exists.").format(booking_id=booking_id)
    if status.holds_slot:
        return _("Booking #{booking_id} is over and can no longer be cancelled.").format(
            booking_id=booking_id
        )
    return _(
        "Booking #{booking_id} is {status} and can no longer be cancelled. Nothing was changed."
    ).format(booking_id=booking_id, status=status_word(status))


def not_yours_to_change() -> str:
    """A Change click by someone who neither booked it nor is an admin (an approver's card)."""
    return ":warning: " + _("Only the person who booked it, or an admin, can change this booking.")


def ended_now(booking_id: int) -> str:
    return _(
        ":checkered_flag: Booking #{booking_id} is ended; the rest of the slot is free."
    ).format(booking_id=booking_id)


def checked_in(booking_id: int) -> str:
    return _(
        ":white_check_mark: Checked in to booking #{booking_id}. The room stays yours."
    ).format(booking_id=booking_id)


def released(booking_id: int) -> str:
    return _(":recycle: Booking #{booking_id} is released; others can book the room now.").format(
        booking_id=booking_id
    )


def no_checkin_now() -> str:
    return _(
        "You have no approved booking starting now. Check-in opens 15 minutes before the start."
    )


def waiting(room_id: str) -> str:
    return _(
        ":hourglass: You're on the waitlist for room {room}. If the slot frees up, you get a DM "
        "with *Book it*."
    ).format(room=escape(room_id))


def claimed(booking_id: int, *, email: bool) -> str:
    if email:
        text = _(
            ":hourglass_flowing_sand: Requested (booking #{booking_id}). You'll get a DM and an "
            "email once it is approved or denied."
        )
    else:
        text = _(
            ":hourglass_flowing_sand: Requested (booking #{booking_id}). You'll get a DM once it "
            "is approved or denied."
        )
    return text.format(booking_id=booking_id)


def one_line_usage() -> str:
    return _(
        "Use `/book <room> <YYYY-MM-DD> <HH:MM>-<HH:MM> [title]`, for example `{example}`."
    ).format(example=example())


def not_admin_decide() -> str:
    return _("Only admins can approve or deny bookings. Nothing was changed.")


def not_admin_list() -> str:
    """A non-admin's ``/book list @someone`` (someone else)."""
    return ":lock: " + _(
        "Only admins can see someone else's bookings. `/book list` shows yours, and "
        "`/book list 102` a room's."
    )


def nothing_to_list(typed: str) -> str:
    """``/book list <text>`` whose text is neither a room nor a person."""
    return _(
        "“{typed}” is neither a room nor a person. Use `/book list 102` (a room id from "
        "`/book rooms`), `/book list @someone`, or a member ID such as `U0123ABCD`."
    ).format(typed=shown(typed, 80))


def not_admin_rooms() -> str:
    return _("Only admins can add or edit rooms.")


def feeds_off() -> str:
    return _(
        "Calendar feeds are off: the app's HTTP server needs a public URL (`PUBLIC_BASE_URL`)."
    )


def no_rooms() -> str:
    return _("There are no rooms to book yet. An admin can add one with `/book rooms`.")


def oops(ref: str) -> str:
    return _(
        "Sorry, something went wrong on our side and nothing was changed. "
        "Please try again in a moment; the error was logged (reference {ref})."
    ).format(ref=ref)


def not_allowed_to_decide(room_id: str | None) -> str:
    if room_id is None:
        return not_admin_decide()
    return _(
        "Only admins and the approvers of room {room_id} can approve or deny its bookings. "
        "Nothing was changed."
    ).format(room_id=escape(room_id))


def unknown_subcommand(word: str, *, email: bool) -> str:
    return (
        _("I don't know `/book {word}`.").format(word=escape(word))
        + "\n\n"
        + help_text(email=email)
    )


def unreadable_booking() -> str:
    return _("I could not read that booking.") + " " + one_line_usage()


def no_such_date() -> str:
    return _("That date or time does not exist.") + " " + one_line_usage()


def clock_change(day: date, tz: ZoneInfo) -> str:
    return _("That time does not exist on {date} in {zone} (the clocks change).").format(
        date=calendar_day(day), zone=tz.key
    )


def which_booking() -> str:
    return _(
        "Which booking? Use `/book cancel <id>`, for example `/book cancel 42`. "
        "`/book list` shows the ids."
    )


def cancelled(booking_id: int, room_name: str | None, when: str | None) -> str:
    if room_name is None or when is None:
        text = _("Booking #{booking_id} is cancelled.").format(booking_id=booking_id)
    else:
        text = _("Booking #{booking_id} ({room}, {when}) is cancelled.").format(
            booking_id=booking_id, room=escape(room_name), when=when
        )
    return f":wastebasket: {text}"


def requested(booking_id: int, room_id: str, when: str, *, email: bool) -> str:
    if email:
        text = _(
            "Requested room {room_id}, {when} (booking #{booking_id}). "
            "You'll get a DM and an email once it is approved or denied."
        )
    else:
        text = _(
            "Requested room {room_id}, {when} (booking #{booking_id}). "
            "You'll get a DM once it is approved or denied."
        )
    done = text.format(room_id=escape(room_id), when=when, booking_id=booking_id)
    return f":hourglass_flowing_sand: {done}"


def decided(booking_id: int, status: BookingStatus) -> str:
    """What an admin's click in a list did to a booking, above the list shown again."""
    return _("Booking #{booking_id} is {status}.").format(
        booking_id=booking_id, status=status_word(status)
    )


def changed(booking_id: int) -> str:
    """An admin's change saved from a form opened in a list, above the list shown again."""
    return _("Booking #{booking_id} is changed.").format(booking_id=booking_id)


def series_decided(series_id: int, status: BookingStatus) -> str:
    """What an admin's click in a list did to a series' waiting dates."""
    return _("Series #{series_id} is {status}.").format(
        series_id=series_id, status=status_word(status)
    )


def no_booking(booking_id: int) -> str:
    return _("Booking #{booking_id} no longer exists.").format(booking_id=booking_id)


def already_decided(
    booking_id: int, status: BookingStatus, by: str | None, *, by_requester: bool = False
) -> str:
    """A stale card or a second click: what happened already, and by whom."""
    state = status_word(status)
    if by_requester:
        text = _("Booking #{booking_id} was already {status} by the requester.")
    elif by:
        text = _("Booking #{booking_id} was already {status} by {who}.")
    else:
        text = _("Booking #{booking_id} was already {status}.")
    done_ = text.format(booking_id=booking_id, status=state, who=mention(by) if by else "")
    return done_ + " " + _("Nothing was changed.")


def series_already_decided(series_id: int, status: BookingStatus, by: str | None) -> str:
    """A second click on a series' card: no date of it waits for a decision any more."""
    if by:
        text = _("Series #{series_id} was already {status} by {who}.")
    else:
        text = _("Series #{series_id} was already {status}.")
    done_ = text.format(series_id=series_id, status=status_word(status), who=mention(by or ""))
    return done_ + " " + _("Nothing was changed.")


def no_room_any_more(room_id: str) -> str:
    return _("There is no room {room_id} any more.").format(room_id=escape(room_id))


def taken(
    room_id: str,
    holder: str | None,
    held: tuple[datetime, datetime] | None,
    tz: ZoneInfo,
    next_free: tuple[datetime, datetime] | None,
    free_rooms: Sequence[tuple[str, str]],
    *,
    markup: bool = True,
) -> str:
    """Who holds the room and until when, and where the booker could go instead.

    ``markup`` is False for a modal field error, which Slack shows as plain text."""
    esc = escape if markup else str
    if held is None:
        parts = [_("Room {room_id} is taken for that time.").format(room_id=esc(room_id))]
    else:
        parts = [
            _("Room {room_id} is taken by {who} until {until} ({held}).").format(
                room_id=esc(room_id),
                who=esc(holder) if holder else _("someone else"),
                until=clock(held[1], tz),
                held=span(held[0], held[1], tz),
            )
        ]
    if next_free is not None:
        parts.append(_("Free from {when}.").format(when=span(next_free[0], next_free[1], tz)))
    if free_rooms:
        names = ", ".join(f"{esc(name)} ({esc(rid)})" for rid, name in free_rooms[:3])
        parts.append(_("Free at that time: {rooms}.").format(rooms=names))
    return " ".join(parts)


def taken_by_you(
    room_id: str, booking_id: int, held: tuple[datetime, datetime], tz: ZoneInfo, *, markup: bool
) -> str:
    """The slot is taken by the one asking: their own booking is in the way, not someone's."""
    esc = escape if markup else str
    return _(
        "You already hold room {room_id} for that time: booking #{booking_id}, {held}."
    ).format(room_id=esc(room_id), booking_id=booking_id, held=span(held[0], held[1], tz))


def capacity_not_a_number() -> str:
    return _("Enter a whole number.")


def form_outdated() -> str:
    return _("This form is out of date. Close it and open a new one with /book.")


def form_times_hint(zone: str) -> str:
    return _(
        "Times are in your Slack time zone, *{zone}*. An end at or before the start is on the "
        "next day. An admin approves each request."
    ).format(zone=escape(zone))


def stale_button() -> str:
    return _("That button is out of date; nothing was changed. Try `/book list` for a fresh one.")


def form_zone_guessed(zone: str) -> str:
    return _(
        "Slack did not tell me your time zone, so the times below are in *{zone}*. An end at or "
        "before the start is on the next day. An admin approves each request."
    ).format(zone=escape(zone))


def zone_unknown() -> str:
    return _(
        "I could not read your time zone from Slack just now, so nothing was booked. "
        "Try again in a moment, or use `/book` without details: the form shows the zone it uses."
    )


def still_saving() -> str:
    return _(
        "Saving your click is taking longer than usual. The card and your Home tab update when "
        "it is saved; if it cannot be saved, I will tell you here."
    )


def no_booking_number(typed: str) -> str:
    return _("There is no booking #{booking_id}.").format(booking_id=escape(typed))
