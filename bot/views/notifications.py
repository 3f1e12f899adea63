"""What the booker reads about their booking: Slack DMs and emails, one message per event.

Pure functions: a notice (the outbox payload written with the event) and the reader's time zone
in, Slack message dicts and email parts out. Times are always shown in the reader's zone *with*
the zone's name, so a message forwarded to a colleague elsewhere is still unambiguous.

User input (titles, reasons, names) is escaped for where it lands: Slack mrkdwn control
characters in DMs, ``html.escape`` in the HTML part of emails.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.model import LEFT_WORKSPACE
from bot.notifications.notice import (
    NON_PERSON_ACTORS,
    ChannelProblem,
    Departure,
    Notice,
    Unattended,
)
from bot.views import i18n, ids
from bot.views.blocks import MESSAGE_TEXT_MAX, section, sections
from bot.views.blocks import context as block_context
from bot.views.i18n import _, moment, ngettext
from bot.views.mrkdwn import clip, escape, mention, shown
from bot.views.series import pattern

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

_EMOJI = {
    "requested": ":hourglass_flowing_sand:",
    "approved": ":white_check_mark:",
    "denied": ":no_entry:",
    "cancelled": ":x:",
    "expired": ":alarm_clock:",
    "changed": ":pencil2:",
    "released": ":recycle:",
    "offer": ":sparkles:",
    "reminder": ":bell:",
    "nudge": ":eyes:",
    "ended": ":wastebasket:",
}

#: How many skipped dates a series' DM or email lists by day before "and N more".
SKIPPED_LISTED = 5


def _status_line(kind: str) -> str:
    if kind in ("requested", "nudge"):
        return _("Waiting for approval")
    if kind in ("approved", "reminder"):
        return _("Approved")
    if kind == "denied":
        return _("Denied")
    if kind == "cancelled":
        return _("Cancelled")
    if kind == "changed":
        return _("Changed")
    if kind == "released":
        return _("Released")
    if kind == "offer":
        return _("Offer open")
    if kind == "ended":
        return _("Ended")
    return _("Expired")


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str
    html: str


# --- shared pieces -------------------------------------------------------------------------------


def room_label(room_id: str, room_name: str | None = None) -> str:
    """``Room 102``, or ``Room 102 (Board room)`` when the room has a name of its own."""
    base = _("Room {room_id}").format(room_id=room_id)
    name = (room_name or "").strip()
    if not name or name in (room_id, base, f"Room {room_id}"):
        return base
    return _("Room {room_id} ({room_name})").format(room_id=room_id, room_name=name)


def _room(notice: Notice) -> str:
    return room_label(notice.room_id, notice.room_name)


def when(starts_at: datetime, ends_at: datetime, tz: ZoneInfo) -> str:
    """``Tue 1 Dec, 09:00–10:00 (Asia/Seoul)``; both days are named when it spans two."""
    return i18n.span(starts_at, ends_at, tz)


def _short_when(notice: Notice, tz: ZoneInfo) -> str:
    return i18n.moment(notice.starts_at, tz)


def _one_line(value: str) -> str:
    """Whitespace folded to single spaces and control characters dropped: safe for a subject
    line or a one-line DM, whatever a title or name holds."""
    return _CONTROL.sub("", re.sub(r"\s+", " ", value)).strip()


def _is_person(actor: str) -> bool:
    return bool(actor) and actor not in NON_PERSON_ACTORS


def _series_headline(notice: Notice) -> str:
    """What happened to a whole series, to its booker or (``to_admins``) to the admins."""
    kind = notice.kind
    if kind == "requested":
        return _("Your recurring booking request was received and is waiting for approval.")
    if kind == "approved":
        return _("Your recurring booking was approved.")
    if kind == "denied":
        return _("Your recurring booking request was denied.")
    if kind == "expired":
        return _(
            "Dates of your recurring booking request expired: no one decided before they started."
        )
    released = notice.series is not None and notice.series.end_reason == "released"
    if notice.to_admins:
        if released:
            return _(
                "A recurring booking ended: its dates were released unused too many times in a row."
            )
        return _("A recurring booking was cancelled from one date on.")
    if released:
        return _(
            "Your recurring booking ended: its dates were released unused too many times in a row."
        )
    if notice.by_admin and notice.actor != notice.booker:
        return _("An admin cancelled your recurring booking from this date on.")
    return _("You cancelled your recurring booking from this date on.")


def headline(notice: Notice) -> str:
    """One plain sentence saying what happened (no markup, no user input)."""
    if notice.about_series:
        return _series_headline(notice)
    kind = notice.kind
    if kind == "requested":
        return _("Your booking request was received and is waiting for approval.")
    if kind == "approved":
        return _("Your booking was approved.")
    if kind == "denied":
        return _("Your booking request was denied.")
    if kind == "cancelled":
        if notice.by_admin and notice.actor != notice.booker:
            return _("Your booking was cancelled by an admin.")
        return _("You cancelled your booking.")
    if kind == "expired":
        return _("Your booking request expired: no one decided before it started.")
    if kind == "released":
        if notice.automatic:
            return _(
                "Your booking was released: nobody checked in, so the room is free for others."
            )
        return _("You released your booking.")
    if kind == "offer":
        return _("A slot you were waiting for is free.")
    if kind == "changed":
        if notice.ended_early:
            return _("Your booking was ended early; the rest of the slot is free.")
        by_admin = notice.actor != notice.booker and _is_person(notice.actor)
        if notice.needs_approval and by_admin:
            return _("An admin changed your booking; it is waiting for approval again.")
        if notice.needs_approval:
            return _("Your booking was changed and is waiting for approval again.")
        if by_admin:
            return _("An admin changed your booking.")
        return _("Your booking was changed.")
    if kind == "nudge":
        waited = duration(notice.waiting_minutes)
        return _("A booking request has been waiting {duration} for a decision.").format(
            duration=waited
        )
    minutes = notice.minutes if notice.minutes is not None else 0
    return ngettext(
        "Your booking starts in {count} minute.", "Your booking starts in {count} minutes.", minutes
    ).format(count=minutes)


def duration(minutes: int | None) -> str:
    """``45 minutes``, ``2 hours``, ``2 h 30 min``: how long something has been waiting."""
    total = max(minutes or 0, 0)
    hours, rest = divmod(total, 60)
    if not hours:
        return ngettext("{count} minute", "{count} minutes", rest).format(count=rest)
    if not rest:
        return ngettext("{count} hour", "{count} hours", hours).format(count=hours)
    return _("{hours} h {minutes} min").format(hours=hours, minutes=rest)


def _series_follow_up(notice: Notice) -> str | None:
    if notice.to_admins:
        return None
    if notice.kind == "approved":
        return _(
            "Every date is yours. One calendar invite for the whole series is attached to the "
            "email."
        )
    if notice.kind == "ended":
        if notice.calendar_method == "CANCEL":
            return _("The room is free again, and the calendar invite is withdrawn.")
        if notice.calendar_method == "REQUEST":
            return _("The later dates are free again, and the calendar invite is updated.")
        return _("The later dates are free again.")
    return None


def _follow_up(notice: Notice) -> str | None:
    """What the reader can expect or do next, if anything."""
    if notice.about_series and notice.kind in ("approved", "ended"):
        return _series_follow_up(notice)
    if notice.kind == "nudge":
        return _("Approve or deny it in the approvals channel or on the roombot Home tab.")
    if notice.kind == "requested":
        return _("You will get another message when an admin decides. Nothing is confirmed yet.")
    if notice.kind == "approved":
        return _("The room is yours. A calendar invite is attached to the email.")
    if notice.withdraws_invite:
        return _("The room is free again, and the calendar invite is withdrawn.")
    if notice.kind == "cancelled":
        return _("The room is free again.")
    if notice.kind in ("denied", "expired"):
        return _("You can request another slot with /book.")
    if notice.kind == "offer":
        return _(
            "Book it with one click while the offer is open; after that it passes to the next "
            "person waiting."
        )
    if notice.kind == "reminder" and notice.checkin:
        return _(
            "Check in within {minutes} minutes of the start, or the room is released for "
            "others. Not needed any more? Release it now."
        ).format(minutes=notice.checkin)
    if notice.kind == "changed":
        if notice.needs_approval:
            return _(
                "The new slot is held for you and the old one is free. "
                "You will get another message when an admin decides."
            )
        if notice.moves_invite:
            return _("It stays approved. The calendar invite is updated.")
        return _("The new slot is held for you.")
    return None


def _decided_by_other(notice: Notice) -> bool:
    return notice.kind in ("approved", "denied") or (
        notice.kind == "cancelled" and notice.by_admin and notice.actor != notice.booker
    )


def _by(kind: str, who: str | None) -> str:
    """``Approved by @ada`` / ``Approved by an admin`` (each its own sentence, for word order)."""
    if who is None:
        if kind == "approved":
            return _("Approved by an admin")
        if kind == "denied":
            return _("Denied by an admin")
        return _("Cancelled by an admin")
    if kind == "approved":
        return _("Approved by {who}").format(who=who)
    if kind == "denied":
        return _("Denied by {who}").format(who=who)
    return _("Cancelled by {who}").format(who=who)


def _reason(notice: Notice) -> str | None:
    """The words a denial or an admin's cancellation came with (``""``: a denial without
    any), or ``None`` where a reason has no place."""
    said = (notice.reason or "").strip()
    if notice.kind == "denied":
        return said
    by_admin = notice.kind == "cancelled" and notice.by_admin and notice.actor != notice.booker
    if by_admin and said and said != LEFT_WORKSPACE:
        return said
    return None


def _quoted(text: str) -> str:
    return _("“{text}”").format(text=text)


# --- Slack DM ------------------------------------------------------------------------------------


def _actor_mention(notice: Notice) -> str | None:
    if not _decided_by_other(notice):
        return None
    if notice.actor == "policy":
        return _("Approved by policy: no admin decision was needed")
    return _by(notice.kind, mention(notice.actor) if _is_person(notice.actor) else None)


def _pattern(notice: Notice) -> str:
    """The series' repeat pattern in words (in the zone it repeats in)."""
    assert notice.series is not None
    series = notice.series
    return pattern(series.rule, series.starts_at, ZoneInfo(series.timezone))


