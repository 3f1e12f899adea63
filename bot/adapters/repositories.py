"""SQLAlchemy implementations of the repositories the service layer uses."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Insert,
    Table,
    bindparam,
    delete,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapper, Session, make_transient_to_detached

from bot.adapters import orm
from bot.domain.events import Event
from bot.domain.model import (
    HOLDING,
    MAX_CHECKIN_MINUTES,
    Approval,
    Booking,
    BookingStatus,
    Room,
    Series,
    WaitlistEntry,
    WaitlistStatus,
)
from bot.services.ports import BookingRow, Channel, OutboxMessage


class SqlRoomRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        # The session's identity map holds objects weakly: without this, a room the use case
        # loaded and dropped would be selected again by the policies of the same transaction.
        self._loaded: dict[str, Room] = {}

    def get(self, room_id: str, *, to_book: bool = False) -> Room | None:
        key = _room_lock(room_id)
        if to_book and _postgres(self.session) and key not in _held_locks(self.session):
            # The room's lock (see ``SqlBookingRepository._serialise_room``) in the statement
            # that reads it, one round trip fewer; the overlap check, a later statement, still
            # reads a snapshot taken once the lock is held.
            found = self.session.execute(
                _room_by_id_locked(), {"room_id": room_id, "key": key}
            ).first()
            room = found[0] if found is not None else None
            if room is not None:
                _held_locks(self.session).add(key)
        else:
            # A statement built once (see ``_conflicts``): ``session.get`` builds its own.
            room = (
                self._loaded.get(room_id)
                or self.session.scalars(_room_by_id(), {"room_id": room_id}).one_or_none()
            )
        if room is not None:
            self._loaded[room_id] = room
        return room

    def add(self, room: Room) -> None:
        self.session.add(room)
        self.session.flush()

    def list(self, *, include_inactive: bool = False) -> list[Room]:
        query = select(Room).order_by(orm.rooms.c.id)
        if not include_inactive:
            query = query.where(orm.rooms.c.active.is_(True))
        return list(self.session.scalars(query))


class SqlBookingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.seen: set[Booking] = set()

    def add(self, booking: Booking) -> None:
        # If PostgreSQL's exclusion constraint refuses the row (another transaction committed
        # an overlapping booking after our check), the error is retryable: the message bus
        # reruns the command, whose check then sees the winner and says who holds the slot.
        insert_new(self.session, booking)
        self.seen.add(booking)

    def get(self, booking_id: int) -> Booking | None:
        booking = self.session.scalars(_booking_locked(), {"booking_id": booking_id}).one_or_none()
        if booking is not None:
            self.seen.add(booking)
        return booking

    def _serialise_room(self, room_id: str) -> None:
        """On PostgreSQL, queue this transaction behind any other one checking the same room,
        until it ends. Without it, concurrent inserts meet in the exclusion constraint's index
        and deadlock (each costing ``deadlock_timeout``); with it they run one by one and each
        check sees the winner. The constraint stays the guarantee; SQLite's ``BEGIN IMMEDIATE``
        already serialises every writer."""
        self._serialise(_room_lock(room_id))

    def _serialise(self, key: str) -> None:
        """Take the advisory lock ``key`` unless this transaction already holds it."""
        if _postgres(self.session) and key not in _held_locks(self.session):
            self.session.connection().execute(_ADVISORY_LOCK, {"key": key})
            _held_locks(self.session).add(key)

    def conflicts(
        self,
        room_id: str,
        starts_at: datetime,
        ends_at: datetime,
        *,
        excluding: int | None = None,
    ) -> list[Booking]:
        params: dict[str, Any] = {"room_id": room_id, "starts_at": starts_at, "ends_at": ends_at}
        if excluding is not None:
            params["excluding"] = excluding
        self._serialise_room(room_id)
        # The ids first, in Core: nearly every check finds none, and loading no aggregates
        # through the ORM still costs more than the query. Core does not autoflush either: a
        # changed booking's UPDATE would meet PostgreSQL's exclusion constraint before this
        # check could say, kindly, who holds the slot.
        ids = self.session.connection().execute(_conflicts(excluding is not None), params)
        found = ids.scalars().all()
        if not found:
            return []
        with self.session.no_autoflush:
            return list(
                self.session.scalars(
                    select(Booking)
                    .where(orm.bookings.c.id.in_(found))
                    .order_by(orm.bookings.c.starts_at)
                )
            )

    def upcoming_of(self, booker: str, now: datetime) -> list[Booking]:
        b = orm.bookings.c
        found = list(
            self.session.scalars(
                select(Booking)
                .where(b.booker == booker, b.status.in_(list(HOLDING)), b.starts_at >= now)
                .order_by(b.starts_at, b.id)
                .with_for_update()
            )
        )
        self.seen.update(found)
        return found

    def held_by(self, booker: str, since: datetime, until: datetime) -> list[Booking]:
        """The booker's holding bookings in the week, read behind a lock on the booker (until
        the transaction ends) on PostgreSQL: two requests of one person at once (in two rooms)
        would otherwise both count the week without the other and both fit the quota. The
        lock comes after the room's, in every transaction, so the two cannot deadlock. SQLite's
        ``BEGIN IMMEDIATE`` already runs every writer alone."""
        self._serialise(f"booker:{booker}")
        b = orm.bookings.c
        return list(
            self.session.scalars(
                select(Booking).where(
                    b.booker == booker,
                    b.status.in_(list(HOLDING)),
                    b.starts_at >= since,
                    b.starts_at < until,
                )
            )
        )

    def pending_started(self, now: datetime) -> list[Booking]:
        b = orm.bookings.c
        found = list(
            self.session.scalars(
                select(Booking)
                .where(b.status == BookingStatus.PENDING, b.starts_at <= now)
                .order_by(b.starts_at)
                .with_for_update(skip_locked=True)
            )
        )
        self.seen.update(found)
        return found

    def unattended(self, now: datetime) -> list[tuple[Booking, timedelta]]:
        b, r = orm.bookings.c, orm.rooms.c
        # A window is at most MAX_CHECKIN_MINUTES, so only bookings that started since then
        # can be due; the exact window is compared here, where interval arithmetic is portable.
        query = (
            select(Booking, r.checkin_minutes)
            .join(orm.rooms, r.id == b.room_id)
            .where(
                b.status == BookingStatus.APPROVED,
                b.checked_in_at.is_(None),
                r.checkin_minutes.is_not(None),
                b.starts_at <= now,
                b.starts_at >= now - timedelta(minutes=MAX_CHECKIN_MINUTES),
                b.ends_at > now,
            )
            .order_by(b.starts_at)
            .with_for_update(skip_locked=True, of=orm.bookings)
        )
        found = [
            (booking, timedelta(minutes=minutes))
            for booking, minutes in self.session.execute(query)
            if booking.starts_at + timedelta(minutes=minutes) <= now
        ]
        self.seen.update(booking for booking, _ in found)
        return found

    def reminders_due(self, now: datetime, lead: timedelta) -> list[Booking]:
        b = orm.bookings.c
        return self._claim(
            select(Booking)
            .where(
                b.status == BookingStatus.APPROVED,
                b.reminded_at.is_(None),
                b.starts_at >= now,
                b.starts_at <= now + lead,
            )
            .order_by(b.starts_at)
        )

    def overdue_requests(self, requested_before: datetime) -> list[Booking]:
        b = orm.bookings.c
        return self._claim(
            select(Booking)
            .where(
                b.status == BookingStatus.PENDING,
                b.nudged_at.is_(None),
                b.requested_at <= requested_before,
            )
            .order_by(b.requested_at)
        )

    def _claim(self, query: Any) -> list[Booking]:
        """Lock what a periodic job will change; rows another worker holds are left to it."""
        found = list(self.session.scalars(query.with_for_update(skip_locked=True)))
        self.seen.update(found)
        return found


class SqlSeriesRepository:
    def __init__(self, session: Session, bookings: SqlBookingRepository) -> None:
        self.session = session
        self._bookings = bookings

    def add(self, series: Series) -> None:
        self.session.add(series)
        self.session.flush()

    def get(self, series_id: int) -> Series | None:
        return self.session.scalars(
            select(Series).where(orm.series.c.id == series_id).with_for_update()
        ).one_or_none()

    def occurrences(self, series_id: int) -> list[Booking]:
        found = list(
            self.session.scalars(
                select(Booking)
                .where(orm.bookings.c.series_id == series_id)
                .order_by(orm.bookings.c.recurrence_id, orm.bookings.c.id)
                .with_for_update()
            )
        )
        self._bookings.seen.update(found)
        return found


class SqlWaitlist:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.seen: set[WaitlistEntry] = set()

    def add(self, entry: WaitlistEntry) -> None:
        self.session.add(entry)
        self.session.flush()
        self.seen.add(entry)

    def get(self, entry_id: int) -> WaitlistEntry | None:
        w = orm.waitlist.c
        entry = self.session.scalars(
            select(WaitlistEntry).where(w.id == entry_id).with_for_update()
        ).one_or_none()
        if entry is not None:
            self.seen.add(entry)
        return entry

    def waiting(self, room_id: str, starts_at: datetime, ends_at: datetime) -> list[WaitlistEntry]:
        w = orm.waitlist.c
        found = list(
            self.session.scalars(
                select(WaitlistEntry)
                .where(
                    w.room_id == room_id,
                    w.status.in_([WaitlistStatus.WAITING, WaitlistStatus.OFFERED]),
                    w.starts_at < ends_at,
                    w.ends_at > starts_at,
                )
                .order_by(w.created_at, w.id)
                .with_for_update()
            )
        )
        self.seen.update(found)
        return found

    def of_user(self, user: str) -> list[WaitlistEntry]:
        w = orm.waitlist.c
        found = list(
            self.session.scalars(
                select(WaitlistEntry)
                .where(
                    w.user == user,
                    w.status.in_([WaitlistStatus.WAITING, WaitlistStatus.OFFERED]),
                )
                .order_by(w.id)
                .with_for_update()
            )
        )
        self.seen.update(found)
        return found

    def lapsed(self, now: datetime) -> list[WaitlistEntry]:
        w = orm.waitlist.c
        found = list(
            self.session.scalars(
                select(WaitlistEntry)
                .where(w.status == WaitlistStatus.OFFERED, w.offer_expires_at <= now)
                .order_by(w.offer_expires_at)
                .with_for_update(skip_locked=True)
            )
        )
        self.seen.update(found)
        return found


class SqlApprovalRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, booking_id: int) -> Approval | None:
        return self.session.get(Approval, booking_id)

    def add(self, approval: Approval) -> None:
        insert_new(self.session, approval)

    def delete(self, booking_id: int) -> None:
        approval = self.session.get(Approval, booking_id)
        if approval is not None:
            self.session.delete(approval)
        self.session.flush()


def insert_new(session: Session, aggregate: Any) -> None:
    """Store a new aggregate with one Core INSERT (``RETURNING`` the id the database gives it)
    and attach it to the session as if it had just been loaded: what the transaction changes
    in it later is flushed as usual, but the insert skips the ORM's flush, whose unit-of-work
    sort and per-row bookkeeping cost several times the statement itself. Its columns are the
    mapper's, so the mapping stays in one place (``orm.start_mappers``)."""
    writer = _writer(type(aggregate))
    values = {column: getattr(aggregate, attribute) for attribute, column in writer.columns}
    conn = session.connection()
    if writer.generated is None:
        conn.execute(writer.insert, values)
    else:
        attribute, column = writer.generated
        if values[column] is None:
            del values[column]
            setattr(aggregate, attribute, conn.execute(writer.returning, values).scalar_one())
        else:
            conn.execute(writer.insert, values)
    make_transient_to_detached(aggregate)
    session.add(aggregate)


