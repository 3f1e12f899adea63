"""The write and read sides on a real database: each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, event, insert, text, update
from sqlalchemy.exc import IntegrityError

from bot.adapters import migrate, orm
from bot.bootstrap import Container
from bot.domain import commands as c
from bot.domain.errors import InvalidTransition, NotAllowed, RoomInactive, RoomUnavailable
from bot.domain.model import Approval, ApprovalStatus, Booking, BookingStatus, Room
from bot.notifications.outbox import OutboxStore
from bot.services import handlers
from bot.services.messagebus import MessageBus
from bot.services.queries import ROOMS_FRESH_SECONDS, Queries
from bot.services.unit_of_work import AbstractUnitOfWork
from tests.conftest import ADMIN, FixedClock
from tests.integration.helpers import (
    add_rooms,
    approvals,
    booking_list,
    bookings,
    events,
    outbox,
    rows,
    slot,
)


@pytest.fixture
def bus(container: Container) -> MessageBus:
    add_rooms(container.bus, "102", "201")
    return container.bus


def test_migrations_match_the_table_definitions(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), orm.metadata)
    assert diff == []


def test_the_newest_migrations_step_back_and_forth_keeping_the_data(
    container: Container, engine: Engine, clock: FixedClock
) -> None:
    add_rooms(container.bus, "102")
    start, end = slot(clock.now, 2, 3)
    container.bus.handle(c.RequestBooking("102", start, end, by="UBOB"))
    store = OutboxStore(engine)
    homes = store.claim(clock.now, 10, 60, channels=["home"])  # the booker's and the admin's:
    # any two rows will do here, this is about the log's new outcome
    store.mark_sent(homes[-1].id, clock.now, covering=[r.id for r in homes[:-1]])
    before = {
        table: len(rows(engine, getattr(orm, table)))
        for table in ("outbox", "deliveries", "bookings")
    }

    migrate.downgrade(engine, "0003")
    with engine.connect() as conn:
        outcomes = conn.execute(text("SELECT DISTINCT outcome FROM deliveries")).scalars().all()
    assert set(outcomes) == {"sent"}  # "coalesced" is not known there: folded into "sent"
    migrate.upgrade(engine)

    assert migrate.is_up_to_date(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), orm.metadata) == []
    after = {
        table: len(rows(engine, getattr(orm, table)))
        for table in ("outbox", "deliveries", "bookings")
    }
    assert after == before and before["deliveries"] >= 2


def test_the_original_scenario_book_approve_book_deny_cancel(
    bus: MessageBus, engine: Engine, clock: FixedClock, container: Container
) -> None:
    start, end = slot(clock.now, 2, 3)
    first = bus.handle(c.RequestBooking("102", start, end, by="UBOB", title="Weekly sync"))
    bus.handle(c.ApproveBooking(first, by=ADMIN))
    second = bus.handle(c.RequestBooking("102", *slot(clock.now, 4, 5), by="UBOB"))
    bus.handle(c.DenyBooking(second, by=ADMIN, reason="Room is being cleaned"))
    bus.handle(c.CancelBooking(first, by="UBOB"))

    stored = {b["id"]: b for b in bookings(engine)}
    assert stored[first]["status"] == BookingStatus.CANCELLED
    assert stored[second]["status"] == BookingStatus.DENIED
    assert stored[first]["starts_at"] == start  # aware UTC round trip
    assert stored[first]["starts_at"].tzinfo is not None

    listed = {r["booking_id"]: r for r in booking_list(engine)}
    assert listed[first]["status"] == BookingStatus.CANCELLED
    assert listed[first]["decided_by"] == ADMIN
    assert listed[second]["reason"] == "Room is being cleaned"
    assert listed[second]["room_name"] == "Room 102"

    # the saga: the cancelled booking left the approval queue; the denied one keeps its record
    assert [a["booking_id"] for a in approvals(engine)] == [second]

    assert [(e["type"], e["actor"]) for e in events(engine)] == [
        ("BookingRequested", "UBOB"),
        ("BookingApproved", ADMIN),
        ("BookingRequested", "UBOB"),
        ("BookingDenied", ADMIN),
        ("BookingCancelled", "UBOB"),
    ]
    kinds = [r["payload"]["kind"] for r in outbox(engine) if r["channel"] == "email"]
    assert kinds == ["requested", "approved", "requested", "denied", "cancelled"]
    assert {r["recipient"] for r in outbox(engine) if r["channel"] == "dm"} == {"UBOB"}

    upcoming = container.queries.upcoming_for("UBOB", clock.now)
    assert upcoming.rows == [] and upcoming.total == 0
    history = container.queries.history_for("UBOB", clock.now)
    assert [r.booking_id for r in history] == [second, first]


def test_a_booking_stored_and_changed_in_one_transaction_keeps_the_change(
    bus: MessageBus, engine: Engine, clock: FixedClock
) -> None:
    """New bookings and approval records are written with one INSERT each, outside the ORM's
    flush: what the same transaction then does to them is stored all the same, and loading
    them again gives the very objects it holds."""
    start, end = slot(clock.now, 2, 3)
    with bus.uow_factory() as uow:
        booking = Booking.request(
            room=_stored_room(uow, "102"),
            starts_at=start,
            ends_at=end,
            booker="UBOB",
            title="Sync",
            now=clock.now,
            limits=bus.context.limits,
        )
        uow.bookings.add(booking)
        assert booking.id is not None
        uow.approvals.add(Approval(booking_id=booking.id))
        assert uow.bookings.get(booking.id) is booking
        booking.approve(ADMIN, clock.now)
        approval = uow.approvals.get(booking.id)
        assert approval is not None
        approval.record(ApprovalStatus.APPROVED, ADMIN, clock.now)
        uow.commit()

    [stored] = bookings(engine)
    assert (stored["id"], stored["status"], stored["decided_by"]) == (
        booking.id,
        BookingStatus.APPROVED,
        ADMIN,
    )
    assert [(a["status"], a["decided_by"]) for a in approvals(engine)] == [
        (ApprovalStatus.APPROVED, ADMIN)
    ]


def _stored_room(uow: AbstractUnitOfWork, room_id: str) -> Room:
    room = uow.rooms.get(room_id)
    assert room is not None
    return room


def test_overlap_is_refused_with_who_holds_the_slot(bus: MessageBus, clock: FixedClock) -> None:
    bus.handle(c.RequestBooking("102", *slot(clock.now, 2, 4), by="UBOB", title="Planning"))
    with pytest.raises(RoomUnavailable) as refused:
        bus.handle(c.RequestBooking("102", *slot(clock.now, 3, 5), by="UAL"))
    conflict = refused.value.conflict
    assert conflict is not None and conflict.booker == "UBOB"
    assert conflict.ends_at == clock.now + timedelta(hours=4)
    # touching slots and other rooms are fine
    bus.handle(c.RequestBooking("102", *slot(clock.now, 4, 5), by="UAL"))
    bus.handle(c.RequestBooking("201", *slot(clock.now, 2, 4), by="UAL"))


def test_denied_cancelled_and_expired_bookings_free_the_slot(
    bus: MessageBus, clock: FixedClock, engine: Engine
) -> None:
    span = slot(clock.now, 1, 2)
    denied = bus.handle(c.RequestBooking("102", *span, by="UBOB"))
    bus.handle(c.DenyBooking(denied, by=ADMIN))
    cancelled = bus.handle(c.RequestBooking("102", *span, by="UBOB"))
    bus.handle(c.CancelBooking(cancelled, by="UBOB"))
    expired = bus.handle(c.RequestBooking("102", *span, by="UBOB"))
    clock.advance(timedelta(hours=1, minutes=5))
    assert bus.handle(c.ExpirePending()) == 1
    assert {b["id"]: b["status"] for b in bookings(engine)}[expired] == BookingStatus.EXPIRED
    clock.advance(timedelta(hours=-1))
    bus.handle(c.RequestBooking("102", *span, by="UAL"))


def test_decisions_are_admin_only_and_cancel_is_booker_or_admin(
    bus: MessageBus, clock: FixedClock, engine: Engine
) -> None:
    booking = bus.handle(c.RequestBooking("102", *slot(clock.now, 1, 2), by="UBOB"))
    with pytest.raises(NotAllowed):
        bus.handle(c.ApproveBooking(booking, by="UBOB"))
    with pytest.raises(NotAllowed):
        bus.handle(c.CancelBooking(booking, by="UMALLORY"))
    assert bookings(engine)[0]["status"] == BookingStatus.PENDING
    bus.handle(c.CancelBooking(booking, by=ADMIN))
    with pytest.raises(InvalidTransition):
        bus.handle(c.ApproveBooking(booking, by=ADMIN))
    last_dm = [r for r in outbox(engine) if r["channel"] == "dm"][-1]
    assert last_dm["payload"]["kind"] == "cancelled"
    assert last_dm["payload"]["by_admin"] is True


def test_a_repeated_decision_writes_nothing_new(
    bus: MessageBus, clock: FixedClock, engine: Engine
) -> None:
    booking = bus.handle(c.RequestBooking("102", *slot(clock.now, 1, 2), by="UBOB"))
    bus.handle(c.ApproveBooking(booking, by=ADMIN))
    before = (len(events(engine)), len(outbox(engine)))
    bus.handle(c.ApproveBooking(booking, by=ADMIN))
    assert (len(events(engine)), len(outbox(engine))) == before


def test_deactivated_rooms_keep_history_and_refuse_new_bookings(
    bus: MessageBus, clock: FixedClock, container: Container
) -> None:
    booking = bus.handle(c.RequestBooking("102", *slot(clock.now, 1, 2), by="UBOB"))
    bus.handle(c.DeactivateRoom("102", by=ADMIN))
    with pytest.raises(RoomInactive):
        bus.handle(c.RequestBooking("102", *slot(clock.now, 3, 4), by="UBOB"))
    assert container.queries.booking(booking) is not None
    assert [r.id for r in container.queries.rooms()] == ["201"]
    assert [r.id for r in container.queries.rooms(include_inactive=True)] == ["102", "201"]


def test_a_failing_policy_leaves_nothing_behind(
    container: Container, clock: FixedClock, engine: Engine
) -> None:
    add_rooms(container.bus, "102")

    def broken(event: object, uow: object, ctx: object) -> None:
        raise RuntimeError("policy failed")

    table = dict(handlers.EVENT_HANDLERS)
    table[handlers.events.BookingRequested] = [*table[handlers.events.BookingRequested], broken]
    bus = MessageBus(container.bus.uow_factory, container.bus.context, event_handlers=table)
    with pytest.raises(RuntimeError):
        bus.handle(c.RequestBooking("102", *slot(clock.now, 1, 2), by="UBOB"))
    assert bookings(engine) == []
    assert booking_list(engine) == []
    assert outbox(engine) == []
    assert events(engine) == []
    assert approvals(engine) == []
    # and the slot is still free
    container.bus.handle(c.RequestBooking("102", *slot(clock.now, 1, 2), by="UBOB"))


def test_queries_serve_lists_queue_and_a_room_day_in_local_time(
    bus: MessageBus, clock: FixedClock, container: Container
) -> None:
    ids = [
        bus.handle(c.RequestBooking("102", *slot(clock.now, h, h + 1), by="UBOB"))
        for h in (1, 3, 5)
    ]
    bus.handle(c.ApproveBooking(ids[0], by=ADMIN))
    pending = container.queries.pending()
    assert [r.booking_id for r in pending.rows] == ids[1:] and pending.total == 2
    page = container.queries.upcoming_for("UBOB", clock.now, limit=2)
    assert [r.booking_id for r in page.rows] == ids[:2] and page.total == 3
    seoul = ZoneInfo("Asia/Seoul")  # 08:00 UTC is 17:00 in Seoul: 09:00-14:00 UTC is that day
    day = clock.now.astimezone(seoul).date()
    assert [r.booking_id for r in container.queries.room_schedule("102", day, seoul)] == ids
    next_day = day + timedelta(days=1)
    assert container.queries.room_schedule("102", next_day, seoul) == []
    assert [r.booking_id for r in container.queries.bookings(room_id="102")] == ids


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_postgres_refuses_overlap_even_without_the_application(
    bus: MessageBus, clock: FixedClock, engine: Engine
) -> None:
    """The exclusion constraint holds for any writer, not only for roombot's code path."""
    start, end = slot(clock.now, 1, 2)
    row = {
        "room_id": "102",
        "booker": "UX",
        "title": "",
        "requested_at": clock.now,
        "starts_at": start,
        "ends_at": end,
    }
    with engine.begin() as conn:
        conn.execute(insert(orm.bookings).values({**row, "status": "PENDING"}))
        conn.execute(insert(orm.bookings).values({**row, "status": "CANCELLED"}))
    with pytest.raises(IntegrityError, match="bookings_no_overlap"), engine.begin() as conn:
        conn.execute(insert(orm.bookings).values({**row, "status": "APPROVED"}))
    with engine.connect() as conn:
        plan = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'bookings_no_overlap'")
        ).scalar_one()
    assert "gist" in plan