def _skipped_days(notice: Notice, tz: ZoneInfo) -> tuple[int, str] | None:
    """How many of the series' dates were skipped as taken, and their days in the reader's
    zone (the first few), if any."""
    if notice.series is None or notice.kind not in ("requested", "approved"):
        return None
    skipped = notice.series.skipped
    if not skipped:
        return None
    days = [i18n.day(d, tz) for d in skipped[:SKIPPED_LISTED]]
    if len(skipped) > SKIPPED_LISTED:
        more = len(skipped) - SKIPPED_LISTED
        days.append(ngettext("and {count} more", "and {count} more", more).format(count=more))
    return len(skipped), ", ".join(days)


def _series_rows(notice: Notice, tz: ZoneInfo, *, lines: bool) -> list[tuple[str, str]]:
    """(label, value) of a notice about a whole series, unescaped; with ``lines``, each value
    says what its label would (a DM has no labels)."""
    assert notice.series is not None
    rows = [(_("Repeats"), _pattern(notice))]
    if notice.kind == "ended":
        cancelled = notice.cancelled_dates or 0
        released = notice.series.end_reason == "released"
        rows.append(
            (
                _("Released last") if released else _("From"),
                when(notice.starts_at, notice.ends_at, tz),
            )
        )
        rows.append(
            (
                _("Cancelled"),
                ngettext(
                    "{count} date is cancelled.", "{count} dates are cancelled.", cancelled
                ).format(count=cancelled),
            )
        )
    elif notice.kind == "expired":
        expired = notice.expired_dates or 0
        rows.append(
            (
                _("Expired"),
                ngettext(
                    "{count} date expired, from {when}",
                    "{count} dates expired, from {when}",
                    expired,
                ).format(count=expired, when=when(notice.starts_at, notice.ends_at, tz)),
            )
        )
        waiting = sum(1 for d in notice.series.dates if d.status == "PENDING")
        if waiting:
            rows.append(
                (
                    _("Still waiting"),
                    ngettext(
                        "{count} later date is still waiting for approval.",
                        "{count} later dates are still waiting for approval.",
                        waiting,
                    ).format(count=waiting),
                )
            )
    else:
        held = len(notice.series.held) or len(notice.series.dates)
        rows.append(
            (
                _("Dates"),
                ngettext("{count} date, from {when}", "{count} dates, from {when}", held).format(
                    count=held, when=when(notice.starts_at, notice.ends_at, tz)
                ),
            )
        )
    skipped = _skipped_days(notice, tz)
    if skipped is not None:
        count, days = skipped
        said = ngettext(
            "Skipped, already taken ({count} date): {days}",
            "Skipped, already taken ({count} dates): {days}",
            count,
        ).format(count=count, days=days)
        rows.append((_("Skipped"), said if lines else days))
    return rows


