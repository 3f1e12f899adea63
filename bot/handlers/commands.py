"""``/book`` and its subcommands."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.adapters.directory import UserProfile
from bot.domain import commands as c
from bot.domain.errors import BookingError, RoomUnavailable
from bot.domain.model import CHECKIN_OPENS_BEFORE, BookingStatus
from bot.handlers.deps import (
    ACK_BUDGET_SECONDS,
    Deps,
    booking_number,
    deps_of,
    in_users_language,
    open_form,
)
from bot.handlers.find import find_from_text
from bot.views import refusals, texts
from bot.views.booking_modal import booking_modal, end_day, to_aware, wall_clock
from bot.views.find import requested_text
from bot.views.i18n import span
from bot.views.lists import LIST_LIMIT, my_bookings, rooms_list, taken_reply

ONE_LINE = re.compile(
    r"^(?P<room>\S+)\s+(?P<day>\d{4}-\d{2}-\d{2})\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*[-–]\s*(?P<end>\d{1,2}:\d{2})(?:\s+(?P<title>.+))?$",
    re.DOTALL | re.ASCII,
)


def open_booking_modal(client: WebClient, deps: Deps, trigger_id: str, user: str) -> bool:
    """The booking form in the user's zone (see :func:`open_form`); False when there are no
    rooms to book."""
    rooms = deps.queries.rooms()
    if not rooms:
        return False
    max_title = deps.settings.max_title_length

    def form(profile: UserProfile) -> dict[str, Any]:
        return booking_modal(
            rooms,
            profile.tz,
            deps.clock(),
            max_title=max_title,
            zone_guessed=not profile.zone_known,
            horizon_days=deps.settings.booking_horizon_days,
        )

    open_form(client, deps, trigger_id, user, form)
    return True


def _later(
    ack: Ack,
    respond: Respond,
    deps: Deps,
    user: str,
    answer: Callable[[UserProfile], dict[str, Any]],
) -> None:
    """Answer with the user's profile: in the ack when Slack tells it within the budget (or
    it is cached), else through the response_url once it comes."""
    profile = deps.directory.profile_within(user, ACK_BUDGET_SECONDS)
    if profile is not None:
        ack(**answer(profile))
        return
    ack()
    respond(**answer(deps.directory.profile(user)))


def book(
    ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond, context: Any
) -> None:
    deps = deps_of(context)
    user = command["user_id"]
    text = (command.get("text") or "").strip()
    word, _, rest = text.partition(" ")
    word = word.lower()
    if not text:
        ack()
        if not open_booking_modal(client, deps, command["trigger_id"], user):
            respond(text=texts.no_rooms())
        return
    if word == "help":
        ack(text=texts.help_text(email=deps.settings.email_enabled))
    elif word == "list":

        def bookings_list(profile: UserProfile) -> dict[str, Any]:
            now = deps.clock()
            page = deps.queries.upcoming_for(user, now, limit=LIST_LIMIT)
            return my_bookings(page.rows, page.total, profile.tz, now)

        _later(ack, respond, deps, user, bookings_list)
    elif word == "cancel":
        _later(ack, respond, deps, user, lambda p: {"text": cancel_from_text(deps, p, rest)})
    elif word == "checkin":
        ack(text=checkin_now(deps, user))
    elif word == "find":
        _later(ack, respond, deps, user, lambda p: find_from_text(deps, p.tz, rest))
    elif word == "rooms":
        rooms = deps.queries.rooms(include_inactive=True)
        feeds = deps.feeds is not None and bool(deps.settings.public_base_url)
        ack(**rooms_list(rooms, is_admin=deps.is_admin(user), feeds=feeds))
    elif (match := ONE_LINE.match(text)) is not None:

        def one_line(profile: UserProfile) -> dict[str, Any]:
            reply = book_one_line(deps, profile, match)
            return reply if isinstance(reply, dict) else {"text": reply}

        _later(ack, respond, deps, user, one_line)
    elif re.match(r"^\S+\s+\d{4}-", text):
        ack(text=texts.unreadable_booking())
    else:
        ack(text=texts.unknown_subcommand(word, email=deps.settings.email_enabled))


def cancel_from_text(deps: Deps, profile: UserProfile, rest: str) -> str:
    user = profile.user_id
    typed = rest.strip().lstrip("#")
    booking_id = booking_number(typed)
    if booking_id is None and re.fullmatch(r"[0-9]+", typed):
        return f":warning: {texts.no_booking_number(typed)}"  # beyond any id we could have
    if booking_id is None:
        return texts.which_booking()
    try:
        deps.bus.handle(c.CancelBooking(booking_id, by=user))
    except BookingError as error:
        return refusals.reply(error)
    row = deps.queries.booking(booking_id)
    if row is None:
        return texts.cancelled(booking_id, None, None)
    return texts.cancelled(booking_id, row.room_name, span(row.starts_at, row.ends_at, profile.tz))


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


def book_one_line(deps: Deps, profile: UserProfile, match: re.Match[str]) -> str | dict[str, Any]:
    if not profile.zone_known:
        return texts.zone_unknown()  # never read a typed time in a zone that is not theirs
    user, tz = profile.user_id, profile.tz
    try:
        day = date.fromisoformat(match["day"])
    except ValueError:
        return texts.no_such_date()
    start_t, end_t = wall_clock(match["start"]), wall_clock(match["end"])
    last_day = end_day(day, start_t, end_t) if start_t is not None and end_t is not None else None
    if start_t is None or end_t is None or last_day is None:
        return texts.no_such_date()
    starts_at, ends_at = to_aware(day, start_t, tz), to_aware(last_day, end_t, tz)
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
        if error.yours:
            return text
        return taken_reply(text, room_id, starts_at, ends_at, match["title"] or "")
    except BookingError as error:
        return refusals.reply(error)
    row = deps.queries.booking(booking_id)
    assert row is not None
    return requested_text(row, tz, email=deps.settings.email_enabled)


def register(app: App) -> None:
    app.command("/book")(in_users_language(book))
