"""The /book modal: building it, and reading a submission back into aware datetimes."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.commands import RequestSeries
from bot.domain.errors import InvalidBooking
from bot.domain.model import BookingStatus
from bot.domain.recurrence import MAX_OCCURRENCES, Frequency, Repeat
from bot.services.ports import BookingRow, RoomRow
from bot.views import ids, refusals, texts
from bot.views.blocks import OPTION_TEXT_MAX, Block, actions, button, context, plain, section
from bot.views.i18n import _, calendar_day, per_language, span, wall_time
from bot.views.lists import people, wait_value
from bot.views.mrkdwn import clip, escape, mention, shown
from bot.views.series import weekday_names

MAX_ROOM_OPTIONS = 100  # Slack's limit for a static_select


def room_label(room: RoomRow) -> str:
    """``Board room (201) · 12 people · HQ 3F · projector, video``, clipped to fit an option."""
    parts = [f"{room.name} ({room.id})", people(room.capacity)]
    if room.location:
        parts.append(room.location)
    if room.tags:
        parts.append(", ".join(room.tags))
    return clip(" · ".join(parts), OPTION_TEXT_MAX)


def _room_option(room: RoomRow) -> dict[str, Any]:
    return {"text": plain(room_label(room), OPTION_TEXT_MAX), "value": room.id}


@per_language
def _room_options(rooms: tuple[RoomRow, ...]) -> list[dict[str, Any]]:
    """Every /book lists the same rooms: their options are rendered once per language."""
    return [_room_option(r) for r in rooms]


def _next_half_hour(now: datetime) -> datetime:
    base = now.replace(second=0, microsecond=0)
    return base + timedelta(minutes=30 - base.minute % 30)


def booking_modal(
    rooms: Sequence[RoomRow],
    tz: ZoneInfo,
    now: datetime,
    *,
    room_id: str | None = None,
    max_title: int = 150,
    booking: BookingRow | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    zone_guessed: bool = False,
    horizon_days: int = 90,
    series: RequestSeries | None = None,
    title: str = "",
    by: str | None = None,
    back: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The form, prefilled with today and the next half hour in the booker's time zone, or with
    the window (and ``title``) given: a found room's *Change…*, a taken slot's *Back to the form*.

    ``zone_guessed``: Slack did not say the booker's zone, so the form says which one it uses
    rather than calling it theirs. A new booking can repeat (the Repeat fields); a change is
    to one booking, or one date of a series, so its form has none. ``series``: the form again
    from a preview's *Change the pattern*, filled in with that request. ``by``: who opened the
    Change form; an admin changing someone else's booking is told whose it is. ``back``: the
    list the Change was clicked in, shown again once it is saved (see
    :func:`bot.views.modals.cancel_modal`)."""
    # Arithmetic in UTC, then shown locally: a wall-clock sum could land in a DST gap.
    if booking is not None:  # the Change form: filled in with the booking
        start, end = booking.starts_at.astimezone(tz), booking.ends_at.astimezone(tz)
        room_id = booking.room_id
    elif series is not None:  # back from the preview of a repeating booking
        start, end = series.starts_at.astimezone(tz), series.ends_at.astimezone(tz)
        room_id = series.room_id
    elif starts_at is not None and ends_at is not None:  # a found room's *Change…*
        start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    else:
        start = _next_half_hour(now.astimezone(tz)).astimezone(UTC).astimezone(tz)
        end = (start.astimezone(UTC) + timedelta(hours=1)).astimezone(tz)
    options = list(_room_options(tuple(rooms[:MAX_ROOM_OPTIONS])))  # a copy to insert in
    room_select: Block = {
        "type": "static_select",
        "action_id": ids.ROOM_ACTION,
        "placeholder": plain(_("Choose a room")),
        "options": options,
    }
    if booking is not None and not any(o["value"] == booking.room_id for o in options):
        # a room deactivated since stays choosable for the booking that already holds it
        options.insert(0, _room_option(RoomRow(booking.room_id, booking.room_name, 1, False)))
    chosen = next((o for o in options if o["value"] == room_id), None)
    if chosen is not None:
        room_select["initial_option"] = chosen
    if booking is not None:
        title = booking.title
    elif series is not None:
        title = series.title
    blocks: list[Block] = [
        {
            "type": "input",
            "block_id": ids.ROOM_BLOCK,
            "label": plain(_("Room")),
            "element": room_select,
        },
        {
            "type": "input",
            "block_id": ids.DATE_BLOCK,
            "label": plain(_("Date")),
            "element": {
                "type": "datepicker",
                "action_id": ids.DATE_ACTION,
                "initial_date": start.date().isoformat(),
            },
        },
        {
            "type": "input",
            "block_id": ids.START_BLOCK,
            "label": plain(_("Start")),
            "element": {
                "type": "timepicker",
                "action_id": ids.START_ACTION,
                "initial_time": f"{start:%H:%M}",
            },
        },
        {
            "type": "input",
            "block_id": ids.END_BLOCK,
            "label": plain(_("End")),
            "element": {
                "type": "timepicker",
                "action_id": ids.END_ACTION,
                "initial_time": f"{end:%H:%M}" if end.date() == start.date() else "23:59",
            },
        },
        {
            "type": "input",
            "block_id": ids.TITLE_BLOCK,
            "optional": True,
            "label": plain(_("Title")),
            "element": {
                "type": "plain_text_input",
                "action_id": ids.TITLE_ACTION,
                "max_length": max_title,
                "placeholder": plain(_("What is it for? (optional)")),
                **({"initial_value": title} if title else {}),
            },
        },
        context(texts.form_zone_guessed(tz.key) if zone_guessed else texts.form_times_hint(tz.key)),
    ]
    if booking is None:
        blocks += repeat_blocks(horizon_days, series.repeat if series is not None else None)
    meta: dict[str, Any] = {"tz": tz.key}
    if booking is not None:
        meta["booking_id"] = booking.booking_id
        if back:
            meta["back"] = back
        changing = _(
            "Changing booking #{booking_id}. Moving it, making it longer or choosing "
            "another room asks an admin to approve it again; a shorter slot or a new "
            "title keeps an approval."
        ).format(booking_id=booking.booking_id)
        if by is not None and by != booking.booker:
            changing = _(
                "Changing booking #{booking_id}, booked by {booker}, who is told about the "
                "change. Moving it, making it longer or choosing another room asks for approval "
                "again; a shorter slot or a new title keeps an approval."
            ).format(booking_id=booking.booking_id, booker=mention(booking.booker))
        blocks.insert(0, context(changing))
    return {
        "type": "modal",
        "callback_id": ids.BOOK_MODAL,
        "title": plain(_("Change booking") if booking else _("Book a room"), 24),
        "submit": plain(_("Save change") if booking else _("Request"), 24),
        "close": plain(_("Cancel"), 24),
        "private_metadata": json.dumps(meta),
        "blocks": blocks,
    }


