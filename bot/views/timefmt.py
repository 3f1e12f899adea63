"""Times as people read them: in the viewer's own time zone, or as Slack date tokens in channels."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def local(value: datetime, tz: ZoneInfo) -> datetime:
    return value.astimezone(tz)


def span(starts_at: datetime, ends_at: datetime, tz: ZoneInfo, *, zone: bool = True) -> str:
    """``Tue 1 Dec 2026, 09:00–10:00 (Asia/Seoul)``; the end carries its date if it differs."""
    start, end = local(starts_at, tz), local(ends_at, tz)
    text = f"{start:%a} {start.day} {start:%b %Y, %H:%M}–"
    text += f"{end:%H:%M}" if end.date() == start.date() else f"{end:%a} {end.day} {end:%b, %H:%M}"
    return f"{text} ({tz.key})" if zone else text


def moment(value: datetime, tz: ZoneInfo) -> str:
    at = local(value, tz)
    return f"{at:%a} {at.day} {at:%b %Y, %H:%M} ({tz.key})"


def token(value: datetime, fmt: str = "{date_short_pretty} {time}") -> str:
    """A Slack date token: every reader of a channel message sees it in their own time zone."""
    fallback = value.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(value.timestamp())}^{fmt}|{fallback}>"


def token_span(starts_at: datetime, ends_at: datetime) -> str:
    return f"{token(starts_at)}–{token(ends_at, '{time}')}"