@dataclasses.dataclass(frozen=True)
class _Writer:
    insert: Insert
    returning: Insert
    #: (attribute, column) of every mapped column
    columns: tuple[tuple[str, str], ...]
    #: the key the database generates, if any
    generated: tuple[str, str] | None


_WRITERS: dict[type[Any], _Writer] = {}


def _writer(cls: type[Any]) -> _Writer:
    found = _WRITERS.get(cls)
    if found is None:
        mapper: Mapper[Any] = inspect(cls)
        table = mapper.local_table
        assert isinstance(table, Table)
        columns = tuple((prop.key, prop.columns[0].key) for prop in mapper.column_attrs)
        key = table.autoincrement_column
        generated = next(((a, c) for a, c in columns if key is not None and c == key.key), None)
        statement = insert(table)
        returning = statement.returning(key) if key is not None else statement
        found = _WRITERS[cls] = _Writer(statement, returning, columns, generated)
    return found


@functools.cache
def _room_by_id() -> Any:
    return select(Room).where(orm.rooms.c.id == bindparam("room_id"))


@functools.cache
def _room_by_id_locked() -> Any:
    lock = func.pg_advisory_xact_lock(func.hashtextextended(bindparam("key"), 0))
    return select(Room, lock).where(orm.rooms.c.id == bindparam("room_id"))


