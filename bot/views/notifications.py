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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.views import i18n
from bot.views.mrkdwn import clip, escape, mention

#: Every kind of notice. The first five tell the booker about booking events; ``reminder`` (to
#: the booker) and ``nudge`` (to each admin, about a request waiting too long) come from jobs.
KINDS = (
    "requested",
    "approved",
    "denied",
    "cancelled",
    "expired",
    "changed",
    "reminder",
    "nudge",
)

#: Actors that are not people (the operator's shell, the scheduler); never shown as a mention.
NON_PERSON_ACTORS = frozenset({"cli", "system"})

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

_EMOJI = {
    "requested": ":hourglass_flowing_sand:",
    "approved": ":white_check_mark:",
    "denied": ":no_entry:",
    "cancelled": ":x:",
    "expired": ":alarm_clock:",
    "changed": ":pencil2:",
    "reminder": ":bell:",
    "nudge": ":eyes:",
}

_STATUS_LINE = {
    "requested": "Waiting for approval",
    "approved": "Approved",
    "denied": "Denied",
    "cancelled": "Cancelled",
    "expired": "Expired",
    "changed": "Changed",
    "reminder": "Approved",
    "nudge": "Waiting for approval",
}


@dataclass(frozen=True)
class Notice:
    """An outbox payload, read back: what happened to which booking, by whom, when."""

    kind: str
    actor: str
    at: datetime
    booking_id: int
    room_id: str
    room_name: str
    starts_at: datetime
    ends_at: datetime
    booker: str
    title: str = ""
    reason: str | None = None
    was_approved: bool = False
    by_admin: bool = False
    minutes: int | None = None
    waiting_minutes: int | None = None
    needs_approval: bool = False
    ended_early: bool = False
    sequence: int = 0
    was_room_id: str | None = None
    was_room_name: str | None = None
    was_starts_at: datetime | None = None
    was_ends_at: datetime | None = None

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Notice:
        kind = str(payload["kind"])
        if kind not in KINDS:
            raise ValueError(f"unknown notice kind {kind!r}")
        booking = payload["booking"]
        return cls(
            kind=kind,
            actor=str(payload.get("actor") or ""),
            at=_moment(payload.get("at") or booking["requested_at"]),
            booking_id=int(booking["booking_id"]),
            room_id=str(booking["room_id"]),
            room_name=str(booking.get("room_name") or booking["room_id"]),
            starts_at=_moment(booking["starts_at"]),
            ends_at=_moment(booking["ends_at"]),
            booker=str(booking["booker"]),
            title=str(booking.get("title") or ""),
            reason=booking.get("reason") or None,
            was_approved=bool(payload.get("was_approved", False)),
            by_admin=bool(payload.get("by_admin", False)),
            minutes=_int(payload.get("minutes")),
            waiting_minutes=_int(payload.get("waiting_minutes")),
            needs_approval=bool(payload.get("needs_approval", False)),
            ended_early=bool(payload.get("ended_early", False)),
            sequence=int(booking.get("sequence") or 0),
            was_room_id=booking.get("was_room_id") or None,
            was_room_name=booking.get("was_room_name") or None,
            was_starts_at=_maybe_moment(booking.get("was_starts_at")),
            was_ends_at=_maybe_moment(booking.get("was_ends_at")),
        )

    @property
    def room(self) -> str:
        return room_label(self.room_id, self.room_name)

    @property
    def withdraws_invite(self) -> bool:
        """A calendar invite went out earlier and this notice takes it back."""
        return self.kind in ("cancelled", "denied") and self.was_approved

    @property
    def moves_invite(self) -> bool:
        """A calendar invite went out earlier and this notice moves it (a change)."""
        return self.kind == "changed" and self.was_approved

    @property
    def was_when(self) -> tuple[datetime, datetime] | None:
        """The slot before a change, if the change moved it."""
        if self.kind != "changed" or self.was_starts_at is None or self.was_ends_at is None:
            return None
        if (self.was_starts_at, self.was_ends_at) == (self.starts_at, self.ends_at):
            return None
        return self.was_starts_at, self.was_ends_at


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str
    html: str


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None


def _maybe_moment(value: Any) -> datetime | None:
    return None if value is None else _moment(value)


