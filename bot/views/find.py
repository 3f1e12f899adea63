"""Find a room: reading ``/book find …`` and the search form, and showing the rooms that are free.

``/book find [people] [now|14:00|tomorrow 10:00|2026-12-03 10:00] [30m|1h|1h30m] [tags…]``: every
part is optional and the order is free; a bare number is the head count, anything unrecognised is
an equipment tag. Times are in the searcher's Slack time zone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.model import BookingStatus, normalise_tags
from bot.services.ports import BookingRow, FreeRoom
from bot.views import ids, texts
from bot.views.blocks import Block, actions, button, context, plain, section
from bot.views.booking_modal import clock_gap, to_aware
from bot.views.i18n import _, calendar_day, clock, ngettext, pgettext, span
from bot.views.lists import people, room_line
from bot.views.mrkdwn import escape

DEFAULT_LENGTH = timedelta(minutes=30)
MAX_RESULTS = 20  # a result takes two blocks; 2 + 2*20 + 1 stays inside a message's 50
LENGTHS = (15, 30, 45, 60, 90, 120, 180, 240)  # minutes offered by the search form

_TIME = re.compile(r"^(?P<h>\d{1,2})(?::(?P<m>\d{2}))?(?P<ampm>am|pm)?$")
_LENGTH = r"^(?:(?P<h>\d+(?:\.\d+)?)(?:h{hours}))?(?:(?P<m>\d+)(?:m|min|mins{minutes})?)?$"
#: The words a search is typed with, in English; the reader's language may add its own.
KEYWORDS = ("now", "today", "tomorrow")


def find_usage() -> str:
    return _(
        "Use `/book find [people] [now|14:00|tomorrow 10:00] [30m|1h] [tags]`, "
        "for example `/book find 6 now 30m projector`."
    )


@dataclass(frozen=True)
class FindRequest:
    """A search: the window ``[starts_at, ends_at)``, the head count and the tags wanted.
    ``now`` marks a search for the present moment, whose Book buttons book from the click."""

    starts_at: datetime
    ends_at: datetime
    people: int = 1
    tags: tuple[str, ...] = ()
    now: bool = False

    @property
    def length(self) -> timedelta:
        return self.ends_at - self.starts_at


class FindError(ValueError):
    """The search text could not be read; the message says what to type instead."""


def next_minute(now: datetime) -> datetime:
    """The start of a booking made "now": the next whole minute, so it is not in the past."""
    base = now.replace(second=0, microsecond=0)
    return base if base == now else base + timedelta(minutes=1)


def _clock_time(word: str) -> time | None:
    match = _TIME.match(word)
    if match is None or (match["m"] is None and match["ampm"] is None):
        return None
    hour, minute = int(match["h"]), int(match["m"] or 0)
    if match["ampm"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["ampm"] == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _keywords() -> dict[str, str]:
    """What the reader may type for ``now``, ``today`` and ``tomorrow``: the English words and
    their translations (``지금``, ``오늘``, ``내일``), as the usage line in their language says."""
    translated = {
        pgettext("typed in /book find", "now"): "now",
        pgettext("typed in /book find", "today"): "today",
        pgettext("typed in /book find", "tomorrow"): "tomorrow",
    }
    return {word.lower(): meaning for word, meaning in translated.items()} | {
        word: word for word in KEYWORDS
    }


def _length_pattern() -> re.Pattern[str]:
    """``30m``, ``1h30m``; with the reader's units too (``30분``, ``1시간30분``)."""
    units = {
        "hours": pgettext("typed in /book find: hours, as in 1h", "h"),
        "minutes": pgettext("typed in /book find: minutes, as in 30m", "m"),
    }
    extra = {k: "" if v in ("h", "m") else "|" + re.escape(v.lower()) for k, v in units.items()}
    return re.compile(_LENGTH.format(**extra))


def _length(word: str) -> timedelta | None:
    match = _length_pattern().match(word)
    if match is None or not (match["h"] or match["m"]) or word.isdigit():
        return None
    minutes = float(match["h"] or 0) * 60 + int(match["m"] or 0)
    return timedelta(minutes=minutes) if minutes > 0 else None