#: The Repeat choices: value -> (frequency, whether "every how many weeks" goes with it).
_REPEATS: dict[str, tuple[Frequency | None, bool]] = {
    "none": (None, False),
    "daily": (Frequency.DAILY, False),
    "weekly": (Frequency.WEEKLY, False),
    "weeks": (Frequency.WEEKLY, True),
}


def _repeat_options() -> list[dict[str, Any]]:
    labels = {
        "none": _("Does not repeat"),
        "daily": _("Every day"),
        "weekly": _("Every week"),
        "weeks": _("Every few weeks"),
    }
    return [{"text": plain(labels[v], OPTION_TEXT_MAX), "value": v} for v in _REPEATS]


def _choice(repeat: Repeat | None) -> str:
    if repeat is None:
        return "none"
    if repeat.frequency == Frequency.DAILY:
        return "daily"
    return "weeks" if repeat.interval > 1 else "weekly"


def repeat_blocks(horizon_days: int, repeat: Repeat | None = None) -> list[Block]:
    """Repeat (does not repeat, every day, every week, every N weeks), the weekdays of a weekly
    one, N, and its end: a last date or a number of times, filled in with ``repeat`` if given.
    Slack's datepicker has no bounds, so the horizon is said in the hint and checked on
    submission."""
    if repeat is None:
        return list(_blank_repeat_blocks(horizon_days))
    return _repeat_blocks(horizon_days, repeat)


