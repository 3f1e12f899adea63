"""Calendar feeds: ``GET /calendar/<token>.ics`` for a room's or a person's bookings.

A feed link carries a random secret; the database keeps only its SHA-256, so the secret is looked
up by its hash (an index lookup, not a string comparison that could leak timing). Issuing a link
for an owner and scope replaces the previous one, which then answers 404. Calendar apps poll:
the ETag and Last-Modified come from one aggregate over the feed's bookings and their events, so
an unchanged feed answers 304 without reading the bookings, and HEAD reads no bookings either.

An event's UID is the one the booking's email invite carries (:func:`bot.notifications.ics.uid`
with this installation's id and the mail domain), so a calendar that has both the invite and the
feed shows one event, which the feed keeps up to date. A recurring series is its invite's one
entry, built by the same :func:`bot.notifications.ics.series_events`: the series' UID, an RRULE,
EXDATE for the dates the feed does not show and an override for each date moved (or, in a
person's feed, waiting for approval again); its ETag covers every date of each series it shows.

Words in a feed (a room's "Busy", a booking's status) are rendered in the language of whoever
holds the link: a person's feed in the language its owner had when they got the link (stored
with the link), a room's feed, which many people subscribe to, in ``DEFAULT_LOCALE``.

A room's feed that shows details names each booker as Slack does (their display name, which the
``names`` lookup gives if this process knows it); a booker whose name is not known yet gets no
line rather than a Slack user id, which a calendar shows as it is. The names shown are in the
ETag, so a feed polled again once they are known is sent anew. Each date of a series has its own
title: a date retitled since the series was requested is an override with that title.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from icalendar import Calendar, Event
from sqlalchemy import Engine, and_, delete, func, insert, or_, select

from bot.adapters import orm
from bot.domain.model import BookingStatus
from bot.notifications.ics import PRODID, series_events, series_span, uid
from bot.notifications.notice import SeriesPart
from bot.views.feeds import booked_by, feed_name, feed_status, room_busy
from bot.views.i18n import default_locale, use_locale

USER_SCOPE = "user"
ROOM_PREFIX = "room:"
#: Bookings that ended longer ago than this are left out of a feed.
PAST = timedelta(days=30)
_PATH = re.compile(r"^/calendar/([A-Za-z0-9_-]{20,100})\.ics$")
_BUSY = (BookingStatus.PENDING, BookingStatus.APPROVED)
_STATUS = {
    BookingStatus.PENDING: "TENTATIVE",
    BookingStatus.APPROVED: "CONFIRMED",
}
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
#: How a feed is rendered, in its ETag: a client's copy from an earlier rendering (a series as
#: one event per date; bookers as Slack user ids, every date with its series' title) is out of
#: date even when no booking changed.
_RENDERING = 3


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def room_scope(room_id: str) -> str:
    return ROOM_PREFIX + room_id


@dataclass(frozen=True)
class Feed:
    etag: str
    last_modified: datetime
    #: The client's copy (its If-None-Match or If-Modified-Since) is current: answer 304.
    not_modified: bool = False
    #: The calendar; None when not modified or when only the headers were asked for (HEAD).
    body: bytes | None = None


class FeedStore:
    """Feed links and the feeds they serve.

    ``install_id`` and ``domain`` name the events as the invites do (see the module's doc);
    ``names`` gives a Slack user's display name, or None while it is not known."""

    def __init__(
        self,
        engine: Engine,
        clock: Any = None,
        *,
        install_id: Callable[[], str | None] = lambda: None,
        domain: str = "roombot",
        names: Callable[[str], str | None] = lambda user: None,
    ) -> None:
        self.engine = engine
        self.clock = clock or (lambda: datetime.now(UTC))
        self.install_id = install_id
        self.domain = domain
        self.names = names

    def issue(self, owner: str, scope: str, locale: str | None = None) -> str:
        """A new secret for ``owner``'s feed of ``scope``, whose words are in ``locale`` (a
        person's feed; None: ``DEFAULT_LOCALE``); the previous one stops working."""
        token = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                delete(orm.feed_tokens).where(
                    orm.feed_tokens.c.owner == owner, orm.feed_tokens.c.scope == scope
                )
            )
            conn.execute(
                insert(orm.feed_tokens).values(
                    token_hash=_hash(token),
                    owner=owner,
                    scope=scope,
                    locale=locale,
                    created_at=self.clock(),
                )
            )
        return token

    def _lookup(self, conn: Any, token: str) -> Any:
        t = orm.feed_tokens.c
        return conn.execute(
            select(t.owner, t.scope, t.locale).where(t.token_hash == _hash(token))
        ).first()

    def _where(self, scope: str, owner: str, table: Any = orm.booking_list) -> Any:
        since = self.clock() - PAST
        bl = table.c
        if scope == USER_SCOPE:
            return and_(bl.booker == owner, bl.ends_at >= since)
        return and_(
            bl.room_id == scope.removeprefix(ROOM_PREFIX),
            bl.ends_at >= since,
            bl.status.in_(_BUSY),
        )

    def feed(
        self,
        token: str,
        if_none_match: str = "",
        if_modified_since: str = "",
        *,
        body: bool = True,
    ) -> Feed | None:
        """The feed a token opens, or None. Its bookings are read and rendered only when the
        client's copy is out of date and ``body`` is asked for (not for HEAD)."""
        with self.engine.connect() as conn:
            found = self._lookup(conn, token)
            if found is None:
                return None
            owner, scope, locale = found.owner, found.scope, found.locale
            details = True
            room_name = ""
            if scope != USER_SCOPE:
                room = conn.execute(
                    select(orm.rooms.c.name, orm.rooms.c.feed_details).where(
                        orm.rooms.c.id == scope.removeprefix(ROOM_PREFIX)
                    )
                ).first()
                if room is None:
                    return None
                details, room_name = bool(room.feed_details), room.name
            where = self._where(scope, owner)
            bl, ev = orm.booking_list.c, orm.event_log.c
            # a series shown is one object of all its dates: a change of any of them changes it
            inner = orm.booking_list.alias("shown")
            shown_series = bl.series_id.in_(
                select(inner.c.series_id).where(
                    self._where(scope, owner, inner), inner.c.series_id.is_not(None)
                )
            )
            count, latest = conn.execute(
                select(func.count(ev.event_id), func.max(ev.at))
                .select_from(orm.booking_list.join(orm.event_log, ev.booking_id == bl.booking_id))
                .where(or_(where, shown_series))
            ).one()
            names: dict[str, str] = {}
            if scope != USER_SCOPE and details:
                bookers = conn.execute(select(bl.booker).where(where).distinct()).scalars()
                names = {b: name for b in bookers if (name := self.names(b))}
            # Seconds: Last-Modified has no finer resolution.
            modified = (latest or _EPOCH).replace(microsecond=0)
            if modified.tzinfo is None:
                modified = modified.replace(tzinfo=UTC)
            # The language and the UIDs' domain are in the tag too: a calendar rendered with
            # other words or other UIDs is another entity.
            words = (locale if scope == USER_SCOPE else None) or default_locale()
            shown = f"{_RENDERING}|{scope}|{owner}|{words}|{self.domain}|{details}|{room_name}"
            shown += "|" + "|".join(f"{b}={n}" for b, n in sorted(names.items()))
            tag = _hash(f"{shown}|{count}|{latest}")[:32]
            etag = f'"{tag}"'
            if _current(etag, modified, if_none_match, if_modified_since):
                return Feed(etag, modified, not_modified=True)
            if not body:
                return Feed(etag, modified)
            rows = conn.execute(select(orm.booking_list).where(where).order_by(bl.starts_at)).all()
            ids = {r.series_id for r in rows if r.series_id is not None}
            series = {
                s.id: s for s in conn.execute(select(orm.series).where(orm.series.c.id.in_(ids)))
            }
            dates = conn.execute(
                select(orm.booking_list)
                .where(bl.series_id.in_(ids))
                .order_by(bl.recurrence_id, bl.booking_id)
            ).all()
        install_id = self.install_id()
        with use_locale(words):
            data = _calendar(
                _Shown(rows, series, dates, scope, details, room_name, names),
                lambda b, kind="booking": uid(b, install_id, self.domain, kind=kind),
            )
        return Feed(etag, modified, body=data)


