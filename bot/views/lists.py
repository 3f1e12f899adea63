"""Ephemeral replies: the user's bookings with Cancel buttons, the room list, one-line results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from bot.services.ports import BookingRow, RoomRow
from bot.views import ids
from bot.views.blocks import Block, actions, button, context, section
from bot.views.home import booking_line, cancel_button
from bot.views.mrkdwn import escape

LIST_LIMIT = 20  # 1 header + 20 bookings + 1 footer stays inside a message's 50 blocks
ROOMS_SHOWN = 40  # 1 header + 40 rooms + 1 footer + 1 button row <= 50 blocks


def my_bookings(rows: Sequence[BookingRow], total: int, tz: ZoneInfo) -> dict[str, Any]:
    if not rows:
        return {"text": "You have no upcoming bookings. `/book` makes one.", "blocks": []}
    blocks: list[Block] = [section(f"*Your upcoming bookings* (times in {tz.key})")]
    blocks += [section(booking_line(r, tz), accessory=cancel_button(r, tz)) for r in rows]
    if total > len(rows):
        blocks.append(context(f"And {total - len(rows)} more; the App Home tab pages through all."))
    return {"text": f"You have {total} upcoming booking(s).", "blocks": blocks}


def rooms_list(rooms: Sequence[RoomRow], *, is_admin: bool) -> dict[str, Any]:
    if not rooms:
        text = "There are no rooms yet." + (" Add one below." if is_admin else "")
        blocks: list[Block] = [section(text)]
    else:
        blocks = [section("*Rooms*")]
        for room in rooms[:ROOMS_SHOWN]:
            state = "" if room.active else " · _inactive_"
            line = f"*{escape(room.name)}* ({escape(room.id)}) · {room.capacity} people{state}"
            accessory = button("Edit", ids.ROOM_EDIT, room.id) if is_admin else None
            blocks.append(section(line, accessory=accessory))
        if len(rooms) > ROOMS_SHOWN:
            blocks.append(
                context(
                    f"And {len(rooms) - ROOMS_SHOWN} more rooms; "
                    "`python -m bot rooms list` lists them all."
                )
            )
        text = ", ".join(f"{escape(r.name)} ({escape(r.id)})" for r in rooms[:ROOMS_SHOWN])
    if is_admin:
        blocks.append(actions(button("Add a room", ids.ROOM_ADD, "new", style="primary")))
    return {"text": text, "blocks": blocks[:50]}