def _room_lock(room_id: str) -> str:
    """The key of the advisory lock that serialises the checks of one room's slots."""
    return f"room:{room_id}"


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _held_locks(session: Session) -> set[str]:
    """The advisory locks the session's current transaction holds (they last until it ends):
    its repositories take each one once."""
    transaction = session.get_transaction()
    held = session.info.get("advisory_locks")
    if held is None or held[0] is not transaction:
        held = session.info["advisory_locks"] = (transaction, set())
    locks: set[str] = held[1]
    return locks


@functools.cache
def _booking_locked() -> Any:
    return select(Booking).where(orm.bookings.c.id == bindparam("booking_id")).with_for_update()


@functools.cache
def _conflicts(excluding: bool) -> Any:
    """The overlap check (the ids of the bookings in the way), built once (the bus runs it in
    every booking transaction): building and hashing a statement per call costs more CPU than
    SQLite spends running it."""
    b = orm.bookings.c
    query = (
        select(b.id)
        .where(
            b.room_id == bindparam("room_id"),
            b.status.in_(list(HOLDING)),
            b.starts_at < bindparam("ends_at"),
            b.ends_at > bindparam("starts_at"),
        )
        .order_by(b.starts_at)
    )
    return query.where(b.id != bindparam("excluding")) if excluding else query


