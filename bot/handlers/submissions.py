"""Modal submissions: booking requests, denial and cancellation reasons, rooms. Errors go back
onto the field."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import commands as c
from bot.domain.errors import BookingError, RoomUnavailable
from bot.domain.model import BookingStatus, check_checkin_minutes
from bot.domain.rules import elapsed
from bot.handlers.commands import listed_again
from bot.handlers.deps import (
    ACK_BUDGET_SECONDS,
    Deps,
    booking_number,
    deps_of,
    in_users_language,
    metadata,
    replace_at,
)
from bot.services.queries import suggest
from bot.views import ids, refusals, texts
from bot.views.booking_modal import (
    BookingForm,
    change_saved,
    read_booking,
    repeat_field_block,
    request_sent,
    slot_taken,
)
from bot.views.lists import listing_of
from bot.views.series_preview import (
    all_taken,
    read_series,
    series_preview,
    series_refused,
    series_sent,
    series_waiting,
)

log = logging.getLogger(__name__)

FIELD_BLOCKS = {
    "room": ids.ROOM_BLOCK,
    "date": ids.DATE_BLOCK,
    "start": ids.START_BLOCK,
    "end": ids.END_BLOCK,
    "title": ids.TITLE_BLOCK,
}


def unavailable_text(
    deps: Deps,
    error: RoomUnavailable,
    starts_at: datetime,
    ends_at: datetime,
    tz: ZoneInfo,
    *,
    markup: bool = True,
) -> str:
    """Who holds the room and until when, and where the booker could go instead.

    ``markup`` is False for a modal field error, which Slack shows as plain text."""
    return taken_help(deps, error, starts_at, ends_at, tz, markup=markup)[0]


def taken_help(
    deps: Deps,
    error: RoomUnavailable,
    starts_at: datetime,
    ends_at: datetime,
    tz: ZoneInfo,
    *,
    markup: bool = True,
) -> tuple[str, tuple[datetime, datetime] | None]:
    """:func:`unavailable_text`, and the room's next free slot as long as the one asked for
    (``None`` when the one asking holds it, or nothing is free ahead)."""
    conflict = error.conflict
    if error.yours and conflict is not None:
        text = texts.taken_by_you(
            error.room_id,
            conflict.booking_id,
            (conflict.starts_at, conflict.ends_at),
            tz,
            markup=markup,
        )
        return text, None
    holder = _holder_name(deps, conflict.booker) if conflict is not None else None
    idea = suggest(deps.queries, error.room_id, starts_at, ends_at)
    length = elapsed(starts_at, ends_at)
    free = (idea.next_start, idea.next_start + length) if idea.next_start is not None else None
    text = texts.taken(
        error.room_id,
        holder,
        (conflict.starts_at, conflict.ends_at) if conflict is not None else None,
        tz,
        free,
        [(r.id, r.name) for r in idea.free_rooms],
        markup=markup,
    )
    return text, free


def submit_booking(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: Any
) -> None:
    deps = deps_of(context)
    user = body["user"]["id"]
    form, errors, tz = read_booking(view)
    if form is None:
        ack(response_action="errors", errors=errors)
        return
    if form.repeat is not None:
        preview_series(ack, deps, client, view, user, form, tz)
        return
    command: c.Command
    if form.booking_id is not None:
        command = c.ChangeBooking(
            form.booking_id,
            by=user,
            room_id=form.room_id,
            starts_at=form.starts_at,
            ends_at=form.ends_at,
            title=form.title,
        )
    else:
        command = c.RequestBooking(
            form.room_id, form.starts_at, form.ends_at, by=user, title=form.title
        )
    try:
        result = deps.bus.handle(command)
    except RoomUnavailable as error:
        if form.booking_id is None and not error.yours:
            # someone else holds it: the form turns into who, where else, and the waitlist
            text, free = taken_help(deps, error, form.starts_at, form.ends_at, tz)
            view = slot_taken(
                text, form.room_id, form.starts_at, form.ends_at, form.title, tz, free=free
            )
            ack(response_action="update", view=view)
            return
        text = unavailable_text(deps, error, form.starts_at, form.ends_at, tz, markup=False)
        ack(response_action="errors", errors={ids.START_BLOCK: text})
        return
    except BookingError as error:
        block = FIELD_BLOCKS.get(error.field or "", ids.DATE_BLOCK)
        ack(response_action="errors", errors={block: refusals.text(error)})
        return
    if form.booking_id is not None:
        changed = deps.queries.booking(form.booking_id)
        assert changed is not None
        ack(
            response_action="update",
            view=change_saved(
                changed, bool(result), tz, email=deps.settings.email_enabled, by=user
            ),
        )
        if result:
            _list_again(deps, user, metadata(view), texts.changed(form.booking_id))
        return
    row = deps.queries.booking(result)
    assert row is not None
    ack(response_action="update", view=request_sent(row, tz, email=deps.settings.email_enabled))


def _holder_name(deps: Deps, user: str) -> str | None:
    """The holder's display name, before the ack: only if Slack gives it quickly."""
    found = deps.directory.profile_within(user, ACK_BUDGET_SECONDS / 3)
    return " ".join(((found.name if found else None) or "").split()) or None


