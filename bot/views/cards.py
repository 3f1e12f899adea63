"""The approval card in the approvals channel, in every state of its booking.

Many people read the channel, so its times are Slack date tokens: each reader sees their own zone.
"""

from __future__ import annotations

from typing import Any

from bot.domain.model import BookingStatus
from bot.services.ports import BookingRow
from bot.views import ids
from bot.views.blocks import (
    actions,
    button,
    confirm_dialog,
    context,
    fields,
    section,
)
from bot.views.i18n import token, token_span
from bot.views.mrkdwn import escape, mention

_ICON = {
    BookingStatus.PENDING: ":hourglass_flowing_sand:",
    BookingStatus.APPROVED: ":white_check_mark:",
    BookingStatus.DENIED: ":no_entry:",
    BookingStatus.CANCELLED: ":wastebasket:",
    BookingStatus.EXPIRED: ":clock3:",
    BookingStatus.RELEASED: ":recycle:",
}


def _outcome(row: BookingRow) -> str:
    decided = f" {token(row.decided_at)}" if row.decided_at else ""
    if row.status == BookingStatus.APPROVED:
        return f"Approved by {mention(row.decided_by or '')}{decided}"
    if row.status == BookingStatus.DENIED:
        reason = f": “{escape(row.reason)}”" if row.reason else ""
        return f"Denied by {mention(row.decided_by or '')}{decided}{reason}"
    if row.status == BookingStatus.CANCELLED:
        approved = f" (approved by {mention(row.decided_by)} before)" if row.decided_by else ""
        if row.cancelled_by in (None, row.booker):
            return f"Cancelled by requester{approved}"
        return f"Cancelled by admin {mention(row.cancelled_by)}{approved}"
    if row.status == BookingStatus.EXPIRED:
        return "Expired: nobody decided before it started"
    if row.status == BookingStatus.RELEASED:
        return "Released: the room was given back unused"
    return "Waiting for an admin"


def _was(row: BookingRow) -> str | None:
    """Old -> new of the last change, while the change waits for a decision."""
    if row.status != BookingStatus.PENDING or row.changed_at is None:
        return None
    if row.was_starts_at is None or row.was_ends_at is None:
        return None
    lines = [f":pencil2: *Changed* {token(row.changed_at)} – was:"]
    if (row.was_starts_at, row.was_ends_at) != (row.starts_at, row.ends_at):
        lines.append(
            f"~{token_span(row.was_starts_at, row.was_ends_at)}~ → "
            f"{token_span(row.starts_at, row.ends_at)}"
        )
    if row.was_room_id and row.was_room_id != row.room_id:
        was_room = f"{escape(row.was_room_name or row.was_room_id)} ({escape(row.was_room_id)})"
        lines.append(f"~{was_room}~ → {escape(row.room_name)} ({escape(row.room_id)})")
    if row.was_title is not None and row.was_title != row.title:
        lines.append(
            f"~{escape(row.was_title) or '_no title_'}~ → {escape(row.title) or '_no title_'}"
        )
    return "\n".join(lines)


def card(row: BookingRow) -> dict[str, Any]:
    """``text`` and ``blocks`` for chat.postMessage / chat.update."""
    title = escape(row.title) if row.title else "_no title_"
    when = token_span(row.starts_at, row.ends_at)
    headline = (
        f"{_ICON[row.status]} *Room request #{row.booking_id}* · {escape(row.room_name)} "
        f"({escape(row.room_id)})"
    )
    blocks = [
        section(headline),
        fields(
            ("When", when),
            ("Booker", mention(row.booker)),
            ("Room", f"{escape(row.room_name)} ({escape(row.room_id)})"),
            ("Title", title),
        ),
    ]
    was = _was(row)
    if was:
        blocks.append(section(was))
    if row.status == BookingStatus.PENDING:
        value = str(row.booking_id)
        blocks.append(
            actions(
                button(
                    "Approve",
                    ids.APPROVE,
                    value,
                    style="primary",
                    confirm=confirm_dialog(
                        "Approve this booking?",
                        f"Room {row.room_id} for the requester; they get a calendar invite.",
                        "Approve",
                        "Not yet",
                    ),
                ),
                button("Deny", ids.DENY, value, style="danger"),
                block_id=f"decide_{row.booking_id}",
            )
        )
    blocks.append(context(f"{_outcome(row)} · requested {token(row.requested_at)}"))
    text = (
        f"Room request #{row.booking_id}: {escape(row.room_name)} ({escape(row.room_id)}) "
        f"for {mention(row.booker)}, "
        f"{when} – {row.status.lower()}"
    )
    return {"text": text, "blocks": blocks}