@per_language
def _blank_repeat_blocks(horizon_days: int) -> list[Block]:
    """The Repeat fields of every new booking's form, rendered once per language."""
    return _repeat_blocks(horizon_days, None)


def _repeat_blocks(horizon_days: int, repeat: Repeat | None) -> list[Block]:
    options = _repeat_options()
    days = [
        {"text": plain(weekday_names((d,)), OPTION_TEXT_MAX), "value": str(d)} for d in range(7)
    ]
    weekdays: Block = {"type": "checkboxes", "action_id": ids.WEEKDAYS_ACTION, "options": days}
    interval: Block = {
        "type": "number_input",
        "action_id": ids.INTERVAL_ACTION,
        "is_decimal_allowed": False,
        "min_value": "2",
        "max_value": "12",
    }
    until: Block = {"type": "datepicker", "action_id": ids.UNTIL_ACTION}
    count: Block = {
        "type": "number_input",
        "action_id": ids.COUNT_ACTION,
        "is_decimal_allowed": False,
        "min_value": "2",
        "max_value": str(MAX_OCCURRENCES),
    }
    if repeat is not None:
        if repeat.weekdays:
            weekdays["initial_options"] = [days[d] for d in sorted(set(repeat.weekdays))]
        if repeat.interval > 1:
            interval["initial_value"] = str(repeat.interval)
        if repeat.until is not None:
            until["initial_date"] = repeat.until.isoformat()
        if repeat.count is not None:
            count["initial_value"] = str(repeat.count)
    chosen = next(o for o in options if o["value"] == _choice(repeat))
    return [
        {
            "type": "input",
            "block_id": ids.REPEAT_BLOCK,
            "label": plain(_("Repeat")),
            "element": {
                "type": "static_select",
                "action_id": ids.REPEAT_ACTION,
                "options": options,
                "initial_option": chosen,
            },
        },
        {
            "type": "input",
            "block_id": ids.WEEKDAYS_BLOCK,
            "optional": True,
            "label": plain(_("On these days (weekly; none: the date's weekday)")),
            "element": weekdays,
        },
        {
            "type": "input",
            "block_id": ids.INTERVAL_BLOCK,
            "optional": True,
            "label": plain(_("Every how many weeks (with Every few weeks)")),
            "element": interval,
        },
        {
            "type": "input",
            "block_id": ids.UNTIL_BLOCK,
            "optional": True,
            "label": plain(_("Until (the last date)")),
            "element": until,
        },
        {
            "type": "input",
            "block_id": ids.COUNT_BLOCK,
            "optional": True,
            "label": plain(_("Or this many times")),
            "element": count,
        },
        context(
            _(
                "A repeating booking shows you its dates, free and taken, before anything is "
                "held. At most {limit} times, the last within {days} days from today."
            ).format(limit=MAX_OCCURRENCES, days=horizon_days)
        ),
    ]