#: What a submission answers: the kwargs of its ack (``response_action`` update or errors).
Answer = dict[str, Any]


def _within_budget(
    ack: Ack,
    deps: Deps,
    client: WebClient,
    view: dict[str, Any],
    command: c.Command,
    answer: Callable[[Any, BookingError | None], Answer],
) -> None:
    """Run a submission's command and ack with ``answer(result, error)``. A command that does
    not finish within the ack budget (a busy database) is acked with a view saying so, which
    the answer replaces once it comes (field errors then as a refusal, the form being gone)."""
    pending = deps.decisions.submit(deps.bus.handle, command)
    try:
        result, error = pending.result(timeout=ACK_BUDGET_SECONDS), None
    except FutureTimeout:
        ack(response_action="update", view=series_waiting())
        try:
            result, error = pending.result(), None
        except BookingError as late:
            result, error = None, late
        late_answer = answer(result, error)
        later = late_answer.get("view") or series_refused(
            next(iter(late_answer.get("errors", {}).values()), texts.form_outdated())
        )
        try:
            client.views_update(view_id=view.get("id"), view=later)
        except SlackApiError as gone:  # the window was closed meanwhile
            log.info("could not show a late answer: %s", gone.response.get("error"))
        return
    except BookingError as refused:
        result, error = None, refused
    ack(**answer(result, error))


def preview_series(
    ack: Ack,
    deps: Deps,
    client: WebClient,
    view: dict[str, Any],
    user: str,
    form: BookingForm,
    tz: ZoneInfo,
) -> None:
    """A repeating booking holds nothing yet: the form turns into the list of its dates, free
    and taken, whose submit requests the free ones. Refusals go back onto the form's fields."""
    assert form.repeat is not None
    request = c.RequestSeries(
        form.room_id,
        form.starts_at,
        form.ends_at,
        by=user,
        repeat=form.repeat,
        timezone=tz.key,
        title=form.title,
    )

    def answer(dates: Any, error: BookingError | None) -> Answer:
        if error is not None:
            block = repeat_field_block(error.field, form.repeat) or FIELD_BLOCKS.get(
                error.field or "", ids.DATE_BLOCK
            )
            return {"response_action": "errors", "errors": {block: refusals.text(error)}}
        if all(d.conflict is not None for d in dates):
            first = dates[0].conflict
            text = all_taken(request, first, _holder_name(deps, first.booker), tz)
            return {"response_action": "errors", "errors": {ids.START_BLOCK: text}}
        room = deps.queries.room(form.room_id)
        assert room is not None  # the preview found it
        return {"response_action": "update", "view": series_preview(request, dates, room, tz)}

    _within_budget(ack, deps, client, view, c.PreviewSeries(request), answer)


def submit_series(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: Any
) -> None:
    """*Book the N free ones*: request the series the preview showed. Dates taken since are
    skipped; a refusal replaces the preview (it has no field to put it on)."""
    deps = deps_of(context)
    user = body["user"]["id"]
    read = read_series(view, user)
    if read is None:
        ack(response_action="update", view=series_refused(texts.form_outdated()))
        return
    request, tz = read

    def answer(series_id: Any, error: BookingError | None) -> Answer:
        if isinstance(error, RoomUnavailable) and error.conflict is not None:
            conflict = error.conflict
            text = all_taken(request, conflict, _holder_name(deps, conflict.booker), tz)
            return {"response_action": "update", "view": series_refused(text)}
        if error is not None:
            return {"response_action": "update", "view": series_refused(refusals.text(error))}
        series = deps.queries.series(series_id)
        assert series is not None  # committed with its occurrences just now
        sent = series_sent(series, tz, email=deps.settings.email_enabled)
        return {"response_action": "update", "view": sent}

    _within_budget(ack, deps, client, view, request, answer)