def _reference(notice: Notice) -> str:
    """``Booking #42``, ``Series #7``, or ``Booking #42 of series #7``."""
    if notice.series is None:
        return _("Booking #{booking_id}").format(booking_id=notice.booking_id)
    if notice.about_series:
        return _("Series #{series_id}").format(series_id=notice.series.series_id)
    return _("Booking #{booking_id} of series #{series_id}").format(
        booking_id=notice.booking_id, series_id=notice.series.series_id
    )


def dm_text(notice: Notice, tz: ZoneInfo) -> str:
    """The one-line fallback Slack shows in notifications and to screen readers."""
    if notice.about_series:
        where = _("{room}, {pattern}").format(room=escape(_room(notice)), pattern=_pattern(notice))
    else:
        where = _("{room}, {when}").format(
            room=escape(_room(notice)), when=when(notice.starts_at, notice.ends_at, tz)
        )
    parts = [headline(notice).rstrip(".").rstrip("。"), where]
    if notice.title:
        parts.append(_quoted(shown(_one_line(notice.title))))
    reason = _reason(notice)
    if reason:
        parts.append(_("reason: {reason}").format(reason=shown(_one_line(reason))))
    return clip(" — ".join(parts), MESSAGE_TEXT_MAX)


def dm_blocks(notice: Notice, tz: ZoneInfo) -> list[dict[str, Any]]:
    lines = [f"{_EMOJI[notice.kind]} *{headline(notice)}*"]
    if notice.about_series:
        (_label, first), *rest = _series_rows(notice, tz, lines=True)
        lines.append(f"*{escape(_room(notice))}* · {escape(first)}")
        lines += [escape(line) for _label, line in rest]
    else:
        lines.append(f"*{escape(_room(notice))}* · {when(notice.starts_at, notice.ends_at, tz)}")
    if notice.kind == "nudge" or notice.to_admins:
        lines.append(_("Requested by {who}").format(who=mention(notice.booker)))
    if notice.was_when is not None:
        lines.append(_("Was: ~{when}~").format(when=when(*notice.was_when, tz)))
    if notice.was_room_id and notice.kind == "changed" and notice.was_room_id != notice.room_id:
        was_room = escape(room_label(notice.was_room_id, notice.was_room_name))
        lines.append(_("Was: ~{room}~").format(room=was_room))
    if notice.title:
        lines.append(f"_{shown(_one_line(notice.title))}_")
    reason = _reason(notice)
    if reason is not None:
        lines.append(
            _("*Reason:* {reason}").format(reason=shown(reason))
            if reason
            else _("No reason was given.")
        )
    follow_up = _follow_up(notice)
    if follow_up and notice.kind != "approved":
        lines.append(follow_up)
    if notice.kind == "offer" and notice.expires_at is not None:
        lines.append(_("Open until {when}.").format(when=moment(notice.expires_at, tz)))
    # a waitlist offer is about a slot, not about the booking whose end freed it
    first = _("Waitlist") if notice.kind == "offer" else _reference(notice)
    context = [first, _actor_mention(notice) or _status_line(notice.kind)]
    blocks: list[dict[str, Any]] = [section("\n".join(lines)), block_context(" · ".join(context))]
    if notice.kind == "reminder" and notice.checkin:
        blocks.append(_checkin_buttons(notice.booking_id))
    if notice.kind == "offer" and notice.entry_id is not None:
        blocks.append(_offer_button(notice.entry_id))
    return blocks