def request_sent(row: BookingRow, tz: ZoneInfo, *, email: bool) -> dict[str, Any]:
    """What the booking modal turns into once the request is in (or approved by policy).

    ``email``: the app sends email, so the booker is told one comes."""
    title = f" · {shown(row.title)}" if row.title else ""
    heading = _("Booking #{booking_id}").format(booking_id=row.booking_id)
    approved = row.status == BookingStatus.APPROVED
    if approved and email:
        follow = _(
            "Approved by policy: no admin decision was needed. You'll get a DM and an email."
        )
    elif approved:
        follow = _("Approved by policy: no admin decision was needed. You'll get a DM.")
    elif email:
        follow = _(
            "The slot is held for you. You'll get a DM and an email once it is approved or denied."
        )
    else:
        follow = _("The slot is held for you. You'll get a DM once it is approved or denied.")
    icon = ":white_check_mark:" if approved else ":hourglass_flowing_sand:"
    return {
        "type": "modal",
        "title": plain(_("Booked") if approved else _("Request sent"), 24),
        "close": plain(_("Done"), 24),
        "blocks": [
            section(
                f"{icon} *{heading}* – "
                f"{escape(row.room_name)}{title}\n{span(row.starts_at, row.ends_at, tz)}"
            ),
            context(follow),
        ],
    }


def change_saved(
    row: BookingRow, changed: bool, tz: ZoneInfo, *, email: bool, by: str | None = None
) -> dict[str, Any]:
    """The modal after a change: what the booking is now, and whether it waits for approval.

    ``email``: the app sends email, so the booker is told one comes. ``by``: who changed it;
    an admin who changed someone else's booking is told that the booker hears of it."""
    title = f" · {shown(row.title)}" if row.title else ""
    heading = _("Booking #{booking_id}").format(booking_id=row.booking_id)
    line = f"*{heading}* – {escape(row.room_name)}{title}\n{span(row.starts_at, row.ends_at, tz)}"
    theirs = by is not None and by != row.booker
    if not changed:
        icon, note = ":information_source:", _("Nothing was different, so nothing changed.")
    elif theirs:
        if row.status == BookingStatus.PENDING:
            icon, waits = ":hourglass_flowing_sand:", _("It waits for approval.")
        else:
            icon, waits = ":white_check_mark:", _("It stays approved.")
        told = (
            _("{booker} gets a DM and an email about the change.")
            if email
            else _("{booker} gets a DM about the change.")
        ).format(booker=mention(row.booker))
        note = f"{waits} {told}"
    elif row.status == BookingStatus.PENDING:
        icon = ":hourglass_flowing_sand:"
        note = (
            _(
                "The new slot is held for you and the old one is free. You'll get a DM and an "
                "email once the change is approved or denied."
            )
            if email
            else _(
                "The new slot is held for you and the old one is free. You'll get a DM once the "
                "change is approved or denied."
            )
        )
    else:
        icon = ":white_check_mark:"
        note = (
            _("It stays approved. You'll get a DM, and an email with the updated invite.")
            if email
            else _("It stays approved. You'll get a DM.")
        )
    return {
        "type": "modal",
        "title": plain(_("Booking changed") if changed else _("No change"), 24),
        "close": plain(_("Done"), 24),
        "blocks": [section(f"{icon} {line}"), context(note)],
    }


def slot_taken(
    text: str,
    room_id: str,
    starts_at: datetime,
    ends_at: datetime,
    title: str,
    tz: ZoneInfo,
    *,
    offer: bool = True,
    free: tuple[datetime, datetime] | None = None,
) -> dict[str, Any]:
    """The booking form after its request was refused because someone holds the slot: who, and
    where to go instead (``text``, mrkdwn), with *Tell me if it frees up* (the waitlist, as the
    one-line answer offers; not with ``offer`` False), *Request* the room's next ``free`` slot
    with one click, and *Back to the form*, filled in again."""
    value = wait_value(room_id, starts_at, ends_at, title)
    buttons = [button(_("Back to the form"), ids.BOOK_BACK, value)]
    if free is not None:
        label = _("Request {when}").format(when=span(free[0], free[1], tz, zone=False))
        buttons.insert(0, button(label, ids.BOOK_FREE, wait_value(room_id, *free, title)))
    blocks: list[Block] = [section(f":no_entry: {text}")]
    if offer:
        buttons.insert(0, button(_("Tell me if it frees up"), ids.WAIT, value, style="primary"))
        blocks.append(
            context(
                _(
                    "On the waitlist, you get a DM with *Book it* if the slot frees up "
                    "(a cancel, a denial, a release)."
                )
            )
        )
    blocks.append(actions(*buttons))
    return {
        "type": "modal",
        "title": plain(_("Room taken"), 24),
        "close": plain(_("Close"), 24),
        "private_metadata": json.dumps({"tz": tz.key}),
        "blocks": blocks,
    }