_OUTBOX_INSERT = insert(orm.outbox)
_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
_EVENT_INSERT = insert(orm.event_log)
_BOOKING_LIST_INSERT = insert(orm.booking_list)
_BOOKING_LIST_ROW = select(orm.booking_list).where(
    orm.booking_list.c.booking_id == bindparam("key")
)
_BOOKING_LIST_UPDATE = update(orm.booking_list).where(
    orm.booking_list.c.booking_id == bindparam("key")
)
_ROW_FIELDS = tuple(f.name for f in dataclasses.fields(BookingRow))
_EVENT_KEYS = frozenset({"event_id", "booking_id", "actor", "at"})


_PAYLOAD_FIELDS: dict[type[Event], tuple[str, ...]] = {}


def _payload_fields(event_type: type[Event]) -> tuple[str, ...]:
    found = _PAYLOAD_FIELDS.get(event_type)
    if found is None:
        fields = dataclasses.fields(event_type)
        found = _PAYLOAD_FIELDS[event_type] = tuple(
            f.name for f in fields if f.name not in _EVENT_KEYS
        )
    return found


def _row_values(row: BookingRow) -> dict[str, Any]:
    """A read-model row as column values (``dataclasses.asdict`` would deep-copy each one)."""
    return {name: getattr(row, name) for name in _ROW_FIELDS}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


