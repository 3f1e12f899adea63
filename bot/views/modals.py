"""Small modals: the reason for a denial or an admin's cancellation, and adding or editing a
room."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.model import MAX_CHECKIN_MINUTES, BookingStatus, Room
from bot.services.ports import BookingRow, RoomRow, SeriesRow
from bot.views import ids
from bot.views.blocks import context, plain, section
from bot.views.i18n import _, ngettext, token_span
from bot.views.mrkdwn import escape, mention
from bot.views.series import pattern

REASON_MAX = 500


def _summary(row: BookingRow) -> str:
    return _("*#{booking_id}* {room} for {booker}, {when}").format(
        booking_id=row.booking_id,
        room=escape(row.room_name),
        booker=mention(row.booker),
        when=token_span(row.starts_at, row.ends_at),
    )


def deny_modal(
    row: BookingRow,
    *,
    channel: str | None,
    message_ts: str | None,
    back: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The reason for a denial; ``back``: the list the Deny was clicked in (see
    :func:`cancel_modal`)."""
    meta = {"booking_id": row.booking_id, "channel": channel, "ts": message_ts}
    return _deny_view(_with_back(meta, back), _summary(row))


def _with_back(meta: dict[str, Any], back: dict[str, Any] | None) -> dict[str, Any]:
    return {**meta, "back": back} if back else meta


def cancel_modal(row: BookingRow, *, back: dict[str, Any] | None = None) -> dict[str, Any]:
    """An admin cancels someone's booking; the reason goes to the booker with it. ``back``:
    the list the Cancel was clicked in (its ``response_url`` as ``url``, and ``list``, what
    the list showed), shown again once the booking is cancelled."""
    blocks = [section(_summary(row))]
    if row.series_id is not None:
        blocks.append(context(_("Only this date is cancelled; the other dates stay booked.")))
    blocks.append(_reason_input(_("Reason (sent to the booker)")))
    return {
        "type": "modal",
        "callback_id": ids.CANCEL_MODAL,
        "title": plain(_("Cancel booking"), 24),
        "submit": plain(_("Cancel booking"), 24),
        "close": plain(_("Back"), 24),
        "private_metadata": json.dumps(_with_back({"booking_id": row.booking_id}, back)),
        "blocks": blocks,
    }


