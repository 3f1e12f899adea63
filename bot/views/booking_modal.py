"""The /book modal: building it, and reading a submission back into aware datetimes."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.model import BookingStatus
from bot.services.ports import BookingRow, RoomRow
from bot.views import ids, texts
from bot.views.blocks import OPTION_TEXT_MAX, Block, context, plain, section
from bot.views.i18n import _, span
from bot.views.lists import people
from bot.views.mrkdwn import clip, escape

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
) -> dict[str, Any]:
    """The form, prefilled with today and the next half hour in the booker's time zone, or with
    the window given (a found room's *Change…*).

    ``zone_guessed``: Slack did not say the booker's zone, so the form says which one it uses
    rather than calling it theirs."""
    # Arithmetic in UTC, then shown locally: a wall-clock sum could land in a DST gap.
    if booking is not None:  # the Change form: filled in with the booking
        start, end = booking.starts_at.astimezone(tz), booking.ends_at.astimezone(tz)
        room_id = booking.room_id
    elif starts_at is not None and ends_at is not None:  # a found room's *Change…*
        start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    else:
        start = _next_half_hour(now.astimezone(tz)).astimezone(UTC).astimezone(tz)
        end = (start.astimezone(UTC) + timedelta(hours=1)).astimezone(tz)
    options = [_room_option(r) for r in rooms[:MAX_ROOM_OPTIONS]]
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
                **({"initial_value": booking.title} if booking and booking.title else {}),
            },
        },
        context(texts.form_zone_guessed(tz.key) if zone_guessed else texts.form_times_hint(tz.key)),
    ]
    meta: dict[str, Any] = {"tz": tz.key}
    if booking is not None:
        meta["booking_id"] = booking.booking_id
        blocks.insert(
            0,
            context(
                _(
                    "Changing booking #{booking_id}. Moving it, making it longer or choosing "
                    "another room asks an admin to approve it again; a shorter slot or a new "
                    "title keeps an approval."
                ).format(booking_id=booking.booking_id)
            ),
        )
    return {
        "type": "modal",
        "callback_id": ids.BOOK_MODAL,
        "title": plain(_("Change booking") if booking else _("Book a room"), 24),
        "submit": plain(_("Save change") if booking else _("Request"), 24),
        "close": plain(_("Cancel"), 24),
        "private_metadata": json.dumps(meta),
        "blocks": blocks,
    }


def request_sent(row: BookingRow, tz: ZoneInfo, *, email: bool) -> dict[str, Any]:
    """What the booking modal turns into once the request is in (or approved by policy).

    ``email``: the app sends email, so the booker is told one comes."""
    title = f" · {escape(row.title)}" if row.title else ""
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
            "The slot is held for you. An admin will approve or deny it; "
            "you'll get a DM and an email."
        )
    else:
        follow = _("The slot is held for you. An admin will approve or deny it; you'll get a DM.")
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


def change_saved(row: BookingRow, changed: bool, tz: ZoneInfo, *, email: bool) -> dict[str, Any]:
    """The modal after a change: what the booking is now, and whether it waits for approval.

    ``email``: the app sends email, so the booker is told one comes."""
    title = f" · {escape(row.title)}" if row.title else ""
    heading = _("Booking #{booking_id}").format(booking_id=row.booking_id)
    line = f"*{heading}* – {escape(row.room_name)}{title}\n{span(row.starts_at, row.ends_at, tz)}"
    if not changed:
        icon, note = ":information_source:", _("Nothing was different, so nothing changed.")
    elif row.status == BookingStatus.PENDING:
        icon = ":hourglass_flowing_sand:"
        note = (
            _(
                "The new slot is held for you and the old one is free. An admin will approve or "
                "deny the change; you'll get a DM and an email."
            )
            if email
            else _(
                "The new slot is held for you and the old one is free. An admin will approve or "
                "deny the change; you'll get a DM."
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
    return _("{time} does not exist on {date} in {zone} (clock change).").format(
        time=at, date=day.isoformat(), zone=tz.key
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
    form = BookingForm(room, starts_at, ends_at, title, booking_id)
    return form, {}, tz