class SqlEventLog:
    """The append-only audit trail: who did what to which booking, and when."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def contains(self, event_id: str) -> bool:
        self.session.flush()
        found = self.session.execute(
            select(orm.event_log.c.event_id).where(orm.event_log.c.event_id == event_id)
        ).first()
        return found is not None

    def append(self, event: Event) -> None:
        payload = {name: _jsonable(getattr(event, name)) for name in _payload_fields(type(event))}
        self.session.flush()  # the aggregate rows the event refers to go first
        self.session.connection().execute(
            _EVENT_INSERT,
            {
                "event_id": event.event_id,
                "type": event.name,
                "booking_id": event.booking_id,
                "actor": event.actor,
                "at": event.at,
                "payload": payload,
            },
        )


class SqlBookingList:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._written: dict[int, BookingRow] = {}  # what this transaction wrote, to read back

    def add(self, row: BookingRow) -> None:
        """A booking new to the read model (it was just requested)."""
        self.session.connection().execute(_BOOKING_LIST_INSERT, _row_values(row))
        self._written[row.booking_id] = row

    def upsert(self, row: BookingRow) -> None:
        values = _row_values(row)
        conn = self.session.connection()
        done = conn.execute(_BOOKING_LIST_UPDATE, {**values, "key": row.booking_id})
        if done.rowcount == 0:
            conn.execute(_BOOKING_LIST_INSERT, values)
        self._written[row.booking_id] = row

    def get(self, booking_id: int) -> BookingRow | None:
        if booking_id in self._written:
            return self._written[booking_id]
        found = (
            self.session.connection().execute(_BOOKING_LIST_ROW, {"key": booking_id}).one_or_none()
        )
        return row_of(found._mapping) if found is not None else None


def row_of(mapping: Any) -> BookingRow:
    return BookingRow(**{f.name: mapping[f.name] for f in dataclasses.fields(BookingRow)})


class SqlOutbox:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, messages: Sequence[OutboxMessage]) -> None:
        if not messages:
            return
        # On PostgreSQL the insert wakes dispatchers in other processes when it commits (a
        # trigger, migration 0017; bot/notifications/wakeup).
        self.session.connection().execute(
            _OUTBOX_INSERT,
            [
                {
                    "event_id": m.event_id,
                    "channel": str(m.channel),
                    "recipient": m.recipient,
                    "payload": m.payload,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": m.due,
                    "created_at": m.due,
                }
                for m in messages
            ],
        )

    def skip_pending(
        self, recipient: str, channels: Sequence[Channel], reason: str, now: datetime
    ) -> int:
        o = orm.outbox.c
        skipped = self.session.execute(
            update(orm.outbox)
            .where(
                o.recipient == recipient,
                o.channel.in_([str(c) for c in channels]),
                o.status == "pending",
            )
            .values(status="skipped", last_error=reason)
            .returning(o.id, o.attempts)
        ).all()
        if skipped:
            self.session.execute(
                insert(orm.deliveries),
                [
                    {
                        "outbox_id": r.id,
                        "attempt": r.attempts,
                        "at": now,
                        "outcome": "skipped",
                        "error": reason,
                    }
                    for r in skipped
                ],
            )
        return len(skipped)


class SqlMemberChanges:
    """Written by the process that received Slack's ``user_change``; read by every process
    (:class:`bot.adapters.member_changes.MemberChangeFeed`) from the id it read last. So ids
    must become visible in their order: writers take turns (an advisory lock on PostgreSQL,
    ``BEGIN IMMEDIATE`` on SQLite), each allocating its id after the one before committed."""

    #: How long a change is kept: a worker reads it within a claim or two; one down longer has
    #: no cached profile left from before it.
    KEPT = timedelta(days=1)

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, user: str, deleted: bool, at: datetime) -> None:
        if _postgres(self.session):
            self.session.execute(_ADVISORY_LOCK, {"key": "member_changes"})
        changes = orm.member_changes
        self.session.execute(delete(changes).where(changes.c.at < at - self.KEPT))
        self.session.execute(insert(changes).values(user_id=user, deleted=deleted, at=at))


def delete_all(session: Session) -> None:
    """Empty every table of data (tests only), children first; the installation's id stays."""
    for table in reversed(orm.metadata.sorted_tables):
        if table is not orm.installation:
            session.execute(delete(table))