def read_find_text(text: str, tz: ZoneInfo, now: datetime) -> FindRequest:
    """Read the words after ``/book find``; raise :class:`FindError` with what to fix."""
    local_now = now.astimezone(tz)
    people: int | None = None
    day: date | None = None
    at: time | None = None
    length: timedelta | None = None
    asked_now = False
    tags: list[str] = []
    keywords = _keywords()
    for typed in text.lower().split():
        word = keywords.get(typed, typed)
        if word == "now":
            asked_now = True
        elif word == "today":
            day = local_now.date()
        elif word == "tomorrow":
            day = local_now.date() + timedelta(days=1)
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", word):
            try:
                day = date.fromisoformat(word)
            except ValueError:
                raise FindError(
                    _("{word} is not a date.").format(word=word) + " " + find_usage()
                ) from None
        elif word.isdigit():
            if people is not None:
                raise FindError(
                    _("Two head counts ({first} and {second}).").format(first=people, second=word)
                    + " "
                    + find_usage()
                )
            people = int(word)
            if not 1 <= people <= 10_000:
                raise FindError(_("The head count is a whole number from 1 to 10000."))
        elif (clock_at := _clock_time(word)) is not None:
            at = clock_at
        elif (span_length := _length(word)) is not None:
            length = span_length
        elif re.fullmatch(r"[\d:.]+[^\W\d_]*", word):  # a number with letters: 3pmm, 30분분
            raise FindError(
                _("I could not read “{word}” as a time or a length.").format(word=word)
                + " "
                + find_usage()
            )
        else:
            tags.append(word)
    length = length or DEFAULT_LENGTH
    if asked_now and (at is not None or day is not None):
        raise FindError(_("Either `now` or a time, not both.") + " " + find_usage())
    if at is None and day is None:
        start = next_minute(now.astimezone(UTC))
        return FindRequest(start, start + length, people or 1, tuple(normalise_tags(tags)), True)
    day = day or local_now.date()
    starts_at = to_aware(day, at or time(9, 0), tz)
    if starts_at is None:
        raise FindError(texts.clock_change(day, tz))
    if starts_at < now:
        raise FindError(
            _("{time} on {day} has passed. Say `now`, a later time or `tomorrow`.").format(
                time=clock(starts_at, tz), day=calendar_day(day)
            )
        )
    starts_at = starts_at.astimezone(UTC)
    return FindRequest(
        starts_at, starts_at + length, people or 1, tuple(normalise_tags(tags)), False
    )


def _until(free: FreeRoom, search: FindRequest, tz: ZoneInfo) -> str:
    until = free.free_until
    if until is None or until.astimezone(tz).date() != search.starts_at.astimezone(tz).date():
        return _("free for the rest of the day")
    return _("free until {time}").format(time=clock(until, tz))


def _what(search: FindRequest, tz: ZoneInfo) -> str:
    what = (
        ngettext("Rooms for {count}", "Rooms for {count}", search.people).format(
            count=search.people
        )
        if search.people > 1
        else _("Rooms")
    )
    if search.tags:
        what = _("{rooms} with {tags}").format(
            rooms=what, tags=", ".join(f"`{escape(t)}`" for t in search.tags)
        )
    if search.now:
        minutes = round(search.length.total_seconds() / 60)
        return _("{rooms} free now for {minutes} min").format(rooms=what, minutes=minutes)
    return _("{rooms} free {when}").format(
        rooms=what, when=span(search.starts_at, search.ends_at, tz)
    )


def book_value(room_id: str, search: FindRequest) -> str:
    """What a result's buttons carry: the room and the window (a ``now`` search books from the
    moment of the click, for the same length)."""
    return json.dumps(
        {
            "room": room_id,
            "start": search.starts_at.isoformat(),
            "end": search.ends_at.isoformat(),
            "now": search.now,
        },
        separators=(",", ":"),
    )


