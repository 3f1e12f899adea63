"""``/book`` and its subcommands."""

from __future__ import annotations

import re
from datetime import date, time
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.domain import commands as c
from bot.domain.errors import BookingError, RoomUnavailable
from bot.domain.model import CHECKIN_OPENS_BEFORE, BookingStatus
from bot.handlers.deps import Deps, deps_of, in_users_language
from bot.handlers.find import find_from_text
from bot.views import refusals, texts
from bot.views.booking_modal import booking_modal, to_aware
from bot.views.find import requested_text
from bot.views.i18n import span
from bot.views.lists import LIST_LIMIT, my_bookings, rooms_list, taken_reply

ONE_LINE = re.compile(
    r"^(?P<room>\S+)\s+(?P<day>\d{4}-\d{2}-\d{2})\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*[-–]\s*(?P<end>\d{1,2}:\d{2})(?:\s+(?P<title>.+))?$",
    re.DOTALL,
)


def open_booking_modal(client: WebClient, deps: Deps, trigger_id: str, user: str) -> bool:
    rooms = deps.queries.rooms()
    if not rooms:
        return False
    view = booking_modal(
        rooms, deps.directory.tz(user), deps.clock(), max_title=deps.settings.max_title_length
    )
    client.views_open(trigger_id=trigger_id, view=view)
    return True


def book(ack: Ack, command: dict[str, Any], client: WebClient, context: Any) -> None:
    deps = deps_of(context)
    user = command["user_id"]
    text = (command.get("text") or "").strip()
    word, _, rest = text.partition(" ")
    word = word.lower()
    if not text:
        ack()
        if not open_booking_modal(client, deps, command["trigger_id"], user):
            client.chat_postEphemeral(
                channel=command["channel_id"], user=user, text=texts.no_rooms()
            )
        return
    if word == "help":
        ack(text=texts.help_text())
    elif word == "list":
        tz, now = deps.directory.tz(user), deps.clock()
        page = deps.queries.upcoming_for(user, now, limit=LIST_LIMIT)
        ack(**my_bookings(page.rows, page.total, tz, now))
    elif word == "cancel":
        ack(text=cancel_from_text(deps, user, rest))
    elif word == "checkin":
        ack(text=checkin_now(deps, user))
    elif word == "find":
        ack(**find_from_text(deps, user, rest))
    elif word == "rooms":
        ack(**rooms_list(deps.queries.rooms(include_inactive=True), is_admin=deps.is_admin(user)))
    elif (match := ONE_LINE.match(text)) is not None:
        reply = book_one_line(deps, user, match)
        if isinstance(reply, dict):
            ack(**reply)
        else:
            ack(text=reply)
    elif re.match(r"^\S+\s+\d{4}-", text):
        ack(text=texts.unreadable_booking())
    else:
        ack(text=texts.unknown_subcommand(word))


def cancel_from_text(deps: Deps, user: str, rest: str) -> str:
    number = rest.strip().lstrip("#")
    if not number.isdigit():
        return texts.which_booking()
    booking_id = int(number)
    try:
        deps.bus.handle(c.CancelBooking(booking_id, by=user))
    except BookingError as error:
        return refusals.reply(error)
    row = deps.queries.booking(booking_id)
    if row is None:
        return texts.cancelled(booking_id, None, None)
    when = span(row.starts_at, row.ends_at, deps.directory.tz(user))
    return texts.cancelled(booking_id, row.room_name, when)


def checkin_now(deps: Deps, user: str) -> str:
    """Check in to the user's approved booking that starts now (or is under way)."""
    now = deps.clock()
    rows = deps.queries.upcoming_for(user, now, limit=LIST_LIMIT).rows
    starting = [
        r
        for r in rows
        if r.status == BookingStatus.APPROVED
        and r.checked_in_at is None
        and r.starts_at - CHECKIN_OPENS_BEFORE <= now < r.ends_at
    ]
    if not starting:
        return texts.no_checkin_now()
    booking_id = starting[0].booking_id
    try:
        deps.bus.handle(c.CheckIn(booking_id, by=user))
    except BookingError as error:
        return refusals.reply(error)
    return texts.checked_in(booking_id)


def book_one_line(deps: Deps, user: str, match: re.Match[str]) -> str | dict[str, Any]:
    tz = deps.directory.tz(user)
    try:
        day = date.fromisoformat(match["day"])
        start_t, end_t = (
            time.fromisoformat(match["start"].zfill(5)),
            time.fromisoformat(match["end"].zfill(5)),
        )
    except ValueError:
        return texts.no_such_date()
    starts_at, ends_at = to_aware(day, start_t, tz), to_aware(day, end_t, tz)
    if starts_at is None or ends_at is None:
        return texts.clock_change(day, tz)
    room_id = match["room"]
    try:
        booking_id = deps.bus.handle(
            c.RequestBooking(room_id, starts_at, ends_at, by=user, title=match["title"] or "")
        )
    except RoomUnavailable as error:
        from bot.handlers.submissions import unavailable_text

        text = ":no_entry: " + unavailable_text(deps, error, starts_at, ends_at, tz)
        return taken_reply(text, room_id, starts_at, ends_at, match["title"] or "")
    except BookingError as error:
        return refusals.reply(error)
    row = deps.queries.booking(booking_id)
    assert row is not None
    return requested_text(row, tz)


def register(app: App) -> None:
    app.command("/book")(in_users_language(book))
