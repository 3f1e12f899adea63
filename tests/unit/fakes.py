"""In-memory stand-ins for the storage ports, for testing the service layer without a database.

A :class:`Store` plays the database: it holds what is committed. Each :class:`FakeUnitOfWork` is one
transaction: on enter it takes deep copies of the committed state, repositories hand out those
working copies (so changes made to an aggregate are what gets committed, as with an ORM's identity
map), and :meth:`FakeUnitOfWork.commit` writes back only what the transaction touched, under the
store's lock. Anything not committed is discarded.

Like the exclusion constraint of PostgreSQL, the commit refuses a new or changed booking that
overlaps an active booking committed meanwhile by another transaction.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Self

from bot.domain.errors import RoomUnavailable
from bot.domain.events import Event
from bot.domain.model import (
    Approval,
    Booking,
    BookingStatus,
    Room,
    WaitlistEntry,
    WaitlistStatus,
)
from bot.services.handlers import conflict_of
from bot.services.ports import BookingRow, Channel, OutboxMessage
from bot.services.unit_of_work import AbstractUnitOfWork


class FixedClock:
    """A settable clock returning an aware UTC datetime: tests move time instead of sleeping."""

    def __init__(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class Store:
    """The committed state: what a database would hold."""

    rooms: dict[str, Room] = field(default_factory=dict)
    bookings: dict[int, Booking] = field(default_factory=dict)
    approvals: dict[int, Approval] = field(default_factory=dict)
    event_log: list[Event] = field(default_factory=list)
    booking_list: dict[int, BookingRow] = field(default_factory=dict)
    outbox: list[OutboxMessage] = field(default_factory=list)
    #: (recipient, channels, reason) of the pending rows skipped (``Outbox.skip_pending``).
    skipped: list[tuple[str, tuple[str, ...], str]] = field(default_factory=list)
    #: (user, deleted) of every member change recorded (``MemberChanges.add``).
    member_changes: list[tuple[str, bool]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    def next_booking_id(self) -> int:
        """Like a database sequence: ids are never reused, not even after a rollback."""
        with self.lock:
            return next(self._ids)


class FakeRoomRepository:
    def __init__(self, rooms: dict[str, Room]) -> None:
        self._rooms = rooms
        self.touched: set[str] = set()

    def get(self, room_id: str, *, to_book: bool = False) -> Room | None:
        room = self._rooms.get(room_id)
        if room is not None:
            self.touched.add(room_id)
        return room

    def add(self, room: Room) -> None:
        self._rooms[room.id] = room
        self.touched.add(room.id)

    def list(self, *, include_inactive: bool = False) -> list[Room]:
        rooms = sorted(self._rooms.values(), key=lambda room: room.id)
        self.touched.update(room.id for room in rooms)
        return [room for room in rooms if include_inactive or room.active]


class FakeBookingRepository:
    def __init__(self, bookings: dict[int, Booking], store: Store) -> None:
        self._bookings = bookings
        self._store = store
        self.seen: set[Booking] = set()
        self.added: set[int] = set()

    def add(self, booking: Booking) -> None:
        booking.id = self._store.next_booking_id()
        self._bookings[booking.id] = booking
        self.added.add(booking.id)
        self.seen.add(booking)

    def get(self, booking_id: int) -> Booking | None:
        booking = self._bookings.get(booking_id)
        if booking is not None:
            self.seen.add(booking)
        return booking

    def conflicts(
        self,
        room_id: str,
        starts_at: datetime,
        ends_at: datetime,
        *,
        excluding: int | None = None,
    ) -> list[Booking]:
        others = (b for b in self._bookings.values() if b.id != excluding)
        return holding_overlaps(others, room_id, starts_at, ends_at)

    def held_by(self, booker: str, since: datetime, until: datetime) -> list[Booking]:
        return [
            b
            for b in self._bookings.values()
            if b.booker == booker and b.holds_slot and since <= b.starts_at < until
        ]

    def upcoming_of(self, booker: str, now: datetime) -> list[Booking]:
        found = sorted(
            (
                b
                for b in self._bookings.values()
                if b.booker == booker and b.holds_slot and b.starts_at >= now
            ),
            key=lambda b: (b.starts_at, b.id or 0),
        )
        self.seen.update(found)
        return found

    def pending_started(self, now: datetime) -> list[Booking]:
        found = sorted(
            (
                booking
                for booking in self._bookings.values()
                if booking.status == BookingStatus.PENDING and booking.starts_at <= now
            ),
            key=lambda booking: booking.starts_at,
        )
        self.seen.update(found)
        return found


def holding_overlaps(
    bookings: Iterable[Booking], room_id: str, starts_at: datetime, ends_at: datetime
) -> list[Booking]:
    """Active bookings of ``room_id`` holding part of ``[starts_at, ends_at)``, earliest first."""
    return sorted(
        (
            booking
            for booking in bookings
            if booking.room_id == room_id
            and booking.holds_slot
            and booking.overlaps(starts_at, ends_at)
        ),
        key=lambda booking: booking.starts_at,
    )


class FakeWaitlist:
    """Waitlist entries in memory. Not transactional: the bus tests that use the fakes never
    wait for a slot (the waitlist is tested on the real databases)."""

    def __init__(self) -> None:
        self.entries: list[WaitlistEntry] = []
        self.seen: set[WaitlistEntry] = set()

    def add(self, entry: WaitlistEntry) -> None:
        entry.id = len(self.entries) + 1
        self.entries.append(entry)
        self.seen.add(entry)

    def get(self, entry_id: int) -> WaitlistEntry | None:
        return next((e for e in self.entries if e.id == entry_id), None)

    def waiting(self, room_id: str, starts_at: datetime, ends_at: datetime) -> list[WaitlistEntry]:
        return [
            e
            for e in self.entries
            if e.room_id == room_id
            and e.status in (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)
            and e.starts_at < ends_at
            and starts_at < e.ends_at
        ]

    def lapsed(self, now: datetime) -> list[WaitlistEntry]:
        return []

    def of_user(self, user: str) -> list[WaitlistEntry]:
        found = [
            e
            for e in self.entries
            if e.user == user and e.status in (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)
        ]
        self.seen.update(found)
        return found


class FakeApprovalRepository:
    def __init__(self, approvals: dict[int, Approval]) -> None:
        self._approvals = approvals
        self.touched: set[int] = set()
        self.deleted: set[int] = set()

    def get(self, booking_id: int) -> Approval | None:
        approval = self._approvals.get(booking_id)
        if approval is not None:
            self.touched.add(booking_id)
        return approval

    def add(self, approval: Approval) -> None:
        self._approvals[approval.booking_id] = approval
        self.touched.add(approval.booking_id)
        self.deleted.discard(approval.booking_id)

    def delete(self, booking_id: int) -> None:
        self._approvals.pop(booking_id, None)
        self.touched.discard(booking_id)
        self.deleted.add(booking_id)


class FakeEventLog(list[Event]):
    """The events this transaction appended (``append`` is the port's method)."""

    def __init__(self, committed: list[Event] | None = None) -> None:
        super().__init__()
        self.committed = committed if committed is not None else []

    def contains(self, event_id: str) -> bool:
        return any(e.event_id == event_id for e in (*self.committed, *self))


class FakeBookingList(dict[int, BookingRow]):
    """The read model as this transaction sees it; ``get`` is the port's method."""

    def __init__(self, rows: dict[int, BookingRow]) -> None:
        super().__init__(rows)
        self.touched: set[int] = set()

    def upsert(self, row: BookingRow) -> None:
        self[row.booking_id] = row
        self.touched.add(row.booking_id)

    def add(self, row: BookingRow) -> None:
        assert row.booking_id not in self, "a new booking is new to the read model"
        self.upsert(row)


class FakeMemberChanges(list[tuple[str, bool]]):
    """The member changes this transaction recorded."""

    def add(self, user: str, deleted: bool, at: datetime) -> None:
        self.append((user, deleted))


class FakeOutbox(list[OutboxMessage]):
    """The outbox rows this transaction added."""

    def __init__(self) -> None:
        super().__init__()
        #: (recipient, channels, reason) of every ``skip_pending`` call.
        self.skipped: list[tuple[str, tuple[str, ...], str]] = []

    def add(self, messages: Sequence[OutboxMessage]) -> None:
        self.extend(messages)

    def skip_pending(
        self, recipient: str, channels: Sequence[Channel], reason: str, now: datetime
    ) -> int:
        self.skipped.append((recipient, tuple(str(c) for c in channels), reason))
        return 0


class FakeUnitOfWork(AbstractUnitOfWork):
    rooms: FakeRoomRepository
    bookings: FakeBookingRepository
    approvals: FakeApprovalRepository
    event_log: FakeEventLog
    booking_list: FakeBookingList
    outbox: FakeOutbox
    member_changes: FakeMemberChanges
    waitlist: FakeWaitlist

    def __init__(self, store: Store) -> None:
        self.store = store
        self.committed = False
        self._begin()

    def _begin(self) -> None:
        """Start on fresh working copies of the committed state."""
        with self.store.lock:
            rooms, bookings, approvals, rows = copy.deepcopy(
                (
                    self.store.rooms,
                    self.store.bookings,
                    self.store.approvals,
                    self.store.booking_list,
                )
            )
        self.rooms = FakeRoomRepository(rooms)
        self.bookings = FakeBookingRepository(bookings, self.store)
        self.approvals = FakeApprovalRepository(approvals)
        self.event_log = FakeEventLog(self.store.event_log)
        self.booking_list = FakeBookingList(rows)
        self.outbox = FakeOutbox()
        self.member_changes = FakeMemberChanges()
        self.waitlist = FakeWaitlist()

    def __enter__(self) -> Self:
        self._begin()
        return super().__enter__()

    def commit(self) -> None:
        store = self.store
        with store.lock:
            self._refuse_overlaps()
            for room_id in self.rooms.touched:
                store.rooms[room_id] = copy.deepcopy(self.rooms._rooms[room_id])
            for booking in self.bookings.seen:
                assert booking.id is not None, "a seen booking has been stored"
                store.bookings[booking.id] = _stored(booking)
            for booking_id in self.approvals.deleted:
                store.approvals.pop(booking_id, None)
            for booking_id in self.approvals.touched:
                store.approvals[booking_id] = copy.deepcopy(self.approvals._approvals[booking_id])
            for booking_id in self.booking_list.touched:
                store.booking_list[booking_id] = self.booking_list[booking_id]
            store.event_log.extend(self.event_log)
            store.outbox.extend(self.outbox)
            store.skipped.extend(self.outbox.skipped)
            store.member_changes.extend(self.member_changes)
        self.committed = True
        self._begin()

    def _refuse_overlaps(self) -> None:
        """The database's last word: a slot taken by a transaction committed meanwhile."""
        for booking in self.bookings.seen:
            booking_id = booking.id
            others = [b for b in self.store.bookings.values() if b.id != booking_id]
            taken = holding_overlaps(others, booking.room_id, booking.starts_at, booking.ends_at)
            if booking.holds_slot and taken:
                raise RoomUnavailable(booking.room_id, conflict_of(taken[0]))

    def rollback(self) -> None:
        self._begin()


def _stored(booking: Booking) -> Booking:
    """The committed copy of a booking: its recorded events belong to the transaction."""
    stored = copy.deepcopy(booking)
    stored.events.clear()
    return stored