def _button(text: str, action_id: str, value: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
        **extra,
    }


def _checkin_buttons(booking_id: int) -> dict[str, Any]:
    """Check in (the meeting is happening) and Release (it is not), on a reminder."""
    value = str(booking_id)
    confirm = {
        "title": {"type": "plain_text", "text": _("Release the room?")},
        "text": {"type": "plain_text", "text": _("Others can book it at once.")},
        "confirm": {"type": "plain_text", "text": _("Release")},
        "deny": {"type": "plain_text", "text": _("Keep it")},
    }
    return {
        "type": "actions",
        "block_id": f"checkin_{booking_id}",
        "elements": [
            _button(_("Check in"), ids.CHECK_IN, value, style="primary"),
            _button(_("Release"), ids.RELEASE, value, confirm=confirm),
        ],
    }


def _offer_button(entry_id: int) -> dict[str, Any]:
    """*Book it* requests the slot for the reader; the offer passes on when it lapses."""
    return {
        "type": "actions",
        "block_id": f"offer_{entry_id}",
        "elements": [_button(_("Book it"), ids.BOOK_IT, str(entry_id), style="primary")],
    }


def dm_message(notice: Notice, tz: ZoneInfo) -> dict[str, Any]:
    """Arguments for ``chat.postMessage`` (without the channel)."""
    return {"text": dm_text(notice, tz), "blocks": dm_blocks(notice, tz)}