def test_rooms_are_read_once_until_a_room_changes(container: Container) -> None:
    """The booking form lists the rooms on every /book: they come from memory until a room
    command of this process commits, or, for another process's change, until they are
    ``ROOMS_FRESH_SECONDS`` old."""
    add_rooms(container.bus, "102", "201")
    now = [0.0]
    queries = Queries(container.engine, monotonic=lambda: now[0])
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(container.engine, "before_cursor_execute", count)
    try:
        assert [r.id for r in queries.rooms()] == ["102", "201"]
        read = len(statements)
        assert [r.id for r in queries.rooms()] == ["102", "201"]
        assert [r.id for r in queries.rooms(include_inactive=True)] == ["102", "201"]
        assert len(statements) == read  # nothing read again

        container.bus.handle(c.UpdateRoom("201", by="cli", active=False))
        assert [r.id for r in queries.rooms()] == ["102"]
        assert [r.id for r in queries.rooms(include_inactive=True)] == ["102", "201"]
        add_rooms(container.bus, "301")
        assert [r.id for r in queries.rooms()] == ["102", "301"]

        with container.engine.begin() as conn:  # another process (the CLI) renames a room
            conn.execute(update(orm.rooms).where(orm.rooms.c.id == "102").values(name="Atrium"))
        assert queries.rooms()[0].name == "Room 102"
        now[0] += ROOMS_FRESH_SECONDS + 1
        assert queries.rooms()[0].name == "Atrium"
    finally:
        event.remove(container.engine, "before_cursor_execute", count)
