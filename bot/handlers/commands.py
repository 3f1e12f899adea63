"""``/book`` and its subcommands."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

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
from bot.views.lists import (
    LIST_LIMIT,
    Listing,
    after,
    bookings_of,
    my_bookings,
    room_bookings,
    rooms_list,
    taken_reply,
)
from bot.views.mrkdwn import typed, user_id_in

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
        _later(ack, respond, deps, user, lambda p: list_from_text(deps, p, rest))
    elif word == "cancel":
        _later(ack, respond, deps, user, lambda p: {"text": cancel_from_text(deps, p, rest)})
    elif word == "checkin":
        ack(text=checkin_now(deps, user))
    elif word == "find":
        _later(ack, respond, deps, user, lambda p: find_from_text(deps, p.tz, typed(rest)))
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


def list_from_text(deps: Deps, profile: UserProfile, rest: str) -> dict[str, Any]:
    """``/book list``: your upcoming bookings; ``/book list 102``: a room's (for anyone, read
    only unless you are an admin); ``/book list @someone`` (or their member ID): theirs, for
    admins."""
    user, what = profile.user_id, rest.strip()
    listing = _listing(deps, what) if what else Listing("user", user)
    if listing is None:
        return {"text": texts.nothing_to_list(typed(what))}
    if listing.kind == "user" and listing.key == user:
        now = deps.clock()
        page = deps.queries.upcoming_for(user, now, limit=LIST_LIMIT)
        return my_bookings(page.rows, page.total, profile.tz, now)
    if listing.kind == "user" and not deps.is_admin(user):
        return {"text": texts.not_admin_list()}
    return listing_reply(deps, user, listing, profile.tz)


def _listing(deps: Deps, what: str) -> Listing | None:
    """The list ``/book list <what>`` asks for: a mention is a person; otherwise a room by its
    id (or name, in any case), else a member ID typed as it is."""
    if what.startswith("<@"):
        person = user_id_in(what)
        return Listing("user", person) if person else None
    rooms = deps.queries.rooms(include_inactive=True)
    wanted = typed(what).casefold()
    room = next((r for r in rooms if r.id == what), None) or next(
        (r for r in rooms if wanted in (r.id.casefold(), r.name.casefold())), None
    )
    if room is not None:
        return Listing("room", room.id)
    person = user_id_in(what)
    return Listing("user", person) if person else None


def listing_reply(deps: Deps, viewer: str, listing: Listing, tz: ZoneInfo) -> dict[str, Any]:
    """A person's or a room's upcoming bookings, one page, as ``viewer`` may see them; a page
    past the end (bookings went since it was shown) is the first page instead."""
    now = deps.clock()
    if listing.kind == "user":
        page = deps.queries.upcoming_for(listing.key, now, LIST_LIMIT, listing.offset)
    else:
        page = deps.queries.upcoming_in(listing.key, now, LIST_LIMIT, listing.offset)
    if not page.rows and listing.offset > 0:
        return listing_reply(deps, viewer, Listing(listing.kind, listing.key), tz)
    if listing.kind == "user":
        return bookings_of(listing, page.rows, page.total, tz)
    room = deps.queries.room(listing.key)
    if room is None:
        return {"text": texts.no_room_any_more(listing.key)}
    is_admin = deps.is_admin(viewer)
    return room_bookings(listing, room, page.rows, page.total, tz, is_admin=is_admin)


def listed_again(
    deps: Deps, viewer: str, listing: Listing, done: str | None = None
) -> dict[str, Any]:
    """A list shown again after a click in it or in a form opened from it, saying what was
    done; a person's only to admins (a button's block id is the clicker's to tamper with)."""
    if listing.kind == "user" and listing.key != viewer and not deps.is_admin(viewer):
        return {"text": texts.not_admin_list()}
    reply = listing_reply(deps, viewer, listing, deps.directory.tz(viewer))
    return after(done, reply) if done else reply


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
    room_id, title = match["room"], typed(match["title"] or "")
    try:
        booking_id = deps.bus.handle(
            c.RequestBooking(room_id, starts_at, ends_at, by=user, title=title)
        )
    except RoomUnavailable as error:
        from bot.handlers.submissions import unavailable_text

        text = ":no_entry: " + unavailable_text(deps, error, starts_at, ends_at, tz)
        if error.yours:
            return text
        return taken_reply(text, room_id, starts_at, ends_at, title)
    except BookingError as error:
        return refusals.reply(error)
    row = deps.queries.booking(booking_id)
    assert row is not None
    return requested_text(row, tz, email=deps.settings.email_enabled)


def register(app: App) -> None:
    app.command("/book")(in_users_language(book))