def _moment(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError("notice times must be timezone-aware")
    return moment


# --- shared pieces -------------------------------------------------------------------------------


def room_label(room_id: str, room_name: str | None = None) -> str:
    """``Room 102``, or ``Room 102 (Board room)`` when the room has a name of its own."""
    base = f"Room {room_id}"
    if not room_name or room_name.strip() in (room_id, base):
        return base
    return f"{base} ({room_name.strip()})"


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


def headline(notice: Notice) -> str:
    """One plain sentence saying what happened (no markup, no user input)."""
    kind = notice.kind
    if kind == "requested":
        return "Your booking request was received and is waiting for approval."
    if kind == "approved":
        return "Your booking was approved."
    if kind == "denied":
        return "Your booking request was denied."
    if kind == "cancelled":
        if notice.by_admin and notice.actor != notice.booker:
            return "Your booking was cancelled by an admin."
        return "You cancelled your booking."
    if kind == "expired":
        return "Your booking request expired: no one decided before it started."
    if kind == "changed":
        if notice.ended_early:
            return "Your booking was ended early; the rest of the slot is free."
        if notice.needs_approval:
            return "Your booking was changed and is waiting for approval again."
        if notice.actor != notice.booker and _is_person(notice.actor):
            return "An admin changed your booking."
        return "Your booking was changed."
    if kind == "nudge":
        waited = _duration(notice.waiting_minutes)
        return f"A booking request has been waiting {waited} for a decision."
    minutes = notice.minutes if notice.minutes is not None else 0
    unit = "minute" if minutes == 1 else "minutes"
    return f"Your booking starts in {minutes} {unit}."


def _duration(minutes: int | None) -> str:
    """``45 minutes``, ``2 hours``, ``2 h 30 min``: how long something has been waiting."""
    total = max(minutes or 0, 0)
    hours, rest = divmod(total, 60)
    if not hours:
        return f"{rest} minute" + ("" if rest == 1 else "s")
    if not rest:
        return f"{hours} hour" + ("" if hours == 1 else "s")
    return f"{hours} h {rest} min"


def _follow_up(notice: Notice) -> str | None:
    """What the reader can expect or do next, if anything."""
    if notice.kind == "nudge":
        return "Approve or deny it in the approvals channel or on the roombot Home tab."
    if notice.kind == "requested":
        return "You will get another message when an admin decides. Nothing is confirmed yet."
    if notice.kind == "approved":
        return "The room is yours. A calendar invite is attached to the email."
    if notice.withdraws_invite:
        return "The room is free again, and the calendar invite is withdrawn."
    if notice.kind == "cancelled":
        return "The room is free again."
    if notice.kind in ("denied", "expired"):
        return "You can request another slot with /book."
    if notice.kind == "changed":
        if notice.needs_approval:
            return (
                "The new slot is held for you and the old one is free. "
                "You will get another message when an admin decides."
            )
        if notice.moves_invite:
            return "It stays approved. The calendar invite is updated."
        return "The new slot is held for you."
    return None


# --- Slack DM ------------------------------------------------------------------------------------


def _actor_mention(notice: Notice) -> str | None:
    if notice.kind in ("approved", "denied") or (
        notice.kind == "cancelled" and notice.by_admin and notice.actor != notice.booker
    ):
        who = mention(notice.actor) if _is_person(notice.actor) else "an admin"
        verb = {"approved": "Approved", "denied": "Denied", "cancelled": "Cancelled"}[notice.kind]
        return f"{verb} by {who}"
    return None


def dm_text(notice: Notice, tz: ZoneInfo) -> str:
    """The one-line fallback Slack shows in notifications and to screen readers."""
    parts = [
        headline(notice).rstrip("."),
        f"{escape(notice.room)}, {when(notice.starts_at, notice.ends_at, tz)}",
    ]
    if notice.title:
        parts.append(f"“{escape(_one_line(notice.title))}”")
    if notice.kind == "denied" and notice.reason:
        parts.append(f"reason: {escape(_one_line(notice.reason))}")
    return " — ".join(parts)


def dm_blocks(notice: Notice, tz: ZoneInfo) -> list[dict[str, Any]]:
    lines = [f"{_EMOJI[notice.kind]} *{headline(notice)}*"]
    lines.append(f"*{escape(notice.room)}* · {when(notice.starts_at, notice.ends_at, tz)}")
    if notice.kind == "nudge":
        lines.append(f"Requested by {mention(notice.booker)}")
    if notice.was_when is not None:
        lines.append(f"Was: ~{when(*notice.was_when, tz)}~")
    if notice.was_room_id and notice.kind == "changed" and notice.was_room_id != notice.room_id:
        lines.append(f"Was: ~{escape(room_label(notice.was_room_id, notice.was_room_name))}~")
    if notice.title:
        lines.append(f"_{escape(_one_line(notice.title))}_")
    if notice.kind == "denied":
        reason = notice.reason.strip() if notice.reason else ""
        lines.append(f"*Reason:* {escape(reason)}" if reason else "No reason was given.")
    follow_up = _follow_up(notice)
    if follow_up and notice.kind != "approved":
        lines.append(follow_up)
    context = [f"Booking #{notice.booking_id}", _actor_mention(notice) or _STATUS_LINE[notice.kind]]
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]},
    ]