def submit_denial(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: Any) -> None:
    """The deny form's submit: a booking, or every waiting date of a series (its metadata
    names a ``series_id``), denied with the reason given."""
    deps = deps_of(context)
    user = body["user"]["id"]
    meta = metadata(view)
    values = view.get("state", {}).get("values", {})
    reason = _input(values, ids.REASON_BLOCK, ids.REASON_ACTION).get("value")
    if not isinstance(reason, str | None):
        reason = None
    series_id = booking_number(meta.get("series_id"))
    booking_id = booking_number(meta.get("booking_id"))
    command: c.Command
    if "series_id" in meta and series_id is not None:
        command = c.DenySeries(series_id, by=user, reason=reason)
    elif "series_id" not in meta and booking_id is not None:
        command = c.DenyBooking(booking_id, by=user, reason=reason)
    else:
        ack(response_action="errors", errors={ids.REASON_BLOCK: texts.form_outdated()})
        return
    try:
        deps.bus.handle(command)
    except BookingError as error:
        ack(response_action="errors", errors={ids.REASON_BLOCK: refusals.text(error)})
        return
    ack()
    if isinstance(command, c.DenySeries):
        done = texts.series_decided(command.series_id, BookingStatus.DENIED)
    else:
        done = texts.decided(command.booking_id, BookingStatus.DENIED)
    _list_again(deps, user, meta, done)


def submit_cancellation(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: Any) -> None:
    """An admin's cancel form: the booking cancelled with the reason given, sent to the
    booker; then the list the Cancel was clicked in again."""
    deps = deps_of(context)
    user = body["user"]["id"]
    meta = metadata(view)
    booking_id = booking_number(meta.get("booking_id"))
    reason = _text(view.get("state", {}).get("values", {}), ids.REASON_BLOCK, ids.REASON_ACTION)
    if booking_id is None:
        ack(response_action="errors", errors={ids.REASON_BLOCK: texts.form_outdated()})
        return
    if not deps.is_admin(user):
        ack(response_action="errors", errors={ids.REASON_BLOCK: texts.not_admin_list()})
        return
    try:
        deps.bus.handle(c.CancelBooking(booking_id, by=user, reason=reason or None))
    except BookingError as error:
        ack(response_action="errors", errors={ids.REASON_BLOCK: refusals.text(error)})
        return
    ack()
    _list_again(deps, user, meta, texts.decided(booking_id, BookingStatus.CANCELLED))


def _list_again(deps: Deps, user: str, meta: dict[str, Any], done: str) -> None:
    """The list a form was opened from, shown again in its place (through the click's
    response_url), saying what the form did."""
    back = meta.get("back")
    if not isinstance(back, dict):
        return
    url, listing = back.get("url"), listing_of(back.get("list"))
    if isinstance(url, str) and url and listing is not None:
        replace_at(url, listed_again(deps, user, listing, done))


def _input(values: Any, block: str, action: str) -> dict[str, Any]:
    try:
        found = values[block][action]
    except (KeyError, TypeError, IndexError):
        return {}
    return found if isinstance(found, dict) else {}


def _text(values: Any, block: str, action: str) -> str:
    """A plain-text input's value; empty if the field is absent or not text."""
    value = _input(values, block, action).get("value")
    return value if isinstance(value, str) else ""


def _words(values: Any, block: str, action: str) -> tuple[str, ...]:
    return tuple(_text(values, block, action).replace(",", " ").split())


def _checked(values: Any, block: str, action: str) -> bool:
    chosen = _input(values, block, action).get("selected_options")
    return isinstance(chosen, list) and bool(chosen)


