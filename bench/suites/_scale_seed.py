"""Booking history for the scale suite, laid out on a grid and written with bulk inserts.

Why a grid: PostgreSQL's exclusion constraint refuses two PENDING/APPROVED bookings of one room
that overlap, so random times would make the seed fail (or need checks per row). Row ``i`` goes to
room ``i % ROOMS`` and to that room's hour slot ``k = i // ROOMS``: in the past it starts ``k``
hours before ``past_base``, in the future ``k`` hours after ``future_base``. Seeded bookings last
at most 45 minutes, so the last quarter of every future hour is never seeded: :meth:`Layout.probe`
hands those quarters to the measured booking requests, which are therefore always free.

Why explicit ids and a bumped id sequence: the history grows in steps (100, 10 000, 100 000) with
measured requests in between. Seeded rows take ids ``1..n``; the sequence is moved far above them
first, so the bus's own bookings never collide with rows seeded later.

The read model (``booking_list``) gets the same rows as ``bookings``, as the projections would
have written them, because the App Home reads only the read model.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, text

from bot.adapters import orm
from bot.adapters.db import is_postgres
from bot.domain.model import BookingStatus

ROOMS = 50
HEAVY = "UHEAVY"
ADMIN = "UADMIN"
PROBE_USER = "UPROBE"
BATCH = 5_000
#: Ids the message bus hands out start above every seeded id.
BUS_IDS_FROM = 10_000_000
#: The first 100 rows are special: the heavy user owns 20 of them (10 upcoming, 10 past), so
#: their App Home shows full lists at every size and the comparison is about the history behind
#: it, not about rendering more rows. Beyond them the heavy user owns 2% of the bookings.
FIRST = 100

_PAST = (
    (60, BookingStatus.APPROVED),
    (80, BookingStatus.CANCELLED),
    (92, BookingStatus.DENIED),
    (100, BookingStatus.EXPIRED),
)
_FUTURE = (
    (50, BookingStatus.APPROVED),
    (80, BookingStatus.PENDING),
    (100, BookingStatus.CANCELLED),
)


def room_ids() -> list[str]:
    return [f"S{r:02d}" for r in range(ROOMS)]


_MASK = 2**64 - 1


def _unit(i: int, salt: int) -> int:
    """A deterministic 0..99 per row and salt (SplitMix64's finaliser), independent across
    salts, so being the heavy user, lying in the future and the status are not correlated."""
    x = (i * 0x9E3779B97F4A7C15 + salt * 0xD1B54A32D192ED03) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return (x ^ (x >> 31)) % 100


def _pick(table: tuple[tuple[int, BookingStatus], ...], u: int) -> BookingStatus:
    return next(status for bound, status in table if u < bound)


@dataclass(frozen=True)
class Layout:
    """Where row ``i`` of the history lies in time; fixed once per database."""

    now: datetime

    @classmethod
    def at(cls, now: datetime) -> Layout:
        return cls(now.astimezone(UTC).replace(minute=0, second=0, microsecond=0))

    @property
    def past_base(self) -> datetime:
        return self.now - timedelta(hours=2)

    @property
    def future_base(self) -> datetime:
        return self.now + timedelta(days=1)

    def probe(self, n: int) -> tuple[str, datetime, datetime]:
        """The ``n``-th free slot for a measured request: a quarter hour no seed touches."""
        rooms = room_ids()
        room, k = rooms[n % ROOMS], n // ROOMS
        start = self.future_base + timedelta(hours=k, minutes=45)
        return room, start, start + timedelta(minutes=15)

    def row(self, i: int) -> dict[str, Any]:
        """Booking ``i + 1``: the ``bookings`` columns, plus ``room_name`` and ``cancelled_by``."""
        r, k = i % ROOMS, i // ROOMS
        if i < FIRST:
            future = i % 2 == 0
            heavy = i % 5 == 0
        else:
            future = _unit(i, 1) < 10
            heavy = _unit(i, 2) < 2
        length = timedelta(minutes=15 * (1 + i % 3))
        if future:
            start = self.future_base + timedelta(hours=k)
            status = (
                (BookingStatus.APPROVED if i % 4 == 0 else BookingStatus.PENDING)
                if i < FIRST
                else _pick(_FUTURE, _unit(i, 3))
            )
            requested = self.now - timedelta(hours=1 + i % 48)
        else:
            start = self.past_base - timedelta(hours=k)
            status = _pick(_PAST, _unit(i, 3))
            requested = start - timedelta(days=1 + i % 10)
        decided = status in (BookingStatus.APPROVED, BookingStatus.DENIED)
        booker = HEAVY if heavy else f"U{(i * 7) % 997:04d}"
        return {
            "id": i + 1,
            "room_id": room_ids()[r],
            "room_name": f"Room {r:02d}",
            "starts_at": start,
            "ends_at": start + length,
            "booker": booker,
            "title": f"Meeting {i}",
            "status": status,
            "requested_at": requested,
            "decided_by": ADMIN if decided else None,
            "decided_at": requested + timedelta(minutes=30) if decided else None,
            "reason": "The room is reserved for an event"
            if status == BookingStatus.DENIED
            else None,
            "cancelled_by": booker if status == BookingStatus.CANCELLED else None,
        }


_BOOKING_KEYS = [
    "id",
    "room_id",
    "starts_at",
    "ends_at",
    "booker",
    "title",
    "status",
    "requested_at",
    "decided_by",
    "decided_at",
    "reason",
]
_LIST_KEYS = [
    "room_id",
    "room_name",
    "starts_at",
    "ends_at",
    "booker",
    "title",
    "status",
    "requested_at",
    "decided_by",
    "decided_at",
    "reason",
    "cancelled_by",
]


def _batches(layout: Layout, start: int, stop: int) -> Iterator[list[dict[str, Any]]]:
    for first in range(start, stop, BATCH):
        yield [layout.row(i) for i in range(first, min(first + BATCH, stop))]


def add_rooms(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(orm.rooms),
            [
                {"id": rid, "name": f"Room {r:02d}", "capacity": 4 + r % 10, "active": True}
                for r, rid in enumerate(room_ids())
            ],
        )


def seed(engine: Engine, layout: Layout, start: int, stop: int) -> None:
    """Insert history rows ``start..stop-1`` into ``bookings`` and ``booking_list``.

    One transaction per batch of 5 000 (executemany, which SQLAlchemy turns into multi-row
    INSERTs on PostgreSQL), so a 100 000-row history takes seconds, not minutes.
    """
    for batch in _batches(layout, start, stop):
        with engine.begin() as conn:
            conn.execute(insert(orm.bookings), [{k: r[k] for k in _BOOKING_KEYS} for r in batch])
            conn.execute(
                insert(orm.booking_list),
                [{"booking_id": r["id"], **{k: r[k] for k in _LIST_KEYS}} for r in batch],
            )
    after_seed(engine)


def after_seed(engine: Engine) -> None:
    """Give the planner fresh statistics (PostgreSQL) and keep the bus's ids above the seed."""
    with engine.begin() as conn:
        if is_postgres(engine):
            conn.execute(
                text(
                    "SELECT setval('bookings_id_seq', GREATEST(:n, "
                    "(SELECT COALESCE(MAX(id), 0) + 1 FROM bookings)), false)"
                ),
                {"n": BUS_IDS_FROM},
            )
        else:
            # AUTOINCREMENT takes max(rowid, sqlite_sequence.seq) + 1.
            done = conn.execute(
                text("UPDATE sqlite_sequence SET seq = :n WHERE name = 'bookings' AND seq < :n"),
                {"n": BUS_IDS_FROM - 1},
            )
            if not done.rowcount:
                conn.execute(
                    text(
                        "INSERT INTO sqlite_sequence (name, seq) SELECT 'bookings', :n "
                        "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'bookings')"
                    ),
                    {"n": BUS_IDS_FROM - 1},
                )
    if is_postgres(engine):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE bookings"))
            conn.execute(text("ANALYZE booking_list"))
