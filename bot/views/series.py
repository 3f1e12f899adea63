"""A recurring series in words: its repeat pattern, the dates it holds and the ones it skipped.

The pattern is read from the series' RRULE (the form :meth:`bot.domain.recurrence.Repeat.rule`
writes: FREQ, INTERVAL, BYDAY, COUNT or UNTIL), with weekdays and the last day in the zone the
series repeats in, since that is where "every Monday" is a Monday.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.dates import get_day_names
from babel.lists import format_list

from bot.domain.recurrence import WEEKDAYS
from bot.views import i18n
from bot.views.i18n import _, ngettext


def _parts(rule: str) -> dict[str, str]:
    return dict(
        part.split("=", 1) for part in rule.removeprefix("RRULE:").split(";") if "=" in part
    )


def weekday_names(days: Sequence[int]) -> str:
    """``Monday and Wednesday`` / ``월요일 및 수요일`` (0 = Monday)."""
    locale = i18n._babel_locale()
    names = get_day_names("wide", locale=locale)
    return format_list([str(names[d]) for d in days], locale=locale)


def pattern(rule: str, first: datetime, zone: ZoneInfo) -> str:
    """``Every week on Monday, 6 times``, ``Every 2 days, until Fri 4 Dec``: the rule in words.
    ``first`` is the series' first start (its weekday when the rule names none)."""
    parts = _parts(rule)
    interval = int(parts.get("INTERVAL", "1"))
    if parts.get("FREQ") == "WEEKLY":
        codes = parts.get("BYDAY", "").split(",") if parts.get("BYDAY") else []
        days = sorted(WEEKDAYS.index(c) for c in codes if c in WEEKDAYS) or [
            first.astimezone(zone).weekday()
        ]
        names = weekday_names(days)
        # interval 1 has words of its own ("every week"), not a plural form of a number
        repeat = (
            _("Every week on {days}").format(days=names)
            if interval == 1
            else ngettext(
                "Every {count} week on {days}", "Every {count} weeks on {days}", interval
            ).format(count=interval, days=names)
        )
    else:
        repeat = (
            _("Every day")
            if interval == 1
            else ngettext("Every {count} day", "Every {count} days", interval).format(
                count=interval
            )
        )
    if "COUNT" in parts:
        count = int(parts["COUNT"])
        end = ngettext("{count} time", "{count} times", count).format(count=count)
    elif "UNTIL" in parts:
        until = datetime.strptime(parts["UNTIL"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        end = _("until {day}").format(day=i18n.day(until, zone))
    else:
        return repeat
    return _("{pattern}, {end}").format(pattern=repeat, end=end)
