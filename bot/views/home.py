"""The App Home tab: book button, the user's bookings, and for admins the approval queue.

Rendered from the read model. Slack allows 100 blocks in a home view, so each list shows a page and
a "Show more" button; the budget below keeps the worst case (admin, every list full) under 100.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.model import LEFT_WORKSPACE, BookingStatus
from bot.services.ports import BookingRow
from bot.views import ids
from bot.views.blocks import (
    Block,
    actions,
    button,
    confirm_dialog,
    context,
    divider,
    header,
    plain,
    section,
    sections,
)
from bot.views.cards import left_workspace_text, status_word
from bot.views.i18n import _, ngettext, pgettext, span
from bot.views.mrkdwn import escape, mention, shown

UPCOMING_PAGE = 5  # an upcoming row takes two blocks (text, then Change/End now/Cancel)
HISTORY_SIZE = 8
PENDING_PAGE = 5  # a pending row takes two blocks (text, then Approve/Deny)
MAX_PAGES = 4  # upcoming and pending grow by a page per "Show more", up to this many
HISTORY_REASON_MAX = 120
# Worst case, an admin with every list full: 5 + (2*5*4 + 1) + 2 + (2*5*4 + 1) + 1 + 3 = 93 <= 100.

_STATUS_ICON = {
    BookingStatus.PENDING: ":hourglass_flowing_sand:",
    BookingStatus.APPROVED: ":white_check_mark:",
    BookingStatus.DENIED: ":no_entry:",
    BookingStatus.CANCELLED: ":wastebasket:",
    BookingStatus.EXPIRED: ":clock3:",
    BookingStatus.RELEASED: ":recycle:",
}


def _status(status: BookingStatus) -> str:
    if status == BookingStatus.PENDING:
        return pgettext("booking status", "waiting for approval")
    if status == BookingStatus.RELEASED:
        return pgettext("booking status", "released (nobody checked in)")
    return status_word(status)


@dataclass(frozen=True)
class HomeData:
    user: str
    tz: ZoneInfo
    now: datetime
    upcoming: list[BookingRow]
    upcoming_total: int
    history: list[BookingRow]
    is_admin: bool = False
    pending: list[BookingRow] = field(default_factory=list)
    pending_total: int = 0
    dead_notifications: int = 0
    pages: dict[str, int] = field(default_factory=dict)
    #: Calendar feed links can be handed out (the HTTP server has a public URL).
    feeds: bool = False
    #: (id, name) of the rooms whose feed links an admin may hand out.
    rooms: list[tuple[str, str]] = field(default_factory=list)


def status_text(row: BookingRow, reason_max: int | None = None) -> str:
    text = f"{_STATUS_ICON[row.status]} {_status(row.status)}"
    if row.status == BookingStatus.APPROVED and row.policy:
        text += " " + _("(by policy)")
    if row.status == BookingStatus.CANCELLED and row.reason == LEFT_WORKSPACE:
        text = _("{status} – {reason}").format(status=text, reason=left_workspace_text())
    elif row.status in (BookingStatus.DENIED, BookingStatus.CANCELLED) and row.reason:
        # a denial's reason, or the words of the admin who cancelled it
        reason = shown(row.reason, reason_max) if reason_max else shown(row.reason)
        text = _("{status} – “{reason}”").format(status=text, reason=reason)
    return text


def booking_line(row: BookingRow, tz: ZoneInfo) -> str:
    title = f" · {shown(row.title)}" if row.title else ""
    repeats = " :repeat:" if row.series_id is not None else ""  # a date of a series
    return (
        f"*#{row.booking_id} {escape(row.room_name)}* ({escape(row.room_id)}){title}{repeats}\n"
        f"{span(row.starts_at, row.ends_at, tz)}\n{status_text(row)}"
    )


def cancel_button(row: BookingRow, tz: ZoneInfo) -> Block:
    return button(
        _("Cancel"),
        ids.CANCEL,
        str(row.booking_id),
        style="danger",
        confirm=confirm_dialog(
            _("Cancel booking #{booking_id}?").format(booking_id=row.booking_id),
            _("{room}, {when}. The slot is released for others.").format(
                room=row.room_name, when=span(row.starts_at, row.ends_at, tz, zone=False)
            ),
            _("Cancel booking"),
        ),
    )


def occurrence_cancel_buttons(row: BookingRow, tz: ZoneInfo) -> list[Block]:
    """A date of a series: cancel it alone, or it and every later date (the series ends)."""
    when = span(row.starts_at, row.ends_at, tz, zone=False)
    value = str(row.booking_id)
    return [
        button(
            _("Cancel this date"),
            ids.CANCEL_OCCURRENCE,
            value,
            style="danger",
            confirm=confirm_dialog(
                _("Cancel booking #{booking_id}?").format(booking_id=row.booking_id),
                _(
                    "{room}, {when}. Only this date is cancelled; the other dates of the "
                    "series stay booked."
                ).format(room=row.room_name, when=when),
                _("Cancel this date"),
            ),
        ),
        button(
            _("Cancel this and later dates"),
            ids.CANCEL_FOLLOWING,
            value,
            style="danger",
            confirm=confirm_dialog(
                _("End the series from #{booking_id}?").format(booking_id=row.booking_id),
                _(
                    "{room}: this date, {when}, and every later date of the series are "
                    "cancelled and released for others. Earlier dates stay booked."
                ).format(room=row.room_name, when=when),
                _("Cancel them"),
            ),
        ),
    ]


def booking_actions(row: BookingRow, tz: ZoneInfo, now: datetime | None) -> Block:
    """Change (the booking form, filled in), End now (while it is under way), Cancel; a date
    of a series is changed alone, and cancelled alone or with every later date."""
    value = str(row.booking_id)
    elements = [button(_("Change"), ids.CHANGE, value)]
    in_progress = now is not None and row.starts_at <= now < row.ends_at
    if row.status == BookingStatus.APPROVED and in_progress:
        elements.append(
            button(
                _("End now"),
                ids.END_NOW,
                value,
                confirm=confirm_dialog(
                    _("End booking #{booking_id} now?").format(booking_id=row.booking_id),
                    _("{room} is freed from the next minute for others.").format(
                        room=row.room_name
                    ),
                    _("End now"),
                    _("Keep it"),
                ),
            )
        )
    if row.series_id is None:
        elements.append(cancel_button(row, tz))
    else:
        elements += occurrence_cancel_buttons(row, tz)
    return actions(*elements, block_id=f"booking_{row.booking_id}")


def booking_rows(rows: Sequence[BookingRow], tz: ZoneInfo, now: datetime | None) -> list[Block]:
    """Each upcoming booking: its line, then its buttons."""
    blocks: list[Block] = []
    for row in rows:
        blocks += [section(booking_line(row, tz)), booking_actions(row, tz, now)]
    return blocks


def _more(list_name: str, shown: int, total: int, pages: int) -> list[Block]:
    if shown >= total:
        return []
    left = total - shown
    if pages >= MAX_PAGES:
        return [
            context(_("{count} more not shown. `/book list` lists them all.").format(count=left))
        ]
    label = _("Show more ({count} more)").format(count=left)
    return [actions(button(label, f"{ids.HOME_MORE}_{list_name}", list_name))]


def home_view(data: HomeData) -> dict[str, Any]:
    """The Home tab in the active language (the caller picks the viewer's)."""
    blocks: list[Block] = [
        header(_("Meeting rooms")),
        section(
            _(
                "Book a room: the request holds the slot until an admin decides. "
                "Times below are in *{zone}*."
            ).format(zone=data.tz.key),
            accessory=button(_("Book a room"), ids.OPEN_BOOK_MODAL, "home", style="primary"),
        ),
        section(
            _("Find a room: the rooms free for a time that fit your group and equipment."),
            accessory=button(_("Find a room"), ids.FIND, "home"),
        ),
        divider(),
        header(_("Your upcoming bookings")),
    ]
    if data.upcoming:
        blocks += booking_rows(data.upcoming, data.tz, data.now)
        blocks += _more(
            "upcoming", len(data.upcoming), data.upcoming_total, data.pages.get("upcoming", 1)
        )
    else:
        blocks.append(context(_("Nothing booked. Use *Book a room* or `/book`.")))

    if data.is_admin:
        blocks += [
            divider(),
            header(_("Waiting for your decision ({count})").format(count=data.pending_total)),
        ]
        for row in data.pending:
            requested = _("Requested by {who}").format(who=mention(row.booker))
            if row.series_id is None:
                blocks.append(section(booking_line(row, data.tz) + f"\n{requested}"))
                approve, deny, value = ids.APPROVE, ids.DENY, str(row.booking_id)
            else:  # a series is one request: its first waiting date, decided all at once
                whole = _(
                    "Series #{series_id}: Approve or Deny decides all its waiting dates"
                ).format(series_id=row.series_id)
                blocks.append(section(f"{booking_line(row, data.tz)}\n{requested}\n{whole}"))
                approve, deny, value = ids.APPROVE_SERIES, ids.DENY_SERIES, str(row.series_id)
            buttons = [
                button(_("Approve"), approve, value, style="primary"),
                button(_("Deny"), deny, value, style="danger"),
            ]
            if row.series_id is None:
                buttons.append(button(_("Change"), ids.CHANGE, value))
            blocks.append(actions(*buttons, block_id=f"queue_{row.booking_id}"))
        if not data.pending:
            blocks.append(context(_("No requests are waiting.")))
        blocks += _more(
            "pending", len(data.pending), data.pending_total, data.pages.get("pending", 1)
        )
        if data.dead_notifications:
            blocks.append(
                context(
                    ":warning: "
                    + ngettext(
                        "{count} notification could not be delivered after every retry. "
                        "`python -m bot outbox` lists them.",
                        "{count} notifications could not be delivered after every retry. "
                        "`python -m bot outbox` lists them.",
                        data.dead_notifications,
                    ).format(count=data.dead_notifications)
                )
            )

    blocks += [divider(), *feed_blocks(data)]

    if data.history:
        blocks += [divider(), header(_("Recent history"))]
        lines = [
            f"#{r.booking_id} {escape(r.room_name)} · "
            f"{span(r.starts_at, r.ends_at, data.tz, zone=False)} · "
            f"{status_text(r, HISTORY_REASON_MAX)}"
            for r in data.history
        ]
        blocks += sections(lines)
    return {
        "type": "home",
        "private_metadata": json.dumps({"pages": data.pages}),
        "blocks": blocks,
    }


def feed_blocks(data: HomeData) -> list[Block]:
    """Calendar feeds: a new link to one's own bookings, and (admins) to a room's."""
    if not data.feeds:
        return [
            context(
                _(
                    "Calendar feeds need the app's HTTP server reachable from your calendar "
                    "app: an admin sets `PUBLIC_BASE_URL` to turn them on."
                )
            )
        ]
    blocks = [
        section(
            _(
                "Calendar feed: subscribe to your bookings in your calendar app. "
                "A new link makes the previous one stop working."
            ),
            accessory=button(_("New feed link"), ids.FEED_LINK, "user"),
        )
    ]
    if data.is_admin and data.rooms:
        blocks.append(room_feed_picker(data.rooms))
    return blocks


def room_feed_picker(rooms: Sequence[tuple[str, str]]) -> Block:
    """An admin picks one of ``rooms`` (id, name) for a new link to its calendar feed (App Home,
    ``/book rooms``); a select holds at most 100 options."""
    options = [{"text": plain(name, 75), "value": room_id} for room_id, name in rooms[:100]]
    return section(
        _("Room calendar feeds: a new link for a room (its previous one stops working)."),
        accessory={
            "type": "static_select",
            "action_id": ids.FEED_ROOM_LINK,
            "placeholder": plain(_("Pick a room"), 150),
            "options": options,
        },
    )


def pages_of(view: dict[str, Any] | None) -> dict[str, int]:
    try:
        pages = json.loads((view or {}).get("private_metadata") or "{}").get("pages", {})
        return {str(k): max(1, min(int(v), MAX_PAGES)) for k, v in pages.items()}
    except (ValueError, TypeError, AttributeError, OverflowError, RecursionError):
        return {}  # Slack hands back what we stored; anything else starts from the first page