def deny_series_modal(
    series: SeriesRow,
    *,
    channel: str | None,
    message_ts: str | None,
    back: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The reason for denying a whole series: every date of it still waiting."""
    meta = _with_back({"series_id": series.series_id, "channel": channel, "ts": message_ts}, back)
    waiting = sum(o.status == BookingStatus.PENDING for o in series.occurrences)
    summary = ngettext(
        "*Series #{series_id}* {room} for {booker}, {pattern}: {count} date waiting",
        "*Series #{series_id}* {room} for {booker}, {pattern}: {count} dates waiting",
        waiting,
    ).format(
        series_id=series.series_id,
        room=escape(series.room_name),
        booker=mention(series.booker),
        pattern=escape(pattern(series.rule, series.starts_at, ZoneInfo(series.timezone))),
        count=waiting,
    )
    return _deny_view(meta, summary)


def _deny_view(meta: dict[str, Any], summary: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": ids.DENY_MODAL,
        "title": plain(_("Deny request"), 24),
        "submit": plain(_("Deny"), 24),
        "close": plain(_("Back"), 24),
        "private_metadata": json.dumps(meta),
        "blocks": [section(summary), _reason_input(_("Reason (sent to the requester)"))],
    }


def _reason_input(label: str) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": ids.REASON_BLOCK,
        "optional": True,
        "label": plain(label),
        "element": {
            "type": "plain_text_input",
            "action_id": ids.REASON_ACTION,
            "multiline": True,
            "max_length": REASON_MAX,
        },
    }


def room_modal(room: RoomRow | Room | None = None) -> dict[str, Any]:
    """Add a room (``room`` is None) or edit one; the id of an existing room cannot change."""
    blocks: list[dict[str, Any]] = []
    if room is None:
        blocks.append(
            _text_input(ids.ROOM_ID_BLOCK, ids.ROOM_ID_ACTION, _("Room id (such as 102)"), 32)
        )
    else:
        blocks.append(context(_("Room id: *{room_id}*").format(room_id=escape(room.id))))
    blocks.append(
        _text_input(
            ids.ROOM_NAME_BLOCK, ids.ROOM_NAME_ACTION, _("Name"), 80, room.name if room else None
        )
    )
    capacity: dict[str, Any] = {
        "type": "number_input",
        "action_id": ids.ROOM_CAPACITY_ACTION,
        "is_decimal_allowed": False,
        "min_value": "1",
        "max_value": "10000",
    }
    if room is not None:
        capacity["initial_value"] = str(room.capacity)
    blocks.append(
        {
            "type": "input",
            "block_id": ids.ROOM_CAPACITY_BLOCK,
            "label": plain(_("Capacity (people)")),
            "element": capacity,
        }
    )
    blocks.append(
        _text_input(
            ids.ROOM_LOCATION_BLOCK,
            ids.ROOM_LOCATION_ACTION,
            _("Location (building, floor)"),
            80,
            room.location if room else None,
            optional=True,
        )
    )
    blocks.append(
        _text_input(
            ids.ROOM_TAGS_BLOCK,
            ids.ROOM_TAGS_ACTION,
            _("Equipment tags (such as projector, video, whiteboard)"),
            300,
            ", ".join(room.tags) if room else None,
            optional=True,
        )
    )
    blocks.append(
        _checkbox(
            ids.ROOM_POLICY_BLOCK,
            ids.ROOM_POLICY_ACTION,
            _("Approval"),
            _("Approve every request on creation (no admin decision)"),
            "auto",
            checked=bool(room and room.auto_approve),
        )
    )
    blocks.append(
        _checkbox(
            ids.ROOM_FEED_BLOCK,
            ids.ROOM_FEED_ACTION,
            _("Calendar feed"),
            _("Show titles and bookers in its feed"),
            "details",
            checked=bool(room and room.feed_details),
        )
    )
    blocks.append(
        _text_input(
            ids.ROOM_GROUPS_BLOCK,
            ids.ROOM_GROUPS_ACTION,
            _("Auto-approve members of these user groups (ids such as S0123ABC)"),
            400,
            ", ".join(room.auto_approve_groups) if room else None,
            optional=True,
        )
    )
    blocks.append(
        _text_input(
            ids.ROOM_APPROVERS_BLOCK,
            ids.ROOM_APPROVERS_ACTION,
            _("Approvers of this room besides admins (user or user group ids)"),
            400,
            ", ".join(room.approvers) if room else None,
            optional=True,
        )
    )
    checkin: dict[str, Any] = {
        "type": "number_input",
        "action_id": ids.ROOM_CHECKIN_ACTION,
        "is_decimal_allowed": False,
        "min_value": "1",
        "max_value": str(MAX_CHECKIN_MINUTES),
    }
    if room is not None and room.checkin_minutes:
        checkin["initial_value"] = str(room.checkin_minutes)
    blocks.append(
        {
            "type": "input",
            "block_id": ids.ROOM_CHECKIN_BLOCK,
            "optional": True,
            "label": plain(_("Check-in window (minutes after the start; empty: off)")),
            "element": checkin,
            "hint": plain(
                _(
                    "The booker checks in from the reminder DM; a booking nobody checks "
                    "in to is released for others."
                )
            ),
        }
    )
    if room is not None:
        active_option = {"text": plain(_("Open for booking")), "value": "active"}
        checkbox: dict[str, Any] = {
            "type": "checkboxes",
            "action_id": ids.ROOM_ACTIVE_ACTION,
            "options": [active_option],
        }
        if room.active:
            checkbox["initial_options"] = [active_option]
        blocks.append(
            {
                "type": "input",
                "block_id": ids.ROOM_ACTIVE_BLOCK,
                "optional": True,
                "label": plain(_("Status")),
                "element": checkbox,
            }
        )
        blocks.append(context(_("An inactive room keeps its bookings but takes no new ones.")))
    return {
        "type": "modal",
        "callback_id": ids.ROOM_MODAL,
        "title": plain(_("Add a room") if room is None else _("Edit room"), 24),
        "submit": plain(_("Save"), 24),
        "close": plain(_("Cancel"), 24),
        "private_metadata": json.dumps({"room_id": room.id if room else None}),
        "blocks": blocks,
    }


def _text_input(
    block_id: str,
    action_id: str,
    label: str,
    max_length: int,
    initial: str | None = None,
    *,
    optional: bool = False,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": action_id,
        "max_length": max_length,
    }
    if initial:
        element["initial_value"] = initial
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
    }
    if optional:
        block["optional"] = True
    return block


def _checkbox(
    block_id: str, action_id: str, label: str, text: str, value: str, *, checked: bool
) -> dict[str, Any]:
    option = {"text": plain(text, 75), "value": value}
    element: dict[str, Any] = {"type": "checkboxes", "action_id": action_id, "options": [option]}
    if checked:
        element["initial_options"] = [option]
    return {
        "type": "input",
        "block_id": block_id,
        "optional": True,
        "label": plain(label),
        "element": element,
    }


def feed_link_modal(url: str, room_name: str | None = None) -> dict[str, Any]:
    """A new calendar feed link, shown once (only its hash is stored)."""
    https = f"<{url}>"
    webcal = "<webcal://" + url.split("://", 1)[-1] + ">"
    what = (
        _("The calendar feed of *{room}*.").format(room=escape(room_name))
        if room_name
        else _("The calendar feed of your bookings.")
    )
    return {
        "type": "modal",
        "title": plain(_("Calendar feed"), 24),
        "close": plain(_("Close"), 24),
        "blocks": [
            section(what),
            section(
                _("Subscribe in your calendar app: {webcal}\nor add by URL: {https}").format(
                    webcal=webcal, https=https
                )
            ),
            context(
                _(
                    "Keep this link to yourself: anyone with it can read the feed. "
                    "It is shown only now; a new link makes this one stop working."
                )
            ),
        ],
    }
