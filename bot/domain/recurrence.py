"""Recurring series: the repeat pattern a person picks, the rule it makes and its occurrences.

A series repeats a slot's wall-clock time in the booker's zone (09:00 stays 09:00 across a
clock change), so occurrences are expanded with ``dateutil.rrule`` on local times and only then
turned into UTC. Every occurrence must lie within the booking horizon.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from dateutil import rrule

from bot.domain.errors import InvalidBooking

#: The most occurrences one series may have (a year of weekly meetings).
MAX_OCCURRENCES = 52

#: Weekday codes of RRULE's BYDAY, Monday first (``date.weekday()`` order).
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


@dataclass(frozen=True)
class Repeat:
    """How a slot repeats: every ``interval`` days or weeks (on ``weekdays``, 0 = Monday, for a
    weekly one; none means the first slot's weekday), until ``until`` (a date, inclusive) or
    ``count`` times."""

    frequency: Frequency
    interval: int = 1
    weekdays: tuple[int, ...] = field(default=())
    until: date | None = None
    count: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.interval, bool) or not 1 <= self.interval <= 12:
            raise InvalidBooking(
                "Repeat every 1 to 12 days or weeks.", field="interval", code="interval_invalid"
            )
        if (self.until is None) == (self.count is None):
            raise InvalidBooking(
                "Say until when the series repeats, or how many times.",
                field="repeat_end",
                code="repeat_end_missing",
            )
        if self.count is not None and not 2 <= self.count <= MAX_OCCURRENCES:
            raise InvalidBooking(
                f"A series has 2 to {MAX_OCCURRENCES} occurrences.",
                field="count",
                code="count_invalid",
                params={"limit": MAX_OCCURRENCES},
            )
        if any(not 0 <= d <= 6 for d in self.weekdays):
            raise InvalidBooking(
                "Weekdays are Monday to Sunday.", field="weekdays", code="weekdays_invalid"
            )
        if self.weekdays and self.frequency != Frequency.WEEKLY:
            raise InvalidBooking(
                "Weekdays go with a weekly series.", field="weekdays", code="weekdays_weekly"
            )

    def rule(self, first: datetime) -> str:
        """The RRULE value (without ``RRULE:``) for a series whose first slot starts at
        ``first`` (local time); UNTIL is the end of the last day, in UTC, as RFC 5545 wants
        when DTSTART has a zone."""
        parts = [f"FREQ={self.frequency.upper()}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.frequency == Frequency.WEEKLY:
            days = sorted(set(self.weekdays or (first.weekday(),)))
            parts.append("BYDAY=" + ",".join(WEEKDAYS[d] for d in days))
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        else:
            assert self.until is not None
            last = datetime.combine(self.until, time(23, 59, 59), first.tzinfo)
            parts.append("UNTIL=" + last.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"))
        return ";".join(parts)


def expand(
    rule: str, starts_at: datetime, ends_at: datetime, zone: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """Every occurrence of ``rule`` for the first slot ``starts_at``-``ends_at`` (aware), as UTC
    slots of the first one's length in real time, in order."""
    length = ends_at.astimezone(UTC) - starts_at.astimezone(UTC)
    local = starts_at.astimezone(zone).replace(tzinfo=None)
    found: list[tuple[datetime, datetime]] = []
    for start in rrule.rrulestr(rule, dtstart=local, ignoretz=True, cache=False):
        if len(found) > MAX_OCCURRENCES:
            break
        utc = start.replace(tzinfo=zone).astimezone(UTC)
        found.append((utc, utc + length))
    return found


def occurrences(
    repeat: Repeat,
    starts_at: datetime,
    ends_at: datetime,
    zone: ZoneInfo,
    *,
    now: datetime,
    horizon: timedelta,
) -> tuple[str, list[tuple[datetime, datetime]]]:
    """The rule and the occurrences of a new series; refused when it reaches beyond the
    booking horizon or has more than :data:`MAX_OCCURRENCES` (or fewer than two)."""
    rule = repeat.rule(starts_at.astimezone(zone))
    slots = expand(rule, starts_at, ends_at, zone)
    if len(slots) > MAX_OCCURRENCES:
        raise InvalidBooking(
            f"A series has at most {MAX_OCCURRENCES} occurrences; end it sooner.",
            field="repeat_end",
            code="count_invalid",
            params={"limit": MAX_OCCURRENCES},
        )
    if len(slots) < 2:
        raise InvalidBooking(
            "This pattern gives a single date; book it without repeating.",
            field="repeat_end",
            code="single_occurrence",
        )
    if slots[-1][0] > now + horizon:
        raise InvalidBooking(
            f"The last occurrence is more than {horizon.days} days ahead; end the series sooner.",
            field="repeat_end",
            code="series_beyond_horizon",
            params={"days": horizon.days},
        )
    return rule, slots
