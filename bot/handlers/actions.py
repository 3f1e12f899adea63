"""Buttons: approve, deny, cancel, open the booking form, page the home tab, edit rooms."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.adapters.feeds import USER_SCOPE, room_scope
from bot.domain import commands as c
from bot.domain.errors import BookingError
from bot.domain.model import BookingStatus
from bot.handlers.commands import listed_again, open_booking_modal
from bot.handlers.deps import (
    REFUSED,
    Deps,
    booking_number,
    decide,
    deps_of,
    in_users_language,
    tell,
)
from bot.services.ports import BookingRow
from bot.views import ids, refusals, texts
from bot.views.booking_modal import (
    booking_modal,
    form_zone,
    on_waitlist,
    request_sent,
    slot_taken,
)
from bot.views.cards import series_status
from bot.views.home import MAX_PAGES, pages_of
from bot.views.i18n import current_locale
from bot.views.lists import (
    LIST_LIMIT,
    Listing,
    after,
    cancelled,
    listing_of,
    my_bookings,
    waitlist_request,
)
from bot.views.modals import (
    cancel_modal,
    deny_modal,
    deny_series_modal,
    feed_link_modal,
    room_modal,
)
from bot.views.series_preview import read_series, series_refused

#: A Slack view (modal) as the views send it.
View = dict[str, Any]


def _booking_id(body: dict[str, Any]) -> int | None:
    return booking_number((body.get("actions") or [{}])[0].get("value"))


def _stale(row: BookingRow | None, booking_id: int) -> str | None:
    """A polite answer for a stale card or a second click, or None if a decision is possible."""
    if row is None:
        return texts.no_booking(booking_id)
    if row.status == BookingStatus.PENDING:
        return None
    if row.status == BookingStatus.CANCELLED:
        by_booker = row.cancelled_by in (None, row.booker)
        return texts.already_decided(
            booking_id, row.status, row.cancelled_by, by_requester=by_booker
        )
    return texts.already_decided(booking_id, row.status, row.decided_by)


def _decidable(
    deps: Deps, client: WebClient, body: dict[str, Any], ack: Ack | None = None
) -> BookingRow | None:
    """The booking an Approve or Deny click (by an admin or the room's approver) is about, if
    it can still be decided; otherwise the clicker has been told why not (after ``ack``, if the
    click is not acked yet) and ``None`` comes back."""
    booking_id = _booking_id(body)
    user = body["user"]["id"]
    row = deps.queries.booking(booking_id) if booking_id is not None else None
    decider = deps.is_admin(user)  # admins decide every room: no need to read its approvers
    refused: str | None
    if booking_id is None:
        refused = texts.stale_button()
    else:
        if not decider:
            room = deps.queries.room(row.room_id) if row is not None else None
            decider = deps.bus.context.may_decide(user, room)
        if decider:
            refused = _stale(row, booking_id)
        else:
            refused = texts.not_allowed_to_decide(room.id if room else None)
    if refused is None:
        return row
    if ack is not None:
        ack()
    tell(client, body, refused)
    if row is not None and decider:
        deps.bus.handle(c.RefreshCard(row.booking_id))  # a stale card gets brought up to date
    return None


def approve(
    ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: Any
) -> None:
    deps = deps_of(context)
    row = _decidable(deps, client, body, ack)
    if row is None:
        return
    user = body["user"]["id"]
    if decide(ack, deps, client, body, c.ApproveBooking(row.booking_id, by=user)) is REFUSED:
        return
    if body.get("view", {}).get("type") == "home":
        deps.bus.handle(c.RefreshHome(user, pages_of(body.get("view"))))
    elif (listing := _listed(body)) is not None:
        done = texts.decided(row.booking_id, BookingStatus.APPROVED)
        _show_listing(deps, body, respond, listing, done)


def deny(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    ack()
    deps = deps_of(context)
    row = _decidable(deps, client, body)
    if row is None:
        return
    channel = (body.get("channel") or {}).get("id")
    message_ts = (body.get("message") or {}).get("ts")
    view = deny_modal(row, channel=channel, message_ts=message_ts, back=_back(body))
    client.views_open(trigger_id=body["trigger_id"], view=view)


def admin_cancel(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """An admin's Cancel in a list: the form for the reason sent to the booker (its submit
    cancels), once the booking can still be cancelled."""
    ack()
    deps = deps_of(context)
    booking_id = _booking_id(body)
    if booking_id is None:
        tell(client, body, texts.stale_button())
        return
    if not deps.is_admin(body["user"]["id"]):
        tell(client, body, texts.not_admin_list())
        return
    row = deps.queries.booking(booking_id)
    if row is None or not row.status.holds_slot or row.ends_at <= deps.clock():
        tell(client, body, texts.cannot_cancel(booking_id, row.status if row else None))
        return
    client.views_open(trigger_id=body["trigger_id"], view=cancel_modal(row, back=_back(body)))


def _listed(body: dict[str, Any]) -> Listing | None:
    """The person's or room's list a click was in, if it was in one."""
    return listing_of((body.get("actions") or [{}])[0].get("block_id"))


def _back(body: dict[str, Any]) -> dict[str, Any] | None:
    """Where a form opened from a list shows the list again once submitted: the click's
    response_url, and the list (see :func:`bot.views.modals.cancel_modal`)."""
    listing, url = _listed(body), body.get("response_url")
    if listing is None or not isinstance(url, str) or not url:
        return None
    return {"url": url, "list": listing.value()}


def _show_listing(
    deps: Deps, body: dict[str, Any], respond: Respond, listing: Listing, done: str | None = None
) -> None:
    """The list a click was in again, in its place, saying what the click did."""
    respond(replace_original=True, **listed_again(deps, body["user"]["id"], listing, done))


def page_list(ack: Ack, body: dict[str, Any], respond: Respond, context: Any) -> None:
    """*Later bookings* or *Back to the first* under a person's or a room's list."""
    ack()
    deps = deps_of(context)
    listing = listing_of((body.get("actions") or [{}])[0].get("value"))
    if listing is None:
        respond(replace_original=False, text=texts.stale_button())
        return
    _show_listing(deps, body, respond, listing)


def approve_series(
    ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: Any
) -> None:
    """Approve on a series' card or in the queue: one command for every date still waiting.
    Who may decide is the service's to say (an admin or the room's approvers); a click on a
    series with nothing left waiting is told what happened, and the card brought up to date."""
    deps = deps_of(context)
    user = body["user"]["id"]
    series_id = _booking_id(body)
    if series_id is None:
        ack()
        tell(client, body, texts.stale_button())
        return
    decided = decide(ack, deps, client, body, c.ApproveSeries(series_id, by=user))
    if decided is REFUSED:
        return
    if decided:
        if body.get("view", {}).get("type") == "home":  # the clicker keeps their pages
            deps.bus.handle(c.RefreshHome(user, pages_of(body.get("view"))))
        elif (listing := _listed(body)) is not None:
            done = texts.series_decided(series_id, BookingStatus.APPROVED)
            _show_listing(deps, body, respond, listing, done)
        return
    _series_decided_already(deps, client, body, series_id)


def _series_decided_already(
    deps: Deps, client: WebClient, body: dict[str, Any], series_id: int
) -> None:
    series = deps.queries.series(series_id)
    if series is None:
        tell(client, body, texts.stale_button())
        return
    status = series_status(series)
    by = next((o.decided_by for o in series.occurrences if o.status == status), None)
    tell(client, body, texts.series_already_decided(series_id, status, by))
    deps.bus.handle(c.RefreshCard(series.anchor))


def deny_series(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """Deny on a series' card or in the queue: the reason form for the whole series, once the
    clicker may decide it and a date of it still waits (the form's submit denies them all)."""
    ack()
    deps = deps_of(context)
    user = body["user"]["id"]
    series_id = _booking_id(body)
    series = deps.queries.series(series_id) if series_id is not None else None
    if series_id is None or series is None:
        tell(client, body, texts.stale_button())
        return
    if not deps.is_admin(user) and not deps.bus.context.may_decide(
        user, deps.queries.room(series.room_id)
    ):
        tell(client, body, texts.not_allowed_to_decide(series.room_id))
        return
    if not any(o.status == BookingStatus.PENDING for o in series.occurrences):
        _series_decided_already(deps, client, body, series_id)
        return
    channel = (body.get("channel") or {}).get("id")
    message_ts = (body.get("message") or {}).get("ts")
    view = deny_series_modal(series, channel=channel, message_ts=message_ts, back=_back(body))
    client.views_open(trigger_id=body["trigger_id"], view=view)


def cancel(
    ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: Any
) -> None:
    """Cancel (a booking), *Cancel this date* or *Cancel this and later dates* (a date of a
    series), then the list it was clicked in again."""
    deps = deps_of(context)
    user = body["user"]["id"]
    booking_id = _booking_id(body)
    if booking_id is None:
        ack()
        tell(client, body, texts.stale_button())
        return
    action = (body.get("actions") or [{}])[0].get("action_id")
    command: c.Command = c.CancelBooking(booking_id, by=user)
    if action in (ids.CANCEL_OCCURRENCE, ids.CANCEL_FOLLOWING):
        command = c.CancelOccurrence(booking_id, by=user, following=action == ids.CANCEL_FOLLOWING)
    count = decide(ack, deps, client, body, command)
    if count is REFUSED:
        return
    container = body.get("container") or {}
    if container.get("type") == "view":
        deps.bus.handle(c.RefreshHome(user, pages_of(body.get("view"))))
    elif body.get("response_url"):
        page = deps.queries.upcoming_for(user, deps.clock(), limit=LIST_LIMIT)
        reply = my_bookings(page.rows, page.total, deps.directory.tz(user))
        later = count - 1 if isinstance(command, c.CancelOccurrence) else 0
        respond(replace_original=True, **cancelled(booking_id, reply, later=later))


def end_now(
    ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: Any
) -> None:
    """End now on a booking under way, then the list it was clicked in again."""
    deps = deps_of(context)
    user = body["user"]["id"]
    booking_id = _booking_id(body)
    if booking_id is None:
        ack()
        tell(client, body, texts.stale_button())
        return
    if decide(ack, deps, client, body, c.EndBooking(booking_id, by=user)) is REFUSED:
        return
    container = body.get("container") or {}
    if container.get("type") == "view":
        deps.bus.handle(c.RefreshHome(user, pages_of(body.get("view"))))
    elif body.get("response_url"):
        now = deps.clock()
        page = deps.queries.upcoming_for(user, now, limit=LIST_LIMIT)
        reply = my_bookings(page.rows, page.total, deps.directory.tz(user), now)
        respond(replace_original=True, **after(texts.ended_now(booking_id), reply))


def change_pattern(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """*Change the pattern* on a series' preview: the booking form again in its place, filled
    in with the request the preview showed (``hash``: not over a view changed since)."""
    ack()
    deps = deps_of(context)
    view = body.get("view") or {}
    read = read_series(view, body["user"]["id"])
    if read is None:
        form = series_refused(texts.form_outdated())
    else:
        request, tz = read
        form = booking_modal(
            deps.queries.rooms(),
            tz,
            deps.clock(),
            max_title=deps.settings.max_title_length,
            horizon_days=deps.settings.booking_horizon_days,
            series=request,
        )
    client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=form)


def change_form(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """Open the booking form filled in with the booking; the submission changes it."""
    ack()
    deps = deps_of(context)
    user = body["user"]["id"]
    booking_id = _booking_id(body)
    if booking_id is None:
        tell(client, body, texts.stale_button())
        return
    row = deps.queries.booking(booking_id)
    if row is None or not row.status.holds_slot or row.ends_at <= deps.clock():
        tell(client, body, texts.cannot_change(booking_id, row.status if row else None))
        return
    if user != row.booker and not deps.is_admin(user):  # a room approver's card, say
        tell(client, body, texts.not_yours_to_change())
        return
    view = booking_modal(
        deps.queries.rooms(),
        deps.directory.tz(user),
        deps.clock(),
        max_title=deps.settings.max_title_length,
        booking=row,
        by=user,
        back=_back(body),
    )
    client.views_open(trigger_id=body["trigger_id"], view=view)


def check_in(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, context: Any
) -> None:
    """Check in from the reminder DM; the reminder is replaced by the answer."""
    booking_id = _booking_id(body)
    if booking_id is None:
        _stale_click(ack, client, body)
        return
    command = c.CheckIn(booking_id, by=body["user"]["id"])
    _answer(ack, deps_of(context), body, respond, client, command, texts.checked_in(booking_id))


def release(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, context: Any
) -> None:
    booking_id = _booking_id(body)
    if booking_id is None:
        _stale_click(ack, client, body)
        return
    command = c.ReleaseBooking(booking_id, by=body["user"]["id"])
    _answer(ack, deps_of(context), body, respond, client, command, texts.released(booking_id))


def wait_for_slot(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, context: Any
) -> None:
    """*Tell me if it frees up* on a refusal: join the waitlist for that slot. On the booking
    form's taken-slot view the answer takes the view's place (views.update, not a DM)."""
    user = body["user"]["id"]
    if (body.get("view") or {}).get("type") == "modal":
        _on_taken_view(
            ack,
            deps_of(context),
            client,
            body,
            lambda room, start, end, title: c.JoinWaitlist(room, start, end, by=user, title=title),
            lambda _, room, start, end, tz: on_waitlist(room, start, end, tz),
        )
        return
    request = waitlist_request((body.get("actions") or [{}])[0].get("value"))
    if request is None:
        _stale_click(ack, client, body)
        return
    room_id, starts_at, ends_at, title = request
    command = c.JoinWaitlist(room_id, starts_at, ends_at, by=user, title=title)
    _answer(ack, deps_of(context), body, respond, client, command, texts.waiting(room_id))


def request_free_slot(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """*Request <when>* on a taken slot's view: request the room's next free slot it offered;
    the answer (the request sent, or why not) takes the view's place."""
    deps = deps_of(context)
    user = body["user"]["id"]

    def sent(booking_id: Any, room: str, start: datetime, end: datetime, tz: ZoneInfo) -> View:
        row = deps.queries.booking(booking_id)
        assert row is not None  # committed just now
        return request_sent(row, tz, email=deps.settings.email_enabled)

    _on_taken_view(
        ack,
        deps,
        client,
        body,
        lambda room, start, end, title: c.RequestBooking(room, start, end, by=user, title=title),
        sent,
    )


def _on_taken_view(
    ack: Ack,
    deps: Deps,
    client: WebClient,
    body: dict[str, Any],
    command_for: Callable[[str, datetime, datetime, str], c.Command],
    answer: Callable[[Any, str, datetime, datetime, ZoneInfo], View],
) -> None:
    """A button on the booking form's taken-slot view: the command for the slot the button
    carries (room, start, end, title), then ``answer`` (given the command's result), its
    refusal or "out of date" in the view's place (``hash``: not over a view changed since)."""
    view = body.get("view") or {}

    def replace(new: View) -> None:
        client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=new)

    request = waitlist_request((body.get("actions") or [{}])[0].get("value"))
    if request is None:
        ack()
        replace(series_refused(texts.form_outdated()))
        return
    room_id, starts_at, ends_at, title = request
    tz = form_zone(view) or deps.directory.tz(body["user"]["id"])

    def refused(error: BookingError) -> None:
        why = refusals.reply(error)
        replace(slot_taken(why, room_id, starts_at, ends_at, title, tz, offer=False))

    result = decide(ack, deps, client, body, command_for(*request), refused)
    if result is not REFUSED:
        replace(answer(result, room_id, starts_at, ends_at, tz))


def back_to_form(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """*Back to the form* on a taken slot's view: the booking form again in its place, filled in
    with the request that was refused (``hash``: not over a view changed since)."""
    ack()
    deps = deps_of(context)
    view = body.get("view") or {}
    request = waitlist_request((body.get("actions") or [{}])[0].get("value"))
    tz = form_zone(view)
    if request is None or tz is None:
        form = series_refused(texts.form_outdated())
    else:
        room_id, starts_at, ends_at, title = request
        form = booking_modal(
            deps.queries.rooms(),
            tz,
            deps.clock(),
            room_id=room_id,
            starts_at=starts_at,
            ends_at=ends_at,
            title=title,
            max_title=deps.settings.max_title_length,
            horizon_days=deps.settings.booking_horizon_days,
        )
    client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=form)


def book_offer(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, context: Any
) -> None:
    """*Book it* on a waitlist offer: request the slot for the person offered it."""
    offer = _booking_id(body)
    if offer is None:
        _stale_click(ack, client, body)
        return
    command = c.ClaimOffer(offer, by=body["user"]["id"])
    deps = deps_of(context)
    booking_id = decide(ack, deps, client, body, command)
    if booking_id is REFUSED:
        return
    done = texts.claimed(booking_id, email=deps.settings.email_enabled)
    if body.get("response_url"):
        respond(replace_original=True, text=done)
    else:
        tell(client, body, done)


def _stale_click(ack: Ack, client: WebClient, body: dict[str, Any]) -> None:
    """Ack a click whose value is not one the app rendered and say the button is out of date."""
    ack()
    tell(client, body, texts.stale_button())


def _answer(
    ack: Ack,
    deps: Deps,
    body: dict[str, Any],
    respond: Respond,
    client: WebClient,
    command: c.Command,
    done: str,
) -> None:
    """Run a button's command before its ack and answer in place of the message it was on."""
    if decide(ack, deps, client, body, command) is REFUSED:
        return
    if body.get("response_url"):
        respond(replace_original=True, text=done)
    else:
        tell(client, body, done)


def open_form(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    ack()
    deps = deps_of(context)
    if not open_booking_modal(client, deps, body["trigger_id"], body["user"]["id"]):
        tell(client, body, texts.no_rooms())


def show_more(ack: Ack, body: dict[str, Any], context: Any) -> None:
    ack()
    deps = deps_of(context)
    pages = pages_of(body.get("view"))
    which = body["actions"][0].get("value")
    if which not in ("upcoming", "pending"):
        return  # not a list of ours: nothing to page
    pages[which] = min(pages.get(which, 1) + 1, MAX_PAGES)
    deps.bus.handle(c.RefreshHome(body["user"]["id"], pages))


def room_form(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    ack()
    deps = deps_of(context)
    if not deps.is_admin(body["user"]["id"]):
        tell(client, body, texts.not_admin_rooms())
        return
    action = body["actions"][0]
    room = None
    if action["action_id"] == ids.ROOM_EDIT:
        room = next(
            (r for r in deps.queries.rooms(include_inactive=True) if r.id == action["value"]), None
        )
        if room is None:
            tell(client, body, texts.no_room_any_more(str(action["value"])))
            return
    client.views_open(trigger_id=body["trigger_id"], view=room_modal(room))


def feed_link(ack: Ack, body: dict[str, Any], client: WebClient, context: Any) -> None:
    """A new calendar feed link (the previous one stops working), shown once in a modal."""
    ack()
    deps = deps_of(context)
    base = deps.settings.public_base_url
    if deps.feeds is None or not base:
        tell(client, body, texts.feeds_off())
        return
    user = body["user"]["id"]
    action = body["actions"][0]
    room_name = None
    scope = USER_SCOPE
    if action["action_id"] == ids.FEED_ROOM_LINK:
        if not deps.is_admin(user):
            tell(client, body, texts.not_admin_rooms())
            return
        room_id = str((action.get("selected_option") or {}).get("value") or "")
        room = next((r for r in deps.queries.rooms() if r.id == room_id), None)
        if room is None:
            tell(client, body, texts.no_room_any_more(room_id))
            return
        scope, room_name = room_scope(room.id), room.name
    if scope == USER_SCOPE:  # the feed speaks the language its owner reads this in
        token = deps.feeds.issue(user, scope, current_locale())
    else:
        token = deps.feeds.issue("admin", scope)
    url = f"{base.rstrip('/')}/calendar/{token}.ics"
    client.views_open(trigger_id=body["trigger_id"], view=feed_link_modal(url, room_name))


def register(app: App) -> None:
    app.action(ids.FEED_LINK)(in_users_language(feed_link))
    app.action(ids.FEED_ROOM_LINK)(in_users_language(feed_link))
    app.action(ids.APPROVE)(in_users_language(approve))
    app.action(ids.DENY)(in_users_language(deny))
    app.action(ids.APPROVE_SERIES)(in_users_language(approve_series))
    app.action(ids.DENY_SERIES)(in_users_language(deny_series))
    app.action(ids.CANCEL)(in_users_language(cancel))
    app.action(ids.ADMIN_CANCEL)(in_users_language(admin_cancel))
    app.action(re.compile(f"^{ids.LIST_PAGE}"))(in_users_language(page_list))
    app.action(ids.CANCEL_OCCURRENCE)(in_users_language(cancel))
    app.action(ids.CANCEL_FOLLOWING)(in_users_language(cancel))
    app.action(ids.CHANGE)(in_users_language(change_form))
    app.action(ids.SERIES_EDIT)(in_users_language(change_pattern))
    app.action(ids.END_NOW)(in_users_language(end_now))
    app.action(ids.CHECK_IN)(in_users_language(check_in))
    app.action(ids.RELEASE)(in_users_language(release))
    app.action(ids.WAIT)(in_users_language(wait_for_slot))
    app.action(ids.BOOK_BACK)(in_users_language(back_to_form))
    app.action(ids.BOOK_FREE)(in_users_language(request_free_slot))
    app.action(ids.BOOK_IT)(in_users_language(book_offer))
    app.action(ids.OPEN_BOOK_MODAL)(in_users_language(open_form))
    app.action(re.compile(f"^{ids.HOME_MORE}_"))(in_users_language(show_more))
    app.action(ids.ROOM_ADD)(in_users_language(room_form))
    app.action(ids.ROOM_EDIT)(in_users_language(room_form))
