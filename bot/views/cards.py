"""The approval card in the approvals channel, in every state of its booking.

Many people read the channel, so its times are Slack date tokens: each reader sees their own zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.domain.model import LEFT_WORKSPACE, BookingStatus
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
from bot.views.i18n import _, pgettext, token, token_span
from bot.views.mrkdwn import escape, mention

_ICON = {
    BookingStatus.PENDING: ":hourglass_flowing_sand:",
    BookingStatus.APPROVED: ":white_check_mark:",
    BookingStatus.DENIED: ":no_entry:",
    BookingStatus.CANCELLED: ":wastebasket:",
    BookingStatus.EXPIRED: ":clock3:",
    BookingStatus.RELEASED: ":recycle:",
}


def left_workspace_text() -> str:
    """Why a booking was cancelled when its booker left the workspace (card and Home)."""
    return _("the booker left the workspace")


def policy_text(policy: str) -> str:
    """Which policy approved a request, for people: ``policy`` as stored in the read model."""
    if policy.startswith("group:"):
        return _("Approved by policy: the booker is in {group}").format(
            group=mention(policy.removeprefix("group:"))
        )
    return _("Approved by policy: the room approves every request")


def _outcome(row: BookingRow, approvers: Sequence[str] = ()) -> str:
    decided = token(row.decided_at) if row.decided_at else None
    decider = _("policy") if row.policy else mention(row.decided_by or "")
    if row.status == BookingStatus.APPROVED:
        if row.policy:
            return policy_text(row.policy) + (f" {decided}" if decided else "")
        if decided is None:
            return _("Approved by {who}").format(who=decider)
        return _("Approved by {who} {when}").format(who=decider, when=decided)
    if row.status == BookingStatus.DENIED:
        text = (
            _("Denied by {who} {when}").format(who=decider, when=decided)
            if decided
            else _("Denied by {who}").format(who=decider)
        )
        if row.reason:
            text = _("{outcome}: “{reason}”").format(outcome=text, reason=escape(row.reason))
        return text
    if row.status == BookingStatus.CANCELLED:
        if row.reason == LEFT_WORKSPACE:
            return _("Cancelled: {reason}").format(reason=left_workspace_text())
        by_booker = row.cancelled_by in (None, row.booker)
        if row.decided_by:
            if by_booker:
                return _("Cancelled by requester (approved by {admin} before)").format(
                    admin=decider
                )
            return _("Cancelled by admin {who} (approved by {admin} before)").format(
                who=mention(row.cancelled_by or ""), admin=decider
            )
        if by_booker:
            return _("Cancelled by requester")
        return _("Cancelled by admin {who}").format(who=mention(row.cancelled_by or ""))
    if row.status == BookingStatus.EXPIRED:
        return _("Expired: nobody decided before it started")
    if row.status == BookingStatus.RELEASED:
        return _("Released: the room was given back unused")
    if approvers:
        return _("Waiting for an admin or {approvers}").format(
            approvers=", ".join(mention(a) for a in approvers)
        )
    return _("Waiting for an admin")


def _room(row: BookingRow) -> str:
    return _("{name} ({room_id})").format(name=escape(row.room_name), room_id=escape(row.room_id))


def _was(row: BookingRow) -> str | None:
    """Old -> new of the last change, while the change waits for a decision."""
    if row.status != BookingStatus.PENDING or row.changed_at is None:
        return None
    if row.was_starts_at is None or row.was_ends_at is None:
        return None
    changed = _("*Changed* {when} – was:").format(when=token(row.changed_at))
    lines = [f":pencil2: {changed}"]
    if (row.was_starts_at, row.was_ends_at) != (row.starts_at, row.ends_at):
        lines.append(
            f"~{token_span(row.was_starts_at, row.was_ends_at)}~ → "
            f"{token_span(row.starts_at, row.ends_at)}"
        )
    if row.was_room_id and row.was_room_id != row.room_id:
        was_room = f"{escape(row.was_room_name or row.was_room_id)} ({escape(row.was_room_id)})"
        lines.append(f"~{was_room}~ → {escape(row.room_name)} ({escape(row.room_id)})")
    if row.was_title is not None and row.was_title != row.title:
        untitled = _("_no title_")
        lines.append(f"~{escape(row.was_title) or untitled}~ → {escape(row.title) or untitled}")
    return "\n".join(lines)


def card(row: BookingRow, *, approvers: Sequence[str] = ()) -> dict[str, Any]:
    """``text`` and ``blocks`` for chat.postMessage / chat.update, in the active language (the
    caller picks APPROVALS_LOCALE); times are Slack date tokens, each reader's own zone.
    ``approvers`` are the room's own approvers (users or user groups), named while it waits."""
    title = escape(row.title) if row.title else _("_no title_")
    when = token_span(row.starts_at, row.ends_at)
    request = _("Room request #{booking_id}").format(booking_id=row.booking_id)
    headline = f"{_ICON[row.status]} *{request}* · {_room(row)}"
    blocks = [
        section(headline),
        fields(
            (_("When"), when),
            (_("Booker"), mention(row.booker)),
            (_("Room"), _room(row)),
            (_("Title"), title),
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
                    _("Approve"),
                    ids.APPROVE,
                    value,
                    style="primary",
                    confirm=confirm_dialog(
                        _("Approve this booking?"),
                        _("Room {room_id} for the requester; they get a calendar invite.").format(
                            room_id=row.room_id
                        ),
                        _("Approve"),
                        _("Not yet"),
                    ),
                ),
                button(_("Deny"), ids.DENY, value, style="danger"),
                block_id=f"decide_{row.booking_id}",
            )
        )
    requested = _("requested {when}").format(when=token(row.requested_at))
    blocks.append(context(f"{_outcome(row, approvers)} · {requested}"))
    text = _("Room request #{booking_id}: {room} for {booker}, {when} – {status}").format(
        booking_id=row.booking_id,
        room=_room(row),
        booker=mention(row.booker),
        when=when,
        status=status_word(row.status),
    )
    return {"text": text, "blocks": blocks}


def status_word(status: BookingStatus) -> str:
    """The status as one lower-case word in a sentence: ``pending``, ``approved`` ..."""
    if status == BookingStatus.PENDING:
        return pgettext("booking status", "pending")
    if status == BookingStatus.APPROVED:
        return pgettext("booking status", "approved")
    if status == BookingStatus.DENIED:
        return pgettext("booking status", "denied")
    if status == BookingStatus.CANCELLED:
        return pgettext("booking status", "cancelled")
    if status == BookingStatus.RELEASED:
        return pgettext("booking status", "released")
    return pgettext("booking status", "expired")