def on_waitlist(
    room_id: str, starts_at: datetime, ends_at: datetime, tz: ZoneInfo
) -> dict[str, Any]:
    """The taken-slot view once its *Tell me if it frees up* put the booker on the waitlist."""
    return {
        "type": "modal",
        "title": plain(_("On the waitlist"), 24),
        "close": plain(_("Done"), 24),
        "blocks": [
            section(f"{texts.waiting(room_id)}\n{span(starts_at, ends_at, tz)}"),
        ],
    }


def loading_modal() -> dict[str, Any]:
    """What opens at once while Slack is asked for the booker's time zone and language.

    It is shown before the language is known, so it has no words: the product's name, an
    hourglass, and Slack's own close button (in the reader's Slack language)."""
    return {
        "type": "modal",
        "callback_id": ids.BOOK_MODAL,
        "title": plain("roombot", 24),
        "blocks": [context(":hourglass_flowing_sand:")],
    }


@dataclass(frozen=True)
class BookingForm:
    room_id: str
    starts_at: datetime
    ends_at: datetime
    title: str
    #: The booking being changed, if the form was opened by a Change button.
    booking_id: int | None = None
    #: How a new booking repeats (``None``: it does not).
    repeat: Repeat | None = None


def _value(values: dict[str, Any], block: str, action: str) -> dict[str, Any]:
    found: dict[str, Any] = values.get(block, {}).get(action, {})
    return found


def to_aware(day: date, at: time, tz: ZoneInfo) -> datetime | None:
    """The local wall time as an aware datetime, or ``None`` if the clocks skip it (DST gap) or
    it has no UTC moment (year 1 or 9999 at the edge of a zone)."""
    try:
        local = datetime.combine(day, at, tzinfo=tz)
        round_trip = local.astimezone(UTC).astimezone(tz)
    except OverflowError:
        return None
    if round_trip.replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return local


def clock_gap(at: str, day: date, tz: ZoneInfo) -> str:
    """The error for a wall time the clocks skip on that day (a daylight saving change)."""
    try:
        shown = wall_time(time.fromisoformat(at))
    except ValueError:
        shown = at
    return _("{time} does not exist on {date} in {zone} (clock change).").format(
        time=shown, date=calendar_day(day), zone=tz.key
    )


_CLOCK = re.compile(r"^([01]?[0-9]|2[0-4]):([0-5][0-9])$")


def wall_clock(text: str) -> time | None:
    """``9:00``, ``09:00`` or ``24:00`` (midnight at the end of the day) as a time; else None."""
    found = _CLOCK.match(text or "")
    if found is None or (found[1] == "24" and found[2] != "00"):
        return None
    return time(int(found[1]) % 24, int(found[2]))


def end_day(day: date, start: time, end: time) -> date | None:
    """The day an end falls on: the same day, or the next one when the end is not after the
    start (``22:00-01:00``, an end of ``00:00`` or ``24:00``). None past the calendar's end."""
    if end > start:
        return day
    try:
        return day + timedelta(days=1)
    except OverflowError:
        return None