def approvals_channel_message(problem: ChannelProblem) -> dict[str, Any]:
    """The admins' DM when Slack refuses approval cards in the approvals channel: what is wrong
    and exactly what to do about it; the cards wait meanwhile."""
    channel = mention(problem.channel)
    if problem.error == "not_in_channel":
        what = _("roombot is not a member of {channel}.").format(channel=channel)
        fix = _("Type `/invite @roombot` in {channel}.").format(channel=channel)
    elif problem.error == "is_archived":
        what = _("{channel} is archived.").format(channel=channel)
        fix = _(
            "Unarchive it, or set `APPROVALS_CHANNEL` to another channel's id, type "
            "`/invite @roombot` there and restart roombot."
        )
    else:
        what = _("Slack finds no channel {channel} that roombot can see.").format(channel=channel)
        fix = _(
            "If it is a private channel, type `/invite @roombot` in it. Otherwise set "
            "`APPROVALS_CHANNEL` to the approvals channel's id (the channel's name, then "
            "*About*, then *Channel ID* at the bottom) and restart roombot."
        )
    title = ":warning: " + _("*Approval cards cannot be posted:* {what}").format(what=what)
    note = _("Requests are kept; their cards are posted as soon as this is fixed.")
    return {
        "text": f"{what} {fix}",
        "blocks": [section(f"{title}\n{fix}"), block_context(note)],
    }


#: How many freed bookings the admins' DM lists by name; the rest are counted. Each line shows
#: at most this much of its title, so the list fits a section.
DEPARTURE_LISTED = 10
DEPARTURE_TITLE_MAX = 150


def departure_message(departure: Departure, tz: ZoneInfo) -> dict[str, Any]:
    """The admins' DM when someone left the workspace: who, and which of their upcoming
    bookings were cancelled (the first :data:`DEPARTURE_LISTED`, then how many more)."""
    who = mention(departure.user)
    count = len(departure.bookings)
    lines = [":wave: " + _("*{who} left the workspace.*").format(who=who)]
    if count:
        lines.append(
            ngettext(
                "Their upcoming booking was cancelled, so the room is free again:",
                "Their {count} upcoming bookings were cancelled, so the rooms are free again:",
                count,
            ).format(count=count)
        )
        for freed in departure.bookings[:DEPARTURE_LISTED]:
            line = "• " + _("#{booking_id} {room}, {when}").format(
                booking_id=freed.booking_id,
                room=escape(room_label(freed.room_id, freed.room_name)),
                when=when(freed.starts_at, freed.ends_at, tz),
            )
            if freed.title:
                line += f" · _{shown(_one_line(freed.title), DEPARTURE_TITLE_MAX)}_"
            lines.append(line)
        lines += _more(count)
    else:
        lines.append(_("They had no upcoming bookings."))
    lines += _what_to_fix(departure)
    text = ngettext(
        "{who} left the workspace; {count} upcoming booking was cancelled.",
        "{who} left the workspace; {count} upcoming bookings were cancelled.",
        count,
    ).format(who=who, count=count)
    note = _("Nothing more is sent to them.")
    return {
        "text": text,
        "blocks": [*sections(lines), block_context(note)],
    }


