"""Validation rules for a booking request. Pure: the current time is passed in, never read."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

from bot.domain.errors import InvalidBooking, QuotaExceeded


@dataclass(frozen=True)
class BookingLimits:
    max_length: timedelta = timedelta(hours=8)
    horizon: timedelta = timedelta(days=90)
    max_title_length: int = 150

    @classmethod
    def of(cls, *, max_hours: float, horizon_days: int, max_title_length: int) -> BookingLimits:
        return cls(timedelta(hours=max_hours), timedelta(days=horizon_days), max_title_length)


#: Ids are 32-bit on every database we run on; a larger number is no booking of ours.
MAX_ID = 2**31 - 1


def is_id(value: int) -> bool:
    return 0 < value <= MAX_ID


def printable(text: str) -> bool:
    """No control characters (NUL, escapes, line breaks) and no lone surrogates: text a database
    column, a Slack message and an email header all take as it is."""
    return not any(unicodedata.category(c) in ("Cc", "Cs") for c in text)


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g} hour" + ("" if hours == 1 else "s")


def require_aware(value: datetime, field: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidBooking(
            f"The {field} time has no time zone.", field=field, code="naive_time", params={}
        )


def elapsed(starts_at: datetime, ends_at: datetime) -> timedelta:
    """Real time between two aware moments. Python subtracts wall clocks when both share one
    zone, which makes an 01:00-09:00 night of a clock change 8 hours instead of 9 or 7."""
    return ends_at.astimezone(UTC) - starts_at.astimezone(UTC)


def validate_request(
    *,
    starts_at: datetime,
    ends_at: datetime,
    title: str,
    now: datetime,
    limits: BookingLimits,
) -> None:
    """Raise :class:`InvalidBooking` naming the field at fault.

    The checks run in the order a user fixes things: times first, then length, horizon, title.
    """
    require_aware(starts_at, "start")
    require_aware(ends_at, "end")
    starts_at, ends_at = starts_at.astimezone(UTC), ends_at.astimezone(UTC)
    if ends_at <= starts_at:
        raise InvalidBooking("The end must be after the start.", field="end", code="end_first")
    if starts_at < now:
        raise InvalidBooking("The start is in the past.", field="start", code="in_the_past")
    if elapsed(starts_at, ends_at) > limits.max_length:
        raise InvalidBooking(
            f"A booking can be at most {_hours(limits.max_length)} long.",
            field="end",
            code="too_long",
            params={"minutes": int(limits.max_length.total_seconds() // 60)},
        )
    if starts_at > now + limits.horizon:
        raise InvalidBooking(
            f"Bookings can be made at most {limits.horizon.days} days ahead.",
            field="date",
            code="too_far_ahead",
            params={"days": limits.horizon.days},
        )
    if not printable(title):
        raise InvalidBooking(
            "The title contains control characters; type it without them.",
            field="title",
            code="control_characters",
            params={"field": "title"},
        )
    if len(title) > limits.max_title_length:
        raise InvalidBooking(
            f"The title is {len(title)} characters long; the limit is {limits.max_title_length}.",
            field="title",
            code="title_too_long",
            params={"length": len(title), "limit": limits.max_title_length},
        )


def validate_change(
    *,
    starts_at: datetime,
    ends_at: datetime,
    title: str,
    now: datetime,
    limits: BookingLimits,
    started: bool,
) -> None:
    """The checks of a request, for a changed booking. One in progress keeps its start, which
    is in the past by then, so only its new end must still lie ahead."""
    if not started:
        validate_request(starts_at=starts_at, ends_at=ends_at, title=title, now=now, limits=limits)
        return
    require_aware(ends_at, "end")
    if ends_at <= now:
        raise InvalidBooking("The end is in the past.", field="end", code="end_in_the_past")
    if ends_at - starts_at > limits.max_length:
        raise InvalidBooking(
            f"A booking can be at most {_hours(limits.max_length)} long.",
            field="end",
            code="too_long",
            params={"minutes": int(limits.max_length.total_seconds() // 60)},
        )
    if len(title) > limits.max_title_length:
        raise InvalidBooking(
            f"The title is {len(title)} characters long; the limit is {limits.max_title_length}.",
            field="title",
            code="title_too_long",
            params={"length": len(title), "limit": limits.max_title_length},
        )


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open intervals ``[start, end)``: a booking ending at 10:00 leaves 10:00 free."""
    return a_start < b_end and b_start < a_end


@dataclass(frozen=True)
class Quota:
    """At most ``hours`` booked hours and ``bookings`` active bookings per person and week
    (``0``: no limit). Weeks start on Monday 00:00 in the organisation's time zone."""

    hours: float = 0
    bookings: int = 0

    @property
    def enabled(self) -> bool:
        return self.hours > 0 or self.bookings > 0


def week_of(at: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """The week ``[monday 00:00, next monday 00:00)`` holding ``at``, in ``tz``, as aware times."""
    local = at.astimezone(tz)
    monday = (local - timedelta(days=local.weekday())).date()
    start = datetime.combine(monday, time.min, tzinfo=tz)
    end = datetime.combine(monday + timedelta(days=7), time.min, tzinfo=tz)
    return start, end


def check_quota(
    quota: Quota,
    held: list[tuple[datetime, datetime]],
    starts_at: datetime,
    ends_at: datetime,
) -> None:
    """Refuse a request that would take the booker past their week's quota, saying what is left.

    ``held`` are the booker's active bookings starting in the same week. Exactly reaching a
    limit is allowed.
    """
    if quota.bookings and len(held) + 1 > quota.bookings:
        raise QuotaExceeded(
            f"You have {len(held)} active booking"
            f"{'' if len(held) == 1 else 's'} that week; the limit is {quota.bookings}. "
            "Cancel one to book another.",
            field="date",
            code="quota_bookings",
            params={"held": len(held), "limit": quota.bookings},
        )
    if quota.hours:
        used = sum((end - start for start, end in held), timedelta())
        left = timedelta(hours=quota.hours) - used
        if ends_at - starts_at > left:
            left_text = _hours(max(left, timedelta()))
            limit = _hours(timedelta(hours=quota.hours))
            raise QuotaExceeded(
                f"You have {left_text} left that week (limit {limit}). "
                "Choose a shorter booking or another week.",
                field="end",
                code="quota_hours",
                params={
                    "left_minutes": int(max(left, timedelta()).total_seconds() // 60),
                    "limit_minutes": int(quota.hours * 60),
                },
            )
