"""The read side: answers come from the ``booking_list`` read model, never from the aggregates."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic as _monotonic
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Select, and_, bindparam, func, or_, select

from bot.adapters import orm
from bot.adapters.db import READ_ONLY
from bot.adapters.repositories import row_of
from bot.domain.model import HOLDING, BookingStatus, normalise_tags
from bot.domain.recurrence import expand
from bot.services.ports import BookingRow, FreeRoom, RoomRow, SeriesRow

T = orm.booking_list.c
UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True)
class Page:
    rows: list[BookingRow]
    total: int


#: How old the rooms kept in memory may get: a change another process made (the CLI, another web
#: process) shows within this; one committed through this process shows at once.
ROOMS_FRESH_SECONDS = 10.0


class Queries:
    def __init__(self, engine: Engine, *, monotonic: Callable[[], float] = _monotonic) -> None:
        self.engine = engine
        self._monotonic = monotonic
        #: Every room (by id), with the room-write count it was read at and until when it is fresh.
        self._kept_rooms: tuple[int, float, tuple[RoomRow, ...]] | None = None

    def _rows(self, query: object) -> list[BookingRow]:
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            return [row_of(r._mapping) for r in conn.execute(query)]  # type: ignore[call-overload]

    def _count(self, where: object) -> int:
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            query = select(func.count()).select_from(orm.booking_list).where(where)  # type: ignore[arg-type]
            return int(conn.execute(query).scalar_one())

    def booking(self, booking_id: int) -> BookingRow | None:
        found = self._rows(select(orm.booking_list).where(T.booking_id == booking_id))
        return found[0] if found else None

    def series(self, series_id: int) -> SeriesRow | None:
        """The series with its occurrences' rows, or None (no such series, or none of its
        occurrences is in the read model yet)."""
        s = orm.series.c
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            found = conn.execute(
                select(orm.series, orm.rooms.c.name.label("room_name"))
                .join(orm.rooms, orm.rooms.c.id == s.room_id)
                .where(s.id == series_id)
            ).one_or_none()
        if found is None:
            return None
        occurrences = self._rows(
            select(orm.booking_list)
            .where(T.series_id == series_id)
            .order_by(T.recurrence_id, T.booking_id)
        )
        if not occurrences:
            return None
        held = {o.recurrence_id for o in occurrences}
        by_rule = expand(found.rule, found.starts_at, found.ends_at, ZoneInfo(found.timezone))
        return SeriesRow(
            series_id=found.id,
            room_id=found.room_id,
            room_name=found.room_name,
            booker=found.booker,
            title=found.title,
            rule=found.rule,
            timezone=found.timezone,
            starts_at=found.starts_at,
            ends_at=found.ends_at,
            requested_at=found.requested_at,
            occurrences=tuple(occurrences),
            skipped=tuple(start for start, _end in by_rule if start not in held),
            ended_at=found.ended_at,
            end_reason=found.end_reason,
        )

    def _page(self, where: Any, limit: int, offset: int) -> Page:
        """Rows soonest first, and how many there are in all (for "Show more")."""
        rows = self._rows(
            select(orm.booking_list)
            .where(where)
            .order_by(T.starts_at, T.booking_id)
            .limit(limit)
            .offset(offset)
        )
        return Page(rows, self._count(where))

    def upcoming_for(self, user: str, now: datetime, limit: int = 20, offset: int = 0) -> Page:
        """A user's bookings that have not ended and still hold their slot, soonest first."""
        return self._upcoming(T.booker == user, now, limit, offset)

    def upcoming_in(self, room_id: str, now: datetime, limit: int = 20, offset: int = 0) -> Page:
        """A room's bookings that have not ended and still hold their slot, soonest first."""
        return self._upcoming(T.room_id == room_id, now, limit, offset)

    def _upcoming(self, whose: Any, now: datetime, limit: int, offset: int) -> Page:
        """The rows still ahead are picked first (through the ``(booker, ends_at)`` or
        ``(room_id, ends_at)`` index) and sorted after: ordering the index walk by start would
        read the whole past."""
        where = and_(whose, T.ends_at > now, T.status.in_(list(HOLDING)))
        ahead = select(orm.booking_list).where(where).cte("ahead").prefix_with("MATERIALIZED")
        rows = self._rows(
            select(ahead)
            .order_by(ahead.c.starts_at, ahead.c.booking_id)
            .limit(limit)
            .offset(offset)
        )
        return Page(rows, self._count(where))

    def history_for(self, user: str, now: datetime, limit: int = 10) -> list[BookingRow]:
        """A user's past or closed bookings, most recent first."""
        where = and_(
            T.booker == user,
            or_(T.ends_at <= now, T.status.not_in(list(HOLDING))),
        )
        return self._rows(
            select(orm.booking_list)
            .where(where)
            .order_by(T.starts_at.desc(), T.booking_id.desc())
            .limit(limit)
        )

    def pending(self, limit: int = 20, offset: int = 0) -> Page:
        """The approval queue: requests waiting for a decision, soonest start first. A series
        is one request there: its earliest waiting date stands for all its waiting dates."""
        waiting = T.status == BookingStatus.PENDING
        other = orm.booking_list.alias("other")
        first_of_series = (
            select(func.min(other.c.booking_id))
            .where(other.c.series_id == T.series_id, other.c.status == BookingStatus.PENDING)
            .scalar_subquery()
        )
        where = and_(waiting, or_(T.series_id.is_(None), T.booking_id == first_of_series))
        return self._page(where, limit, offset)

    def room_schedule(self, room_id: str, day: date, tz: ZoneInfo) -> list[BookingRow]:
        """Active bookings of a room touching the given local day."""
        start = datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
        return self._rows(
            select(orm.booking_list)
            .where(
                T.room_id == room_id,
                T.status.in_(list(HOLDING)),
                T.starts_at < end,
                T.ends_at > start,
            )
            .order_by(T.starts_at)
        )

    def bookings(
        self,
        *,
        room_id: str | None = None,
        day: date | None = None,
        tz: ZoneInfo = UTC_ZONE,
        limit: int = 500,
    ) -> list[BookingRow]:
        """Every booking (any status), optionally of one room and one local day, by start."""
        query = select(orm.booking_list)
        if room_id is not None:
            query = query.where(T.room_id == room_id)
        if day is not None:
            start = datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)
            end = start + timedelta(days=1)
            query = query.where(T.starts_at < end, T.ends_at > start)
        return self._rows(query.order_by(T.starts_at, T.booking_id).limit(limit))

    def busy(
        self, room_id: str, since: datetime, until: datetime
    ) -> list[tuple[datetime, datetime]]:
        """The slots of a room held by active bookings between two instants, by start."""
        query = (
            select(T.starts_at, T.ends_at)
            .where(
                T.room_id == room_id,
                T.status.in_(list(HOLDING)),
                T.starts_at < until,
                T.ends_at > since,
            )
            .order_by(T.starts_at)
        )
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            return [(r.starts_at, r.ends_at) for r in conn.execute(query)]

    def rooms_busy_between(self, starts_at: datetime, ends_at: datetime) -> set[str]:
        query = select(T.room_id).where(
            T.status.in_(list(HOLDING)), T.starts_at < ends_at, T.ends_at > starts_at
        )
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            return {r.room_id for r in conn.execute(query.distinct())}

    def rooms(self, *, include_inactive: bool = False) -> list[RoomRow]:
        """The rooms by id. Every /book lists them, and each read decodes three JSON columns a
        room: they are kept in memory until a room write of this process commits, or for
        ``ROOMS_FRESH_SECONDS``."""
        every = self._every_room()
        return list(every) if include_inactive else [r for r in every if r.active]

    def _every_room(self) -> tuple[RoomRow, ...]:
        written, now = orm.room_writes(), self._monotonic()
        kept = self._kept_rooms
        if kept is not None and kept[0] == written and now < kept[1]:
            return kept[2]
        # ``written`` is taken before the read: a write committed meanwhile makes this stale
        query = select(orm.rooms).order_by(orm.rooms.c.id)
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            found = tuple(room_row(r._mapping) for r in conn.execute(query))
        self._kept_rooms = (written, now + ROOMS_FRESH_SECONDS, found)
        return found

    def room(self, room_id: str) -> RoomRow | None:
        query = select(orm.rooms).where(orm.rooms.c.id == room_id)
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            found = conn.execute(query).one_or_none()
        return room_row(found._mapping) if found is not None else None

    def free_rooms(
        self,
        starts_at: datetime,
        ends_at: datetime,
        *,
        people: int = 1,
        tags: Sequence[str] = (),
    ) -> list[FreeRoom]:
        """Active rooms for at least ``people`` that no active booking holds during any part of
        ``[starts_at, ends_at)``, smallest first, each with when it stops being free.

        One query. For each room, the first active booking by end among those ending after
        ``starts_at`` is read through the ``(room_id, ends_at)`` index: active bookings of a
        room never overlap, so that booking also starts first, and the room is free for the
        window exactly when it starts at or after ``ends_at`` (or there is none). A booking that
        ends exactly at ``starts_at`` does not count, as the slots are half-open.

        That lookup is made once per room (:data:`_FREE_ROOMS`).
        """
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            found = [
                FreeRoom(room_row(row._mapping), _aware(row.busy_from))
                for row in conn.execute(
                    _FREE_ROOMS, {"starts_at": starts_at, "ends_at": ends_at, "people": people}
                )
            ]
        wanted = set(normalise_tags(tags))
        return [f for f in found if wanted <= set(f.room.tags)]