def form_zone(view: dict[str, Any]) -> ZoneInfo | None:
    """The zone the form was shown in (kept in ``private_metadata``), or None if the metadata is
    not what this app wrote."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        return ZoneInfo(meta["tz"]) if isinstance(meta, dict) else None
    except (ValueError, TypeError, KeyError, RecursionError, ZoneInfoNotFoundError):
        return None


def _text(values: Any, block: str, action: str, key: str) -> str | None:
    try:
        found = values[block][action][key]
    except (KeyError, TypeError, IndexError):
        return None
    if key == "selected_option":
        found = found.get("value") if isinstance(found, dict) else None
    return found if isinstance(found, str) and found else None


def read_booking(
    view: dict[str, Any],
) -> tuple[BookingForm | None, dict[str, str], ZoneInfo]:
    """Read a submitted modal. Returns the form, or the errors keyed by block id, and the zone.

    Anything Slack would never send (a tampered zone, a date that is not a date) comes back as a
    field error, like a missing choice."""
    tz = form_zone(view)
    if tz is None:
        return None, {ids.DATE_BLOCK: texts.form_outdated()}, ZoneInfo("UTC")
    values = (view.get("state") or {}).get("values") or {}
    errors: dict[str, str] = {}
    room = _text(values, ids.ROOM_BLOCK, ids.ROOM_ACTION, "selected_option")
    day_text = _text(values, ids.DATE_BLOCK, ids.DATE_ACTION, "selected_date")
    start_text = _text(values, ids.START_BLOCK, ids.START_ACTION, "selected_time")
    end_text = _text(values, ids.END_BLOCK, ids.END_ACTION, "selected_time")
    title = _text(values, ids.TITLE_BLOCK, ids.TITLE_ACTION, "value") or ""
    try:
        day = date.fromisoformat(day_text or "")
    except ValueError:
        day = None
    start_t, end_t = wall_clock(start_text or ""), wall_clock(end_text or "")
    if not room:
        errors[ids.ROOM_BLOCK] = _("Choose a room.")
    if day is None:
        errors[ids.DATE_BLOCK] = _("Choose a date.")
    if start_t is None:
        errors[ids.START_BLOCK] = _("Choose a start time.")
    if end_t is None:
        errors[ids.END_BLOCK] = _("Choose an end time.")
    if errors or room is None or day is None or start_t is None or end_t is None:
        return None, errors, tz
    starts_at = to_aware(day, start_t, tz)
    last_day = end_day(day, start_t, end_t)
    ends_at = to_aware(last_day, end_t, tz) if last_day is not None else None
    if starts_at is None:
        errors[ids.START_BLOCK] = clock_gap(start_text or "", day, tz)
    if ends_at is None:
        errors[ids.END_BLOCK] = clock_gap(end_text or "", last_day or day, tz)
    if starts_at is None or ends_at is None:
        return None, errors, tz
    try:
        meta = json.loads(view.get("private_metadata") or "{}")  # form_zone read it already
    except ValueError:
        meta = {}
    changing = meta.get("booking_id") if isinstance(meta, dict) else None
    if isinstance(changing, bool) or not isinstance(changing, int | str | None):
        changing = None
    try:
        booking_id = int(changing) if changing is not None else None
    except ValueError:
        return None, {ids.DATE_BLOCK: texts.form_outdated()}, tz
    repeat, errors = read_repeat(values, starts_at.date()) if booking_id is None else (None, {})
    if errors:
        return None, errors, tz
    form = BookingForm(room, starts_at, ends_at, title, booking_id, repeat)
    return form, {}, tz


def _number(values: Any, block: str, action: str) -> int | str | None:
    """A number_input's whole number; ``None`` if empty, ``""`` if it is not one."""
    text = _text(values, block, action, "value")
    if text is None:
        return None
    return int(text) if re.fullmatch(r"[0-9]{1,3}", text) else ""


def _weekdays(values: Any) -> tuple[int, ...] | None:
    """The checked weekdays, or None if a value is not one the form offered."""
    try:
        chosen = values[ids.WEEKDAYS_BLOCK][ids.WEEKDAYS_ACTION]["selected_options"]
    except (KeyError, TypeError, IndexError):
        return ()
    if not isinstance(chosen, list):
        return None
    days = [o.get("value") if isinstance(o, dict) else None for o in chosen]
    if not all(isinstance(d, str) and d in "0123456" and len(d) == 1 for d in days):
        return None
    return tuple(sorted({int(d) for d in days if isinstance(d, str)}))


