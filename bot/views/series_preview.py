"""A repeating booking in the booking modal: the preview of its dates, free and taken, and what
the modal says once the free ones are requested.

The preview holds nothing; it carries the request in its ``private_metadata`` so that its
submit (*Book the N free ones*) can make it. Slack hands back what we wrote, so metadata that
does not read back into a request was tampered with and is refused as an outdated form.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.commands import RequestSeries
from bot.domain.errors import Conflict, InvalidBooking
from bot.domain.model import BookingStatus
from bot.domain.recurrence import Frequency, Repeat, expand
from bot.services.handlers import Occurrence
from bot.services.ports import RoomRow, SeriesRow
from bot.views import ids
from bot.views.blocks import Block, actions, button, context, plain, section
from bot.views.i18n import _, ngettext, span
from bot.views.mrkdwn import escape, mention, shown
from bot.views.series import pattern

#: Dates listed in a preview or a confirmation; the rest are counted ("and N more").
DATES_SHOWN = 40
#: Dates per section block: ten lines stay far below a section's 3000 characters.
LINES_PER_SECTION = 10


def _free_line(starts_at: datetime, ends_at: datetime, tz: ZoneInfo) -> str:
    return f":white_check_mark: {span(starts_at, ends_at, tz, zone=False)}"


def _taken_line(item: Occurrence, by: str, tz: ZoneInfo) -> str:
    conflict = item.conflict
    assert conflict is not None
    if conflict.booker == by:
        why = _("you hold it already (booking #{booking_id})").format(
            booking_id=conflict.booking_id
        )
    else:
        why = _("taken by {who} (booking #{booking_id})").format(
            who=mention(conflict.booker), booking_id=conflict.booking_id
        )
    return f":no_entry: ~{span(item.starts_at, item.ends_at, tz, zone=False)}~ – {why}"


def _listed(lines: Sequence[str], more: str | None) -> list[Block]:
    """The lines in sections of :data:`LINES_PER_SECTION`, then what was left out."""
    shown = lines[:DATES_SHOWN]
    blocks = [
        section("\n".join(shown[i : i + LINES_PER_SECTION]))
        for i in range(0, len(shown), LINES_PER_SECTION)
    ]
    if more is not None and len(lines) > DATES_SHOWN:
        blocks.append(context(more))
    return blocks


def _heading(room: RoomRow, title: str) -> str:
    line = f"*{escape(room.name)}* ({escape(room.id)})"
    return f"{line} · {shown(title)}" if title else line


def series_preview(
    request: RequestSeries, dates: Sequence[Occurrence], room: RoomRow, tz: ZoneInfo
) -> dict[str, Any]:
    """Every date of the series, free or taken (by whom), with *Book the N free ones*, and
    *Change the pattern* (the form again, filled in)."""
    free = sum(1 for d in dates if d.conflict is None)
    taken = len(dates) - free
    summary = ngettext(
        "{free} of {total} date is free.", "{free} of {total} dates are free.", len(dates)
    ).format(free=free, total=len(dates))
    if taken:
        summary += " " + ngettext(
            "The taken one is skipped.", "The {count} taken ones are skipped.", taken
        ).format(count=taken)
    lines = [
        _free_line(d.starts_at, d.ends_at, tz)
        if d.conflict is None
        else _taken_line(d, request.by, tz)
        for d in dates
    ]
    rest = dates[DATES_SHOWN:]
    rest_taken = sum(1 for d in rest if d.conflict is not None)
    more = _("And {count} more dates ({taken} of them taken).").format(
        count=len(rest), taken=rest_taken
    )
    zone = ZoneInfo(request.timezone)
    words = pattern(
        request.repeat.rule(request.starts_at.astimezone(zone)), request.starts_at, zone
    )
    blocks: list[Block] = [
        section(f"{_heading(room, request.title)}\n{words}. {summary}"),
        *_listed(lines, more),
        context(
            _(
                "Times in {zone}. The free dates are requested as one series; an admin "
                "approves or denies it as one, unless the room approves on request."
            ).format(zone=tz.key)
        ),
        actions(button(_("Change the pattern"), ids.SERIES_EDIT, "edit")),
    ]
    submit = ngettext("Book the free one", "Book the {count} free ones", free).format(count=free)
    return {
        "type": "modal",
        "callback_id": ids.SERIES_MODAL,
        "title": plain(_("Repeating booking"), 24),
        "submit": plain(submit, 24),
        "close": plain(_("Cancel"), 24),
        "private_metadata": series_metadata(request),
        "blocks": blocks,
    }


def dates_in(request: RequestSeries) -> int:
    """How many dates the request's pattern gives (free or not)."""
    zone = ZoneInfo(request.timezone)
    rule = request.repeat.rule(request.starts_at.astimezone(zone))
    return len(expand(rule, request.starts_at, request.ends_at, zone))


def all_taken(request: RequestSeries, conflict: Conflict, holder: str | None, tz: ZoneInfo) -> str:
    """A field error (plain text): no date of the series is free, and who holds the first."""
    when = span(conflict.starts_at, conflict.ends_at, tz)
    if conflict.booker == request.by:
        return _(
            "None of its {count} dates is free: you hold the first, {when}, already "
            "(booking #{booking_id})."
        ).format(count=dates_in(request), when=when, booking_id=conflict.booking_id)
    return _("None of its {count} dates is free: the first, {when}, is held by {who}.").format(
        count=dates_in(request), when=when, who=holder or _("someone else")
    )