def _free_rooms_statement() -> Select[Any]:
    """Find's statement, with ``starts_at``, ``ends_at`` and ``people`` bound when it runs.

    Each room's next booking is looked up once, in a materialised CTE that the filter reads:
    written into the filter, its two tests and the select list would each run the lookup
    again (SQLite and PostgreSQL both evaluate a correlated subquery at every use). Built once:
    a CTE costs more to build than the lookups it saves."""
    r = orm.rooms.c
    busy_from = (
        select(T.starts_at)
        .where(T.room_id == r.id, T.status.in_(list(HOLDING)), T.ends_at > bindparam("starts_at"))
        .order_by(T.ends_at)
        .limit(1)
        .correlate(orm.rooms)
        .scalar_subquery()
    )
    sized = (
        select(orm.rooms, busy_from.label("busy_from"))
        .where(r.active.is_(True), r.capacity >= bindparam("people"))
        .cte("sized")
        .prefix_with("MATERIALIZED")
    )
    free = or_(sized.c.busy_from.is_(None), sized.c.busy_from >= bindparam("ends_at"))
    return select(sized).where(free).order_by(sized.c.capacity, sized.c.id)


_FREE_ROOMS = _free_rooms_statement()


def room_row(mapping: Any) -> RoomRow:
    return RoomRow(
        id=mapping["id"],
        name=mapping["name"],
        capacity=mapping["capacity"],
        active=mapping["active"],
        location=mapping["location"] or "",
        tags=tuple(mapping["tags"] or ()),
        auto_approve=mapping["auto_approve"],
        auto_approve_groups=tuple(mapping["auto_approve_groups"] or ()),
        approvers=tuple(mapping["approvers"] or ()),
        feed_details=mapping["feed_details"],
        checkin_minutes=mapping["checkin_minutes"],
    )