def dm_message(notice: Notice, tz: ZoneInfo) -> dict[str, Any]:
    """Arguments for ``chat.postMessage`` (without the channel)."""
    return {"text": dm_text(notice, tz), "blocks": dm_blocks(notice, tz)}


# --- email ---------------------------------------------------------------------------------------

_SUBJECT = {
    "requested": "Request received, waiting for approval",
    "approved": "Approved",
    "denied": "Denied",
    "cancelled": "Cancelled",
    "expired": "Expired, no decision in time",
    "changed": "Changed",
    "reminder": "Starting soon",
    "nudge": "Waiting for your decision",
}


def email_subject(notice: Notice, tz: ZoneInfo) -> str:
    subject = f"{_SUBJECT[notice.kind]}: {notice.room}, {_short_when(notice, tz)}"
    if notice.title:
        subject += f" · {notice.title}"
    return clip(_one_line(subject), 200)


def _details(notice: Notice, tz: ZoneInfo, actor_name: str | None) -> list[tuple[str, str]]:
    """(label, value) pairs, unescaped: each format escapes them its own way."""
    rows = [
        ("Booking", f"#{notice.booking_id}"),
        ("Room", notice.room),
        ("When", when(notice.starts_at, notice.ends_at, tz)),
    ]
    if notice.was_when is not None:
        rows.append(("Was", when(*notice.was_when, tz)))
    if notice.kind == "changed" and notice.was_room_id and notice.was_room_id != notice.room_id:
        rows.append(("Was in", room_label(notice.was_room_id, notice.was_room_name)))
    if notice.title:
        rows.append(("Title", _one_line(notice.title)))
    rows.append(("Status", _STATUS_LINE[notice.kind]))
    if notice.kind in ("approved", "denied") or (
        notice.kind == "cancelled" and notice.by_admin and notice.actor != notice.booker
    ):
        rows.append(("By", actor_name or "an admin"))
    if notice.kind == "denied":
        rows.append(("Reason", (notice.reason or "").strip() or "No reason was given."))
    return rows


def email_content(
    notice: Notice,
    tz: ZoneInfo,
    *,
    recipient_name: str | None = None,
    actor_name: str | None = None,
) -> EmailContent:
    details = _details(notice, tz, actor_name)
    follow_up = _follow_up(notice)
    greeting = f"Hello {_one_line(recipient_name)}," if recipient_name else "Hello,"

    width = max(len(label) for label, _ in details) + 2
    text_lines = [greeting, "", headline(notice)]
    if follow_up:
        text_lines.append(follow_up)
    text_lines.append("")
    text_lines += [f"  {label + ':':<{width}}{value}" for label, value in details]
    text_lines += ["", "-- ", "roombot: meeting rooms, booked in Slack"]

    esc = html.escape
    rows_html = "\n".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0;color:#555">{esc(label)}</th>'
        f"<td>{esc(value)}</td></tr>"
        for label, value in details
    )
    follow_html = f"<p>{esc(follow_up)}</p>\n" if follow_up else ""
    html_body = (
        "<!DOCTYPE html>\n"
        '<html><head><meta charset="utf-8"></head>\n'
        '<body style="font-family:sans-serif;line-height:1.4">\n'
        f"<p>{esc(greeting)}</p>\n"
        f"<p><strong>{esc(headline(notice))}</strong></p>\n"
        f"{follow_html}"
        f"<table>\n{rows_html}\n</table>\n"
        '<p style="color:#888;font-size:small">roombot: meeting rooms, booked in Slack</p>\n'
        "</body></html>\n"
    )
    return EmailContent(email_subject(notice, tz), "\n".join(text_lines) + "\n", html_body)