def _current(etag: str, modified: datetime, if_none_match: str, if_modified_since: str) -> bool:
    if if_none_match:
        return etag in [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return modified <= since
    return False


@dataclass(frozen=True)
class _Shown:
    """What a feed shows: its bookings' rows (``rows``, by start), the series some of them are
    dates of (``series`` by id) with every date of those (``dates``), whose feed it is, and the
    bookers' names known (a room's feed with details)."""

    rows: Sequence[Any]
    series: dict[int, Any]
    dates: Sequence[Any]
    scope: str
    details: bool
    room_name: str
    names: dict[str, str]

    def shows(self, row: Any) -> bool:
        """Whether this feed holds the date of a series: a person's, any waiting or approved;
        a room's, those in this room."""
        if row.status not in _BUSY:
            return False
        return self.scope == USER_SCOPE or row.room_id == self.scope.removeprefix(ROOM_PREFIX)

    def fill(self, event: Event, status: str, title: str, room: str, booker: str) -> None:
        """The words of one event: a person's feed shows the status, a room's a busy slot with
        the title and booker only where the room allows (the booker by name, when known)."""
        if self.scope == USER_SCOPE:
            event.add("summary", title or room)
            event.add("location", room)
            event.add("status", _STATUS.get(BookingStatus(status), "CANCELLED"))
            event.add("description", feed_status(BookingStatus(status)))
            return
        event.add("status", _STATUS[BookingStatus(status)])
        event.add("transp", "OPAQUE")
        if self.details:
            event.add("summary", title or self.room_name)
            if name := self.names.get(booker):
                event.add("description", booked_by(name))
        else:
            event.add("summary", room_busy())


def _calendar(shown: _Shown, event_uid: Callable[..., str]) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", feed_name(shown.room_name or None))
    spans = []
    done: set[int] = set()
    for row in shown.rows:
        if row.series_id is None:
            event = Event()
            event.add("uid", event_uid(row.booking_id))
            event.add("dtstamp", row.decided_at or row.requested_at)
            event.add("dtstart", row.starts_at)
            event.add("dtend", row.ends_at)
            event.add("sequence", row.sequence)
            shown.fill(event, row.status, row.title, row.room_name, row.booker)
            cal.add_component(event)
        elif row.series_id not in done:
            done.add(row.series_id)
            part, events = _series(shown, row.series_id, event_uid)
            spans.append(series_span(part))
            for event in events:
                cal.add_component(event)
    if spans:
        cal.add_missing_timezones(
            first_date=min(first for first, _last in spans),
            last_date=max(last for _first, last in spans),
        )
    data: bytes = cal.to_ical()
    return data


def _series(
    shown: _Shown, series_id: int, event_uid: Callable[..., str]
) -> tuple[SeriesPart, list[Event]]:
    """A series as its invite has it (:func:`bot.notifications.ics.series_events`), holding the
    dates this feed shows; in a person's feed, a series that holds none is its cancel: the
    master alone, with the status its dates ended in."""
    found = shown.series[series_id]
    dates = [d for d in shown.dates if d.series_id == series_id]
    part = SeriesPart.of(series_id, found, dates)
    kept = {d.recurrence_id or d.starts_at for d in dates if shown.shows(d)}
    stamp = max(d.decided_at or d.requested_at for d in dates)
    room = dates[0].room_name

    def entry(starts_at: datetime, ends_at: datetime, status: str, title: str) -> Event:
        event = Event()
        event.add("uid", event_uid(series_id, kind="series"))
        event.add("dtstamp", stamp)
        event.add("dtstart", starts_at)
        event.add("dtend", ends_at)
        event.add("sequence", part.sequence)
        shown.fill(event, status, title, room, found.booker)
        return event

    held = [d for d in part.dates if d.recurrence_id in kept]
    return part, series_events(part, entry, held=held, whole=bool(held), title=found.title)


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def token_of(path: str) -> str | None:
    match = _PATH.match(path)
    return match.group(1) if match else None