def _aware(value: datetime | None) -> datetime | None:
    """A scalar subquery's datetime skips the column type, so SQLite's naive UTC comes back."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite returns the stored text for an untyped expression
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class Suggestion:
    """Where a refused request could go instead: the same room later, or another room then."""

    next_start: datetime | None
    free_rooms: list[RoomRow]


def suggest(
    queries: Queries,
    room_id: str,
    starts_at: datetime,
    ends_at: datetime,
    *,
    search_hours: int = 12,
    step: timedelta = timedelta(minutes=15),
) -> Suggestion:
    """The nearest start in the same room (same length, on a quarter hour, within
    ``search_hours``), and the other active rooms free for the asked slot."""
    starts_at, ends_at = starts_at.astimezone(UTC), ends_at.astimezone(UTC)  # real time steps
    length = ends_at - starts_at
    busy = queries.busy(room_id, starts_at, starts_at + timedelta(hours=search_hours) + length)
    candidate = starts_at
    next_start = None
    limit = starts_at + timedelta(hours=search_hours)
    while candidate <= limit:
        clash = next((b for b in busy if b[0] < candidate + length and candidate < b[1]), None)
        if clash is None:
            next_start = candidate
            break
        # jump to the end of the clash, rounded up to the step
        candidate = clash[1]
        remainder = (candidate - starts_at) % step
        if remainder:
            candidate += step - remainder
    taken = queries.rooms_busy_between(starts_at, ends_at)
    free = [r for r in queries.rooms() if r.id != room_id and r.id not in taken]
    return Suggestion(next_start, free)
