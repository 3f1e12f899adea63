"""Ephemeral replies: the user's bookings with Cancel buttons, the room list, one-line results."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.services.ports import BookingRow, RoomRow
from bot.views import ids
from bot.views.blocks import (
    BUTTON_VALUE_MAX,
    MESSAGE_TEXT_MAX,
    Block,
    actions,
    button,
    context,
    section,
)
from bot.views.home import booking_rows, room_feed_picker
from bot.views.i18n import _, ngettext
from bot.views.mrkdwn import clip, escape, mention

LIST_LIMIT = 20  # 1 header + 20 bookings + 1 footer stays inside a message's 50 blocks
ROOMS_SHOWN = 40  # 1 header + 40 rooms + 1 footer + 1 button row <= 50 blocks


def my_bookings(
    rows: Sequence[BookingRow], total: int, tz: ZoneInfo, now: datetime | None = None
) -> dict[str, Any]:
    """The list with each booking's buttons; with ``now``, bookings under way offer End now."""
    if not rows:
        return {"text": _("You have no upcoming bookings. `/book` makes one."), "blocks": []}
    heading = _("*Your upcoming bookings* (times in {zone})").format(zone=tz.key)
    blocks: list[Block] = [section(heading)]
    blocks += booking_rows(rows, tz, now)
    if total > len(rows):
        more = total - len(rows)
        blocks.append(
            context(_("And {count} more; the App Home tab pages through all.").format(count=more))
        )
    text = ngettext(
        "You have {count} upcoming booking.", "You have {count} upcoming bookings.", total
    ).format(count=total)
    return {"text": text, "blocks": blocks}


def taken_reply(
    text: str, room_id: str, starts_at: datetime, ends_at: datetime, title: str
) -> dict[str, Any]:
    """A refusal because the slot is taken, offering to wait for it."""
    value = wait_value(room_id, starts_at, ends_at, title)
    return {
        "text": text,
        "blocks": [section(text), actions(button(_("Tell me if it frees up"), ids.WAIT, value))],
    }


def wait_value(room_id: str, starts_at: datetime, ends_at: datetime, title: str) -> str:
    """The *Tell me if it frees up* button's value, within Slack's limit for a value. Letters
    stay as they are (JSON's ``\\uXXXX`` would make a Korean title six times as long); a title
    still too long for it (quotes and backslashes are escaped) is clipped by as much as it is
    over."""
    fields = {
        "room": room_id,
        "start": starts_at.isoformat(),
        "end": ends_at.isoformat(),
        "title": title,
    }
    value = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    over = len(value) - BUTTON_VALUE_MAX
    if over > 0:
        # each character dropped takes at least one character of JSON with it
        fields["title"] = clip(title, len(title) - over)
        value = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return value


def waitlist_request(value: Any) -> tuple[str, datetime, datetime, str] | None:
    """What a *Tell me if it frees up* button carries: room, start, end, title; ``None`` if the
    value is not what the button was rendered with (Slack hands back what we wrote, so anything
    else was tampered with)."""
    try:
        data = json.loads(value) if isinstance(value, str) else None
        if not isinstance(data, dict):
            return None
        room, start, end = data["room"], data["start"], data["end"]
        title = data.get("title") or ""
        if not all(isinstance(x, str) for x in (room, start, end, title)):
            return None
        starts_at, ends_at = datetime.fromisoformat(start), datetime.fromisoformat(end)
    except (ValueError, KeyError, TypeError, RecursionError):
        return None
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        return None
    return room, starts_at, ends_at, title


def after(done: str, listing: dict[str, Any]) -> dict[str, Any]:
    """The list again after a click in it, saying what was done."""
    return {**listing, "text": f"{done} {listing['text']}"}


def cancelled(booking_id: int, listing: dict[str, Any], *, later: int = 0) -> dict[str, Any]:
    """The list again after a Cancel click in it, saying what was cancelled (``later``: how
    many later dates of its series went with it)."""
    done = _("Booking #{booking_id} is cancelled.").format(booking_id=booking_id)
    if later:
        done = ngettext(
            "Booking #{booking_id} and {count} later date of its series are cancelled.",
            "Booking #{booking_id} and {count} later dates of its series are cancelled.",
            later,
        ).format(booking_id=booking_id, count=later)
    return {**listing, "text": f":wastebasket: {done} {listing['text']}"}


def people(count: int) -> str:
    """``4 people``: a room's capacity."""
    return ngettext("{count} person", "{count} people", count).format(count=count)


def room_line(room: RoomRow) -> str:
    """One room as a list shows it: name, id, size, where it is, what it has, how it is booked."""
    line = f"*{escape(room.name)}* ({escape(room.id)}) · {people(room.capacity)}"
    if room.location:
        line += f" · {escape(room.location)}"
    if room.tags:
        line += " · " + ", ".join(f"`{escape(t)}`" for t in room.tags)
    if not room.active:
        line += " · _" + _("inactive") + "_"
    elif room.auto_approve:
        line += " · " + _("approved on request")
    if room.checkin_minutes:
        line += " · " + _("check-in within {minutes} min").format(minutes=room.checkin_minutes)
    if room.approvers:
        approvers = ", ".join(mention(a) for a in room.approvers)
        line += " · " + _("approvers: {approvers}").format(approvers=approvers)
    return line


def rooms_list(rooms: Sequence[RoomRow], *, is_admin: bool, feeds: bool = False) -> dict[str, Any]:
    """``/book rooms``; for admins the room buttons, and with ``feeds`` (calendar feeds are on)
    a pick of an active room for a new feed link, as on App Home."""
    if not rooms:
        text = (
            _("There are no rooms yet. Add one below.")
            if is_admin
            else _("There are no rooms yet.")
        )
        blocks: list[Block] = [section(text)]
    else:
        blocks = [section(_("*Rooms*"))]
        for room in rooms[:ROOMS_SHOWN]:
            line = room_line(room)
            accessory = button(_("Edit"), ids.ROOM_EDIT, room.id) if is_admin else None
            blocks.append(section(line, accessory=accessory))
        if len(rooms) > ROOMS_SHOWN:
            blocks.append(
                context(
                    _("And {count} more rooms; `python -m bot rooms list` lists them all.").format(
                        count=len(rooms) - ROOMS_SHOWN
                    )
                )
            )
        names = ", ".join(f"{escape(r.name)} ({escape(r.id)})" for r in rooms[:ROOMS_SHOWN])
        text = clip(names, MESSAGE_TEXT_MAX)
    if is_admin:
        blocks.append(actions(button(_("Add a room"), ids.ROOM_ADD, "new", style="primary")))
        active = [(r.id, r.name) for r in rooms if r.active]
        if feeds and active:
            blocks.append(room_feed_picker(active))
    return {"text": text, "blocks": blocks[:50]}
