"""Find a room: ``/book find …``, App Home's *Find a room* form, and the results' buttons."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.adapters.directory import UserProfile
from bot.domain import commands as c
from bot.domain.errors import BookingError, RoomUnavailable
from bot.handlers.deps import REFUSED, Deps, decide, deps_of, in_users_language, open_form, tell
from bot.views import ids, refusals
from bot.views.booking_modal import booking_modal
from bot.views.find import (
    FindError,
    FindRequest,
    find_modal,
    find_results,
    find_results_modal,
    out_of_date,
    read_book_value,
    read_find_form,
    read_find_text,
    requested_modal,
    requested_text,
)


def search(deps: Deps, request: FindRequest, tz: Any) -> dict[str, Any]:
    free = deps.queries.free_rooms(
        request.starts_at, request.ends_at, people=request.people, tags=request.tags
    )
    return find_results(free, request, tz)


def find_from_text(deps: Deps, tz: Any, text: str) -> dict[str, Any]:
    """The reply to ``/book find …`` in the user's zone: the free rooms, or what to type
    instead."""
    try:
        request = read_find_text(text, tz, deps.clock())
    except FindError as error:
        return {"text": f":warning: {error}"}
    return search(deps, request, tz)


def open_find(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    ack()
    deps = deps_of(context)
    open_form(
        client,
        deps,
        body["trigger_id"],
        body["user"]["id"],
        lambda profile: find_modal(profile.tz, deps.clock()),
    )


def submit_find(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: Any) -> None:
    deps = deps_of(context)
    request, errors, tz = read_find_form(view, deps.clock())
    if request is None:
        ack(response_action="errors", errors=errors)
        return
    ack(response_action="update", view=find_results_modal(search(deps, request, tz)))


def book_found(
    ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: Any
) -> None:
    """A result's Book: request that room for that window, stored before the ack (see
    :func:`decide`), and say how it went where the results are (the message through
    ``response_url``, or the results modal). The clicker's zone, for the answer's times, is
    asked only after the ack."""
    deps = deps_of(context)
    user = body["user"]["id"]
    wanted = read_book_value((body.get("actions") or [{}])[0].get("value"), deps.clock())
    if wanted is None:
        ack()
        tell(client, body, out_of_date())
        return
    room_id, starts_at, ends_at = wanted

    def refused(error: BookingError) -> None:
        if isinstance(error, RoomUnavailable):
            from bot.handlers.submissions import unavailable_text

            tz = deps.directory.tz(user)
            text = ":no_entry: " + unavailable_text(deps, error, starts_at, ends_at, tz)
        else:
            text = refusals.reply(error)
        _answer(client, body, respond, text, replace=False)

    command = c.RequestBooking(room_id, starts_at, ends_at, by=user)
    booking_id = decide(ack, deps, client, body, command, refused)
    if booking_id is REFUSED:
        return
    row = deps.queries.booking(booking_id)
    assert row is not None
    text = requested_text(row, deps.directory.tz(user), email=deps.settings.email_enabled)
    _answer(client, body, respond, text, replace=True)


def _answer(
    client: WebClient, body: dict[str, Any], respond: Respond, text: str, *, replace: bool
) -> None:
    view = body.get("view")
    if view and view.get("type") == "modal":
        client.views_update(view_id=view["id"], hash=view.get("hash"), view=requested_modal(text))
    elif body.get("response_url"):
        respond(replace_original=replace, response_type="ephemeral", text=text)
    else:
        tell(client, body, text)


def edit_found(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """A result's *Change…*: the booking form, prefilled with the room and the window (pushed
    onto the results modal, or opened from a message)."""
    ack()
    deps = deps_of(context)
    user = body["user"]["id"]
    wanted = read_book_value((body.get("actions") or [{}])[0].get("value"), deps.clock())
    if wanted is None:
        tell(client, body, out_of_date())
        return
    room_id, starts_at, ends_at = wanted
    rooms = deps.queries.rooms()

    def form(profile: UserProfile) -> dict[str, Any]:
        return booking_modal(
            rooms,
            profile.tz,
            deps.clock(),
            room_id=room_id,
            starts_at=starts_at,
            ends_at=ends_at,
            max_title=deps.settings.max_title_length,
            zone_guessed=not profile.zone_known,
            horizon_days=deps.settings.booking_horizon_days,
        )

    in_modal = (body.get("view") or {}).get("type") == "modal"
    open_form(client, deps, body["trigger_id"], user, form, push=in_modal)


def register(app: App) -> None:
    app.action(ids.FIND)(in_users_language(open_find))
    app.action(ids.FIND_BOOK)(in_users_language(book_found))
    app.action(ids.FIND_EDIT)(in_users_language(edit_found))
    app.view(ids.FIND_MODAL)(in_users_language(submit_find))