def _what_to_fix(departure: Departure) -> list[str]:
    """What only an admin can fix about someone who left: the rooms they approved requests for
    (listed like the freed bookings), by name or as a member of a user group, each marked when
    it has no approver of its own left; and their id in ADMIN_USER_IDS."""
    lines = []
    rooms = departure.approver_of
    left = set(departure.no_approver_left)

    def listed(room_id: str, line: str) -> str:
        if room_id not in left:
            return "• " + line
        return "• " + _("{room}: no approver of its own left, only admins decide it now").format(
            room=line
        )

    if rooms:
        lines.append(
            ":warning: "
            + ngettext(
                "They approve requests for this room; choose who does now (`/book rooms`, *Edit*):",
                "They approve requests for these {count} rooms; choose who does now "
                "(`/book rooms`, *Edit*):",
                len(rooms),
            ).format(count=len(rooms))
        )
        lines += [
            listed(room_id, escape(room_label(room_id, name)))
            for room_id, name in rooms[:DEPARTURE_LISTED]
        ]
        lines += _more(len(rooms))
    grouped = departure.through_groups
    if grouped:
        lines.append(
            ":warning: "
            + ngettext(
                "They approve requests for this room as a member of a user group; check that "
                "the group still holds who should:",
                "They approve requests for these {count} rooms as a member of a user group; "
                "check that each group still holds who should:",
                len(grouped),
            ).format(count=len(grouped))
        )
        lines += [
            listed(
                room_id,
                _("{room}, through {group}").format(
                    room=escape(room_label(room_id, name)), group=mention(group)
                ),
            )
            for room_id, name, group in grouped[:DEPARTURE_LISTED]
        ]
        lines += _more(len(grouped))
    if departure.admin:
        lines.append(
            ":warning: "
            + _(
                "`ADMIN_USER_IDS` still names them: take `{user_id}` out of it and restart roombot."
            ).format(user_id=departure.user)
        )
    return lines


def _more(count: int) -> list[str]:
    """``…and N more.`` after the first :data:`DEPARTURE_LISTED` of ``count`` listed, if any."""
    if count <= DEPARTURE_LISTED:
        return []
    rest = count - DEPARTURE_LISTED
    return [ngettext("…and {count} more.", "…and {count} more.", rest).format(count=rest)]


def unattended_message(note: Unattended) -> dict[str, Any]:
    """The approvals channel's note when someone left and nobody may approve or deny requests
    for some rooms any more (no admin is left to tell): which rooms, why, and how to fix it."""
    who = mention(note.user)
    count = len(note.rooms)
    title = ":rotating_light: " + ngettext(
        "*{who} left the workspace, and nobody can approve or deny requests for this room now:*",
        "*{who} left the workspace, and nobody can approve or deny requests for these {count} "
        "rooms now:*",
        count,
    ).format(who=who, count=count)
    lines = [title]
    lines += [
        "• " + escape(room_label(room_id, name)) for room_id, name in note.rooms[:DEPARTURE_LISTED]
    ]
    lines += _more(count)
    if note.admin:
        lines.append(
            _(
                "They were the last admin `ADMIN_USER_IDS` named, and no room listed has an "
                "approver of its own."
            )
        )
    else:
        lines.append(
            _(
                "`ADMIN_USER_IDS` names no admin, and they were the last approver of each room "
                "listed."
            )
        )
    lines.append(
        _(
            "Set `ADMIN_USER_IDS` to whoever decides and restart roombot, or give each room "
            "approvers: `python -m bot rooms edit ROOM --approvers IDS` (Slack user or user "
            "group ids)."
        )
    )
    text = ngettext(
        "{who} left the workspace; nobody can approve or deny requests for {count} room now.",
        "{who} left the workspace; nobody can approve or deny requests for {count} rooms now.",
        count,
    ).format(who=who, count=count)
    note_text = _("Requests for these rooms wait, and expire at their start if nobody decides.")
    return {"text": text, "blocks": [*sections(lines), block_context(note_text)]}


# --- email ---------------------------------------------------------------------------------------


def _subject_head(kind: str) -> str:
    if kind == "requested":
        return _("Request received, waiting for approval")
    if kind == "approved":
        return _("Approved")
    if kind == "denied":
        return _("Denied")
    if kind == "cancelled":
        return _("Cancelled")
    if kind == "expired":
        return _("Expired, no decision in time")
    if kind == "changed":
        return _("Changed")
    if kind == "released":
        return _("Released")
    if kind == "offer":
        return _("Free now")
    if kind == "reminder":
        return _("Starting soon")
    if kind == "ended":
        return _("Ended")
    return _("Waiting for your decision")


def email_subject(notice: Notice, tz: ZoneInfo) -> str:
    subject = _("{status}: {room}, {when}").format(
        status=_subject_head(notice.kind),
        room=_room(notice),
        when=_pattern(notice) if notice.about_series else _short_when(notice, tz),
    )
    if notice.title:
        subject = _("{subject} · {title}").format(subject=subject, title=notice.title)
    return clip(_one_line(subject), 200)