#: Where a refusal of the repeat pattern goes, by the domain's field name.
REPEAT_FIELD_BLOCKS = {
    "interval": ids.INTERVAL_BLOCK,
    "weekdays": ids.WEEKDAYS_BLOCK,
    "count": ids.COUNT_BLOCK,
}


def repeat_field_block(field: str | None, repeat: Repeat | None) -> str | None:
    """The block a refusal about the repeat pattern belongs on: its end goes on the end the
    person gave (the last date or the number of times)."""
    if field == "repeat_end":
        return (
            ids.COUNT_BLOCK if repeat is not None and repeat.count is not None else ids.UNTIL_BLOCK
        )
    return REPEAT_FIELD_BLOCKS.get(field or "")


def read_repeat(values: Any, first: date) -> tuple[Repeat | None, dict[str, str]]:
    """The Repeat fields as a :class:`Repeat` (``None``: does not repeat), or the field errors
    of a combination that does not make one."""
    choice = _text(values, ids.REPEAT_BLOCK, ids.REPEAT_ACTION, "selected_option") or "none"
    if choice not in _REPEATS:
        return None, {ids.REPEAT_BLOCK: texts.form_outdated()}
    frequency, every_n_weeks = _REPEATS[choice]
    weekdays = _weekdays(values)
    interval = _number(values, ids.INTERVAL_BLOCK, ids.INTERVAL_ACTION)
    count = _number(values, ids.COUNT_BLOCK, ids.COUNT_ACTION)
    until_text = _text(values, ids.UNTIL_BLOCK, ids.UNTIL_ACTION, "selected_date")
    errors: dict[str, str] = {}
    try:
        until = date.fromisoformat(until_text) if until_text else None
    except ValueError:
        until, errors[ids.UNTIL_BLOCK] = None, _("Choose a date.")
    if weekdays is None:
        weekdays, errors[ids.WEEKDAYS_BLOCK] = (), texts.form_outdated()
    if interval == "":
        interval, errors[ids.INTERVAL_BLOCK] = None, texts.capacity_not_a_number()
    if count == "":
        count, errors[ids.COUNT_BLOCK] = None, texts.capacity_not_a_number()
    if frequency is None:
        filled = {
            ids.WEEKDAYS_BLOCK: bool(weekdays),
            ids.INTERVAL_BLOCK: interval is not None,
            ids.UNTIL_BLOCK: until is not None,
            ids.COUNT_BLOCK: count is not None,
        }
        for block, given in filled.items():
            if given:
                errors[block] = _(
                    "This booking does not repeat: choose how it repeats, or clear this."
                )
        return None, errors
    if every_n_weeks and interval is None:
        errors[ids.INTERVAL_BLOCK] = _("Say every how many weeks (2 to 12).")
    elif not every_n_weeks and interval is not None:
        errors[ids.INTERVAL_BLOCK] = _(
            "The number of weeks goes with Every few weeks: choose it, or clear this."
        )
    if frequency == Frequency.DAILY and weekdays:
        errors[ids.WEEKDAYS_BLOCK] = _(
            "Weekdays go with a weekly series: choose Every week, or clear them."
        )
    if until is not None and count is not None:
        errors[ids.COUNT_BLOCK] = _("Give a last date or a number of times, not both.")
    elif until is None and count is None:
        errors[ids.UNTIL_BLOCK] = _("Say until when it repeats, or how many times (below).")
    elif until is not None and until <= first:
        errors[ids.UNTIL_BLOCK] = _("The last date must be after the first date ({date}).").format(
            date=first.isoformat()
        )
    if errors:
        return None, errors
    try:
        repeat = Repeat(
            frequency,
            interval=interval if isinstance(interval, int) else 1,
            weekdays=weekdays,
            until=until,
            count=count if isinstance(count, int) else None,
        )
    except InvalidBooking as error:
        block = repeat_field_block(error.field, None) or ids.REPEAT_BLOCK
        return None, {block: refusals.text(error)}
    return repeat, {}