def series_sent(series: SeriesRow, tz: ZoneInfo, *, email: bool) -> dict[str, Any]:
    """What the preview turns into once the free dates are requested (or approved by policy).

    ``email``: the app sends email, so the booker is told one comes."""
    rows, skipped = series.occurrences, len(series.skipped)
    approved = bool(rows) and all(r.status == BookingStatus.APPROVED for r in rows)
    title = f" · {shown(series.title)}" if series.title else ""
    heading = ngettext("{count} date requested", "{count} dates requested", len(rows)).format(
        count=len(rows)
    )
    if approved:
        heading = ngettext("{count} date booked", "{count} dates booked", len(rows)).format(
            count=len(rows)
        )
    words = pattern(series.rule, series.starts_at, ZoneInfo(series.timezone))
    icon = ":white_check_mark:" if approved else ":hourglass_flowing_sand:"
    if approved and email:
        follow = _(
            "Approved by policy: no admin decision was needed. You'll get a DM and an email."
        )
    elif approved:
        follow = _("Approved by policy: no admin decision was needed. You'll get a DM.")
    elif email:
        follow = _(
            "The dates are held for you. You'll get a DM and an email once the series is "
            "approved or denied."
        )
    else:
        follow = _(
            "The dates are held for you. You'll get a DM once the series is approved or denied."
        )
    if skipped:
        follow += " " + ngettext(
            "{count} taken date was skipped.", "{count} taken dates were skipped.", skipped
        ).format(count=skipped)
    lines = [f"#{r.booking_id} · {span(r.starts_at, r.ends_at, tz, zone=False)}" for r in rows]
    more = _("And {count} more dates.").format(count=len(rows) - DATES_SHOWN)
    return {
        "type": "modal",
        "title": plain(_("Booked") if approved else _("Request sent"), 24),
        "close": plain(_("Done"), 24),
        "blocks": [
            section(f"{icon} *{heading}* – {escape(series.room_name)}{title}\n{words}"),
            *_listed(lines, more),
            context(_("Times in {zone}.").format(zone=tz.key) + " " + follow),
        ],
    }


def series_waiting() -> dict[str, Any]:
    """In the form's place while a busy database keeps a repeating booking past Slack's
    seconds to answer: the answer replaces it."""
    return {
        "type": "modal",
        "title": plain(_("Repeating booking"), 24),
        "close": plain(_("Close"), 24),
        "blocks": [
            context(
                ":hourglass_flowing_sand: "
                + _(
                    "This is taking longer than usual. Keep this window open: it shows the "
                    "answer once it is ready."
                )
            )
        ],
    }


def series_refused(text: str) -> dict[str, Any]:
    """The preview after its submit was refused (``text`` is plain: it is escaped here)."""
    return {
        "type": "modal",
        "title": plain(_("Not booked"), 24),
        "close": plain(_("Close"), 24),
        "blocks": [section(f":warning: {escape(text)}")],
    }


# --- the request, kept in the preview's private_metadata -----------------------------------------


def series_metadata(request: RequestSeries) -> str:
    """The request as the preview keeps it (``private_metadata``, at most 3000 characters)."""
    repeat = request.repeat
    return json.dumps(
        {
            "room": request.room_id,
            "start": request.starts_at.isoformat(),
            "end": request.ends_at.isoformat(),
            "tz": request.timezone,
            "title": request.title,
            "repeat": {
                "frequency": repeat.frequency.value,
                "interval": repeat.interval,
                "weekdays": list(repeat.weekdays),
                "until": repeat.until.isoformat() if repeat.until else None,
                "count": repeat.count,
            },
        },
        ensure_ascii=False,  # a Korean title as letters, not six times as long in \\uXXXX
        separators=(",", ":"),
    )


def read_series(view: dict[str, Any], by: str) -> tuple[RequestSeries, ZoneInfo] | None:
    """The request a preview was rendered for, and its zone; ``None`` if the metadata is not
    what :func:`series_metadata` wrote."""
    try:
        meta = json.loads(view.get("private_metadata") or "")
        pattern = meta["repeat"]
        room, title, zone = meta["room"], meta["title"], meta["tz"]
        if not all(isinstance(x, str) for x in (room, title, zone)):
            return None
        starts_at = datetime.fromisoformat(meta["start"])
        ends_at = datetime.fromisoformat(meta["end"])
        until, count, interval = pattern["until"], pattern["count"], pattern["interval"]
        weekdays = pattern["weekdays"]
        if not isinstance(weekdays, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) for d in weekdays
        ):
            return None
        if not all(
            isinstance(n, int | None) and not isinstance(n, bool) for n in (count, interval)
        ):
            return None
        repeat = Repeat(
            Frequency(pattern["frequency"]),
            interval=interval,
            weekdays=tuple(weekdays),
            until=date.fromisoformat(until) if until is not None else None,
            count=count,
        )
        tz = ZoneInfo(zone)
    except (
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        RecursionError,
        InvalidBooking,
        ZoneInfoNotFoundError,
    ):
        return None
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        return None
    request = RequestSeries(
        room, starts_at, ends_at, by=by, repeat=repeat, timezone=zone, title=title
    )
    return request, tz