def read_book_value(value: str, now: datetime) -> tuple[str, datetime, datetime] | None:
    """The room and window a Book button asks for, or ``None`` if the value is not ours."""
    try:
        data = json.loads(value)
        room, start, end = (
            str(data["room"]),
            datetime.fromisoformat(data["start"]),
            datetime.fromisoformat(data["end"]),
        )
        if start.tzinfo is None or end.tzinfo is None:
            return None
    except (ValueError, KeyError, TypeError):
        return None
    if data.get("now") and start < now:
        start, end = next_minute(now), next_minute(now) + (end - start)
    return room, start, end


def find_results(free: Sequence[FreeRoom], search: FindRequest, tz: ZoneInfo) -> dict[str, Any]:
    """The answer to a search: one line per room, smallest that fits first, each with Book."""
    what = _what(search, tz)
    if not free:
        text = _("{what}: none. Try another time, a shorter length or fewer tags.").format(
            what=what
        )
        return {"text": text, "blocks": [section(f":mag: {text}")]}
    shown = list(free[:MAX_RESULTS])
    blocks: list[Block] = [section(":mag: " + _("*{what}*, smallest first:").format(what=what))]
    lines = []
    for found in shown:
        room = found.room
        until = _until(found, search, tz)
        lines.append(f"{room.name} ({room.id}), {people(room.capacity)}: {until}")
        blocks.append(section(f"{room_line(room)}\n{until}"))
        value = book_value(room.id, search)
        blocks.append(
            actions(
                button(_("Book"), ids.FIND_BOOK, value, style="primary"),
                button(_("Change…"), ids.FIND_EDIT, value),
                block_id=f"find_{room.id}",
            )
        )
    if len(free) > len(shown):
        blocks.append(
            context(
                _("And {count} more; add tags or people to narrow.").format(
                    count=len(free) - len(shown)
                )
            )
        )
    return {"text": f"{what}:\n" + "\n".join(lines), "blocks": blocks}


def find_modal(tz: ZoneInfo, now: datetime) -> dict[str, Any]:
    """The search form behind App Home's *Find a room*: people, day, start, length, tags."""
    start = next_minute(now).astimezone(tz)
    length_options = [{"text": plain(_duration(m)), "value": str(m)} for m in LENGTHS]
    return {
        "type": "modal",
        "callback_id": ids.FIND_MODAL,
        "title": plain(_("Find a room"), 24),
        "submit": plain(_("Search"), 24),
        "close": plain(_("Cancel"), 24),
        "private_metadata": json.dumps({"tz": tz.key}),
        "blocks": [
            {
                "type": "input",
                "block_id": ids.FIND_PEOPLE_BLOCK,
                "optional": True,
                "label": plain(_("People")),
                "element": {
                    "type": "number_input",
                    "action_id": ids.FIND_PEOPLE_ACTION,
                    "is_decimal_allowed": False,
                    "min_value": "1",
                    "max_value": "10000",
                },
            },
            {
                "type": "input",
                "block_id": ids.FIND_DATE_BLOCK,
                "label": plain(_("Date")),
                "element": {
                    "type": "datepicker",
                    "action_id": ids.FIND_DATE_ACTION,
                    "initial_date": start.date().isoformat(),
                },
            },
            {
                "type": "input",
                "block_id": ids.FIND_START_BLOCK,
                "label": plain(_("From")),
                "element": {
                    "type": "timepicker",
                    "action_id": ids.FIND_START_ACTION,
                    "initial_time": f"{start:%H:%M}",
                },
            },
            {
                "type": "input",
                "block_id": ids.FIND_LENGTH_BLOCK,
                "label": plain(_("For")),
                "element": {
                    "type": "static_select",
                    "action_id": ids.FIND_LENGTH_ACTION,
                    "options": length_options,
                    "initial_option": length_options[1],
                },
            },
            {
                "type": "input",
                "block_id": ids.FIND_TAGS_BLOCK,
                "optional": True,
                "label": plain(_("Equipment")),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.FIND_TAGS_ACTION,
                    "max_length": 200,
                    "placeholder": plain(_("projector, video")),
                },
            },
            context(_("Times are in your Slack time zone, *{zone}*.").format(zone=tz.key)),
        ],
    }


