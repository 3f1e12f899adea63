"""The approval card in the approvals channel, in every state of its booking.

Many people read the channel, so its times are Slack date tokens: each reader sees their own zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.model import LEFT_WORKSPACE, BookingStatus
from bot.services.ports import BookingRow, SeriesRow
from bot.views import ids
from bot.views.blocks import (
    actions,
    button,
    confirm_dialog,
    context,
    fields,
    section,
)
from bot.views.i18n import _, ngettext, pgettext, token, token_span
from bot.views.mrkdwn import escape, mention, shown
from bot.views.series import pattern

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
            text = _("{outcome}: “{reason}”").format(outcome=text, reason=shown(row.reason))
        return text
    if row.status == BookingStatus.CANCELLED:
        if row.reason == LEFT_WORKSPACE:
            return _("Cancelled: {reason}").format(reason=left_workspace_text())
        by_booker = row.cancelled_by in (None, row.booker)
        if by_booker:
            if row.decided_by:
                return _("Cancelled by requester (approved by {admin} before)").format(
                    admin=decider
                )
            return _("Cancelled by requester")
        if row.decided_by:
            text = _("Cancelled by admin {who} (approved by {admin} before)").format(
                who=mention(row.cancelled_by or ""), admin=decider
            )
        else:
            text = _("Cancelled by admin {who}").format(who=mention(row.cancelled_by or ""))
        if row.reason:
            text = _("{outcome}: “{reason}”").format(outcome=text, reason=shown(row.reason))
        return text
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
        lines.append(f"~{shown(row.was_title) or untitled}~ → {shown(row.title) or untitled}")
    return "\n".join(lines)


def approve_button(row: BookingRow) -> dict[str, Any]:
    """Approve a request, after a confirm (on its card and in an admin's lists)."""
    return button(
        _("Approve"),
        ids.APPROVE,
        str(row.booking_id),
        style="primary",
        confirm=confirm_dialog(
            _("Approve this booking?"),
            _("Room {room_id} for the requester; they get a calendar invite.").format(
                room_id=row.room_id
            ),
            _("Approve"),
            _("Not yet"),
        ),
    )


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
                approve_button(row),
                button(_("Deny"), ids.DENY, value, style="danger"),
                button(_("Change"), ids.CHANGE, value),
                block_id=f"decide_{row.booking_id}",
            )
        )
    elif row.status == BookingStatus.APPROVED:
        # an admin may still move it; the change asks for approval again where it must
        blocks.append(
            actions(
                button(_("Change"), ids.CHANGE, str(row.booking_id)),
                block_id=f"change_{row.booking_id}",
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


#: How many of a series' dates its card lists (first dates held, dates skipped) before "and N more".
SERIES_DATES_SHOWN = 3
SERIES_SKIPPED_SHOWN = 10

#: A series' status on its card, the most telling first: any date waiting makes it pending.
_SERIES_ORDER = (
    BookingStatus.PENDING,
    BookingStatus.APPROVED,
    BookingStatus.DENIED,
    BookingStatus.CANCELLED,
    BookingStatus.RELEASED,
    BookingStatus.EXPIRED,
)


def series_status(series: SeriesRow) -> BookingStatus:
    """The series as one: pending while any date waits, approved while any is approved, else
    what its dates became."""
    statuses = {o.status for o in series.occurrences}
    return next(s for s in _SERIES_ORDER if s in statuses)


def _more(shown: list[str], total: int) -> list[str]:
    """``shown``, and "and N more" when it is not all ``total``."""
    more = total - len(shown)
    if more > 0:
        shown = [*shown, ngettext("and {count} more", "and {count} more", more).format(count=more)]
    return shown


def _series_ended(series: SeriesRow) -> str | None:
    if series.ended_at is None:
        return None
    if series.end_reason == "released":
        return _(
            "Series ended {when}: its dates were released unused too many times in a row"
        ).format(when=token(series.ended_at))
    return _("Series ended {when}: cancelled from one date on").format(when=token(series.ended_at))


def series_card(series: SeriesRow, *, approvers: Sequence[str] = ()) -> dict[str, Any]:
    """The one approval card of a recurring series: its room, pattern in words, how many dates
    it holds, the first ones, the dates it skipped as taken, and Approve/Deny for the whole
    series while any date waits; once decided, who decided, and how it ended."""
    status = series_status(series)
    shown = series.occurrences[0]
    representative = next(o for o in series.occurrences if o.status == status)
    icon = (
        _ICON[BookingStatus.CANCELLED]
        if series.ended_at and status != BookingStatus.PENDING
        else _ICON[status]
    )
    request = _("Series request #{series_id}").format(series_id=series.series_id)
    room = _room(shown)
    words = escape(pattern(series.rule, series.starts_at, ZoneInfo(series.timezone)))
    held = len(series.occurrences)
    first = [token_span(o.starts_at, o.ends_at) for o in series.occurrences[:SERIES_DATES_SHOWN]]
    blocks = [
        section(f"{icon} *{request}* · {room}"),
        fields(
            (_("Repeats"), words),
            (_("Booker"), mention(series.booker)),
            (_("Room"), room),
            (_("Title"), escape(series.title) if series.title else _("_no title_")),
            (
                ngettext("{count} date", "{count} dates", held).format(count=held),
                "\n".join(_more(first, held)),
            ),
        ),
    ]
    if series.skipped:
        dates = [token(d, "{date_short_pretty}") for d in series.skipped[:SERIES_SKIPPED_SHOWN]]
        skipped = ngettext(
            "*Skipped, {count} date already taken:*",
            "*Skipped, {count} dates already taken:*",
            len(series.skipped),
        ).format(count=len(series.skipped))
        blocks.append(
            section(f":warning: {skipped} {', '.join(_more(dates, len(series.skipped)))}")
        )
    pending = [o for o in series.occurrences if o.status == BookingStatus.PENDING]
    if pending:
        value = str(series.series_id)
        blocks.append(
            actions(
                button(
                    _("Approve series"),
                    ids.APPROVE_SERIES,
                    value,
                    style="primary",
                    confirm=confirm_dialog(
                        _("Approve the whole series?"),
                        ngettext(
                            "{count} date in room {room_id} for the requester; they get one "
                            "calendar invite for the series.",
                            "{count} dates in room {room_id} for the requester; they get one "
                            "calendar invite for the series.",
                            len(pending),
                        ).format(count=len(pending), room_id=series.room_id),
                        _("Approve"),
                        _("Not yet"),
                    ),
                ),
                button(_("Deny series"), ids.DENY_SERIES, value, style="danger"),
                block_id=f"decide_series_{series.series_id}",
            )
        )
    counts = ", ".join(
        _("{status}: {count}").format(status=status_word(s), count=n)
        for s in _SERIES_ORDER
        if (n := sum(o.status == s for o in series.occurrences))
    )
    requested = _("requested {when}").format(when=token(series.requested_at))
    lines = [_outcome(representative, approvers), counts, requested]
    ended = _series_ended(series)
    if ended:
        lines.insert(1, ended)
    blocks.append(context(" · ".join(lines)))
    text = _("Series request #{series_id}: {room} for {booker}, {pattern} – {status}").format(
        series_id=series.series_id,
        room=room,
        booker=mention(series.booker),
        pattern=words,
        status=status_word(status),
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