def _details(
    notice: Notice, tz: ZoneInfo, actor_name: str | None, booker_name: str | None = None
) -> list[tuple[str, str]]:
    """(label, value) pairs, unescaped: each format escapes them its own way."""
    if notice.about_series:
        assert notice.series is not None
        rows = [(_("Series"), f"#{notice.series.series_id}"), (_("Room"), _room(notice))]
        if notice.to_admins and booker_name:  # written for the admins: whose it was
            rows.append((_("Booker"), _one_line(booker_name)))
        rows += _series_rows(notice, tz, lines=False)
    else:
        rows = [
            (_("Booking"), f"#{notice.booking_id}"),
            (_("Room"), _room(notice)),
            (_("When"), when(notice.starts_at, notice.ends_at, tz)),
        ]
        if notice.series is not None:
            rows.insert(1, (_("Series"), f"#{notice.series.series_id}"))
    if notice.was_when is not None:
        rows.append((_("Was"), when(*notice.was_when, tz)))
    if notice.kind == "changed" and notice.was_room_id and notice.was_room_id != notice.room_id:
        rows.append((_("Was in"), room_label(notice.was_room_id, notice.was_room_name)))
    if notice.title:
        rows.append((_("Title"), _one_line(notice.title)))
    rows.append((_("Status"), _status_line(notice.kind)))
    if notice.actor == "policy":
        rows.append((_("By"), _("the room's policy, with no admin decision")))
    elif _decided_by_other(notice) or (
        notice.kind == "changed" and notice.actor != notice.booker and _is_person(notice.actor)
    ):
        rows.append((_("By"), actor_name or _("an admin")))
    reason = _reason(notice)
    if reason is not None:
        rows.append((_("Reason"), reason or _("No reason was given.")))
    return rows


def calendar_text(notice: Notice) -> tuple[str, str]:
    """The summary and description of the booking's calendar entry, in the reader's language."""
    title = _one_line(notice.title)
    summary = title or _room(notice)
    if notice.series is not None:
        booked = _("{room}, booked with roombot (series #{series_id}).").format(
            room=_room(notice), series_id=notice.series.series_id
        )
    else:
        booked = _("{room}, booked with roombot (booking #{booking_id}).").format(
            room=_room(notice), booking_id=notice.booking_id
        )
    lines = [booked]
    if notice.withdraws_invite:
        lines.append(_("This booking was cancelled; the room is free again."))
    return summary, "\n".join(lines)


def email_content(
    notice: Notice,
    tz: ZoneInfo,
    *,
    recipient_name: str | None = None,
    actor_name: str | None = None,
    booker_name: str | None = None,
) -> EmailContent:
    """The email of a notice; ``booker_name`` names whose booking it is, in one written for
    the admins."""
    details = _details(notice, tz, actor_name, booker_name)
    follow_up = _follow_up(notice)
    greeting = (
        _("Hello {name},").format(name=_one_line(recipient_name)) if recipient_name else _("Hello,")
    )
    signature = _("roombot: meeting rooms, booked in Slack")

    width = max(_width(label) for label, _value in details) + 2
    text_lines = [greeting, "", headline(notice)]
    if follow_up:
        text_lines.append(follow_up)
    text_lines.append("")
    text_lines += [
        f"  {label}:{' ' * (width - _width(label) - 1)}{value}" for label, value in details
    ]
    text_lines += ["", "-- ", signature]

    esc = html.escape
    rows_html = "\n".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0;color:#555">{esc(label)}</th>'
        f"<td>{esc(value)}</td></tr>"
        for label, value in details
    )
    follow_html = f"<p>{esc(follow_up)}</p>\n" if follow_up else ""
    html_body = (
        "<!DOCTYPE html>\n"
        f'<html lang="{esc(i18n.current_locale().replace("_", "-"))}">'
        '<head><meta charset="utf-8"></head>\n'
        '<body style="font-family:sans-serif;line-height:1.4">\n'
        f"<p>{esc(greeting)}</p>\n"
        f"<p><strong>{esc(headline(notice))}</strong></p>\n"
        f"{follow_html}"
        f"<table>\n{rows_html}\n</table>\n"
        f'<p style="color:#888;font-size:small">{esc(signature)}</p>\n'
        "</body></html>\n"
    )
    return EmailContent(email_subject(notice, tz), "\n".join(text_lines) + "\n", html_body)


def _width(text: str) -> int:
    """Columns a label takes in a fixed-width font: Hangul and other wide letters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