def read_find_form(
    view: dict[str, Any], now: datetime
) -> tuple[FindRequest | None, dict[str, str], ZoneInfo]:
    """The search the form asks for, or the errors keyed by block id; and the searcher's zone."""
    meta = json.loads(view.get("private_metadata") or "{}")
    tz = ZoneInfo(meta.get("tz", "UTC"))
    values = view.get("state", {}).get("values", {})

    def value(block: str, action: str) -> dict[str, Any]:
        found: dict[str, Any] = values.get(block, {}).get(action, {}) or {}
        return found

    errors: dict[str, str] = {}
    people_text = value(ids.FIND_PEOPLE_BLOCK, ids.FIND_PEOPLE_ACTION).get("value") or "1"
    day_text = value(ids.FIND_DATE_BLOCK, ids.FIND_DATE_ACTION).get("selected_date")
    start_text = value(ids.FIND_START_BLOCK, ids.FIND_START_ACTION).get("selected_time")
    length_text = (
        value(ids.FIND_LENGTH_BLOCK, ids.FIND_LENGTH_ACTION).get("selected_option") or {}
    ).get("value")
    tags = value(ids.FIND_TAGS_BLOCK, ids.FIND_TAGS_ACTION).get("value") or ""
    people = int(people_text) if people_text.isdigit() else 0
    if not 1 <= people <= 10_000:
        errors[ids.FIND_PEOPLE_BLOCK] = _("Enter a whole number from 1 to 10000.")
    if not day_text:
        errors[ids.FIND_DATE_BLOCK] = _("Choose a date.")
    if not start_text:
        errors[ids.FIND_START_BLOCK] = _("Choose a time.")
    if not (length_text or "").isdigit():
        errors[ids.FIND_LENGTH_BLOCK] = _("Choose a length.")
    if errors:
        return None, errors, tz
    assert day_text and start_text and length_text
    day = date.fromisoformat(day_text)
    starts_at = to_aware(day, time.fromisoformat(start_text), tz)
    if starts_at is None:
        errors[ids.FIND_START_BLOCK] = clock_gap(start_text, day, tz)
        return None, errors, tz
    now_search = starts_at <= now < starts_at + timedelta(minutes=1)
    if starts_at < now and not now_search:
        errors[ids.FIND_START_BLOCK] = _("That time has passed.")
        return None, errors, tz
    starts_at = max(starts_at.astimezone(UTC), next_minute(now))
    length = timedelta(minutes=int(length_text))
    search = FindRequest(
        starts_at, starts_at + length, people, tuple(normalise_tags([tags])), now_search
    )
    return search, {}, tz


def find_results_modal(results: dict[str, Any]) -> dict[str, Any]:
    """The results of the search form, shown in place of the form."""
    return {
        "type": "modal",
        "callback_id": ids.FIND_MODAL + "_results",
        "title": plain(_("Free rooms"), 24),
        "close": plain(_("Done"), 24),
        "blocks": results["blocks"],
    }


def requested_modal(text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": plain(_("Find a room"), 24),
        "close": plain(_("Done"), 24),
        "blocks": [section(text)],
    }


def requested_text(row: BookingRow, tz: ZoneInfo, *, email: bool) -> str:
    """What the booker reads right after a request: held and waiting, or approved at once.

    ``email``: the app sends email, so the booker is told one comes."""
    when = span(row.starts_at, row.ends_at, tz)
    if row.status != BookingStatus.APPROVED:
        return texts.requested(row.booking_id, row.room_id, when, email=email)
    if email:
        text = _(
            "Booked room {room_id}, {when} (booking #{booking_id}): approved by policy, no admin "
            "decision was needed. You'll get a DM and an email."
        )
    else:
        text = _(
            "Booked room {room_id}, {when} (booking #{booking_id}): approved by policy, no admin "
            "decision was needed. You'll get a DM."
        )
    done = text.format(room_id=escape(row.room_id), when=when, booking_id=row.booking_id)
    return f":white_check_mark: {done}"


def out_of_date() -> str:
    return ":warning: " + _("That button is out of date; search again with `/book find`.")


def _duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if rest:
        return ngettext("{count} minute", "{count} minutes", minutes).format(count=minutes)
    return ngettext("{count} hour", "{count} hours", hours).format(count=hours)
