"""Ephemeral replies: the user's bookings with Cancel buttons, the room list, one-line results."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.model import BookingStatus
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
    sections,
)
from bot.views.cards import approve_button
from bot.views.home import booking_line, booking_rows, room_feed_picker
from bot.views.i18n import _, ngettext
from bot.views.mrkdwn import clip, escape, mention

LIST_LIMIT = 20  # 1 header + 20 bookings (2 blocks each) + 2 footer blocks <= 50 blocks
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


@dataclass(frozen=True)
class Listing:
    """The upcoming bookings a list in a message shows: a person's (``kind`` ``user``, ``key``
    their Slack id) or a room's (``room``, its id), from the ``offset``-th on. Its buttons carry
    it (in their block's id, or a page button's value), so a click shows the same list again."""

    kind: str
    key: str
    offset: int = 0

    def value(self) -> str:
        return json.dumps([self.kind, self.key, self.offset], ensure_ascii=False)

    def block_id(self, booking_id: int) -> str:
        return json.dumps([self.kind, self.key, self.offset, booking_id], ensure_ascii=False)


def listing_of(value: Any) -> Listing | None:
    """The list a button was in (its block's id or a page button's value), or ``None`` if it is
    not one of these lists (Slack hands back what we wrote: anything else was tampered with)."""
    try:
        data = json.loads(value) if isinstance(value, str) else None
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, list) or len(data) not in (3, 4):
        return None
    kind, key, offset = data[:3]
    if kind not in ("user", "room") or not isinstance(key, str) or not key:
        return None
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= 10_000:
        return None
    return Listing(kind, key, offset)


def admin_actions(row: BookingRow, listing: Listing) -> Block:
    """What an admin may do to someone's booking, as on its card and in the App Home queue:
    a request is approved, denied (with a reason) or changed, a series' request decided as
    one; an approved booking is changed, or cancelled with a reason sent to the booker."""
    value = str(row.booking_id)
    if row.status == BookingStatus.PENDING and row.series_id is not None:
        series = str(row.series_id)
        elements = [
            button(_("Approve series"), ids.APPROVE_SERIES, series, style="primary"),
            button(_("Deny series"), ids.DENY_SERIES, series, style="danger"),
        ]
    elif row.status == BookingStatus.PENDING:
        elements = [
            approve_button(row),
            button(_("Deny"), ids.DENY, value, style="danger"),
            button(_("Change"), ids.CHANGE, value),
        ]
    else:
        elements = [
            button(_("Change"), ids.CHANGE, value),
            button(_("Cancel…"), ids.ADMIN_CANCEL, value, style="danger"),
        ]
    return actions(*elements, block_id=listing.block_id(row.booking_id))


def _pages(listing: Listing, shown: int, total: int) -> list[Block]:
    """Where this page is in the list, and buttons to the next page and back to the first."""
    if listing.offset == 0 and shown >= total:
        return []
    first, last = listing.offset + 1, listing.offset + shown
    where = _("Bookings {first}–{last} of {total}.").format(first=first, last=last, total=total)
    blocks: list[Block] = [context(where)]
    buttons = []
    if last < total:
        later = Listing(listing.kind, listing.key, last)
        label = _("Later bookings ({count} more)").format(count=total - last)
        buttons.append(button(label, ids.LIST_PAGE, later.value()))
    if listing.offset > 0:
        start = Listing(listing.kind, listing.key, 0)
        buttons.append(button(_("Back to the first"), f"{ids.LIST_PAGE}_first", start.value()))
    if buttons:
        blocks.append(actions(*buttons))
    return blocks


def bookings_of(
    listing: Listing, rows: Sequence[BookingRow], total: int, tz: ZoneInfo
) -> dict[str, Any]:
    """An admin's look at someone's upcoming bookings (``/book list @someone``), each with what
    an admin may do to it, :data:`LIST_LIMIT` a page."""
    who = mention(listing.key)
    if not rows:
        text = _("{who} has no upcoming bookings.").format(who=who)
        return {"text": text, "blocks": [section(text)]}
    heading = _("*Upcoming bookings of {who}* (times in {zone})").format(who=who, zone=tz.key)
    blocks: list[Block] = [section(heading)]
    for row in rows:
        blocks += [section(booking_line(row, tz)), admin_actions(row, listing)]
    blocks += _pages(listing, len(rows), total)
    text = ngettext(
        "{who} has {count} upcoming booking.", "{who} has {count} upcoming bookings.", total
    ).format(who=who, count=total)
    return {"text": text, "blocks": blocks}


def room_bookings(
    listing: Listing,
    room: RoomRow,
    rows: Sequence[BookingRow],
    total: int,
    tz: ZoneInfo,
    *,
    is_admin: bool,
) -> dict[str, Any]:
    """A room's upcoming bookings (``/book list 102``), :data:`LIST_LIMIT` a page: to anyone
    when and by whom (as the approval cards and a taken slot's answer say), the titles where
    the room's calendar feed shows them; admins get each booking's buttons and every title."""
    name = _("{name} ({room_id})").format(name=escape(room.name), room_id=escape(room.id))
    if not rows:
        text = _("Nothing is booked in {room} from now on.").format(room=name)
        return {"text": text, "blocks": [section(text)]}
    heading = _("*Upcoming bookings in {room}* (times in {zone})").format(room=name, zone=tz.key)
    blocks: list[Block] = [section(heading)]
    lines = []
    for row in rows:
        shown_row = row if is_admin or room.feed_details else replace(row, title="")
        requested = _("Requested by {who}").format(who=mention(row.booker))
        line = f"{booking_line(shown_row, tz)}\n{requested}"
        if is_admin:
            blocks += [section(line), admin_actions(row, listing)]
        else:
            lines.append(line)
    blocks += sections(lines)
    blocks += _pages(listing, len(rows), total)
    text = ngettext(
        "{room} has {count} upcoming booking.", "{room} has {count} upcoming bookings.", total
    ).format(room=name, count=total)
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
    """The list again after a click in it, saying what was done (above it, as its blocks are
    what Slack shows)."""
    blocks = listing.get("blocks")
    shown = {**listing, "text": f"{done} {listing['text']}"}
    return {**shown, "blocks": [section(done), *blocks]} if blocks else shown


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
    return after(f":wastebasket: {done}", listing)


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