ROOM_FIELD_BLOCKS = {
    "room_id": ids.ROOM_ID_BLOCK,
    "name": ids.ROOM_NAME_BLOCK,
    "capacity": ids.ROOM_CAPACITY_BLOCK,
    "location": ids.ROOM_LOCATION_BLOCK,
    "tags": ids.ROOM_TAGS_BLOCK,
    "auto_approve_groups": ids.ROOM_GROUPS_BLOCK,
    "approvers": ids.ROOM_APPROVERS_BLOCK,
    "checkin_minutes": ids.ROOM_CHECKIN_BLOCK,
}


def submit_room(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: Any) -> None:
    deps = deps_of(context)
    user = body["user"]["id"]
    meta = metadata(view)
    if not isinstance(meta.get("room_id"), str | None):
        ack(response_action="errors", errors={ids.ROOM_NAME_BLOCK: texts.form_outdated()})
        return
    values = view.get("state", {}).get("values", {})
    name = _input(values, ids.ROOM_NAME_BLOCK, ids.ROOM_NAME_ACTION).get("value") or ""
    capacity_text = _input(values, ids.ROOM_CAPACITY_BLOCK, ids.ROOM_CAPACITY_ACTION).get("value")
    if not isinstance(name, str) or not re.fullmatch(r"[0-9]{1,6}", str(capacity_text or "")):
        ack(
            response_action="errors",
            errors={ids.ROOM_CAPACITY_BLOCK: texts.capacity_not_a_number()},
        )
        return
    capacity = int(str(capacity_text))
    checkin_text = str(
        _input(values, ids.ROOM_CHECKIN_BLOCK, ids.ROOM_CHECKIN_ACTION).get("value") or ""
    ).strip()
    if checkin_text and not re.fullmatch(r"-?[0-9]{1,6}", checkin_text):
        ack(
            response_action="errors",
            errors={ids.ROOM_CHECKIN_BLOCK: texts.capacity_not_a_number()},
        )
        return
    try:
        checkin = check_checkin_minutes(int(checkin_text)) if checkin_text else None
    except BookingError as error:
        ack(response_action="errors", errors={ids.ROOM_CHECKIN_BLOCK: refusals.text(error)})
        return
    attributes: dict[str, Any] = {
        "location": _text(values, ids.ROOM_LOCATION_BLOCK, ids.ROOM_LOCATION_ACTION),
        "tags": _words(values, ids.ROOM_TAGS_BLOCK, ids.ROOM_TAGS_ACTION),
        "auto_approve": _checked(values, ids.ROOM_POLICY_BLOCK, ids.ROOM_POLICY_ACTION),
        "auto_approve_groups": _words(values, ids.ROOM_GROUPS_BLOCK, ids.ROOM_GROUPS_ACTION),
        "approvers": _words(values, ids.ROOM_APPROVERS_BLOCK, ids.ROOM_APPROVERS_ACTION),
        "feed_details": _checked(values, ids.ROOM_FEED_BLOCK, ids.ROOM_FEED_ACTION),
    }
    try:
        if meta.get("room_id"):
            active = _checked(values, ids.ROOM_ACTIVE_BLOCK, ids.ROOM_ACTIVE_ACTION)
            deps.bus.handle(
                c.UpdateRoom(
                    meta["room_id"],
                    by=user,
                    name=name,
                    capacity=capacity,
                    active=active,
                    checkin_minutes=checkin or 0,  # 0: no check-in
                    **attributes,
                )
            )
        else:
            room_id = _text(values, ids.ROOM_ID_BLOCK, ids.ROOM_ID_ACTION)
            deps.bus.handle(
                c.AddRoom(room_id, name, capacity, by=user, checkin_minutes=checkin, **attributes)
            )
    except BookingError as error:
        block = ROOM_FIELD_BLOCKS.get(error.field or "", ids.ROOM_NAME_BLOCK)
        if block == ids.ROOM_ID_BLOCK and meta.get("room_id"):
            block = ids.ROOM_NAME_BLOCK
        ack(response_action="errors", errors={block: refusals.text(error)})
        return
    ack()


def register(app: App) -> None:
    app.view(ids.BOOK_MODAL)(in_users_language(submit_booking))
    app.view(ids.SERIES_MODAL)(in_users_language(submit_series))
    app.view(ids.DENY_MODAL)(in_users_language(submit_denial))
    app.view(ids.CANCEL_MODAL)(in_users_language(submit_cancellation))
    app.view(ids.ROOM_MODAL)(in_users_language(submit_room))
