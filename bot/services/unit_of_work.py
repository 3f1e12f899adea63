"""The unit of work: one database transaction, rolled back unless committed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Self

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.events import Event
from bot.services.ports import (
    ApprovalRepository,
    BookingList,
    BookingRepository,
    EventLog,
    MemberChanges,
    Outbox,
    RoomRepository,
    SeriesRepository,
    WaitlistRepository,
)

#: serialization_failure, deadlock_detected, and exclusion_violation (another transaction
#: committed an overlapping booking after this one checked; the rerun's check will see it)
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "23P01"})


class AbstractUnitOfWork:
    rooms: RoomRepository
    bookings: BookingRepository
    approvals: ApprovalRepository
    event_log: EventLog
    booking_list: BookingList
    outbox: Outbox
    member_changes: MemberChanges
    waitlist: WaitlistRepository
    series: SeriesRepository

    def __enter__(self) -> Self:
        self.recorded: list[Event] = []
        return self

    def record(self, event: Event) -> None:
        """An event of the use case itself, not of one aggregate (someone left the workspace):
        its policies run in this transaction like those of the aggregates' events."""
        self.recorded.append(event)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

    def is_retryable(self, error: BaseException) -> bool:
        """True if the transaction failed only because of another one, and may simply be rerun."""
        return False

    def collect_new_events(self) -> Iterator[Event]:
        """Take the events the touched aggregates recorded, with the booking id now known."""
        for booking in self.bookings.seen:
            while booking.events:
                event = booking.events.pop(0)
                if event.booking_id == 0 and booking.id is not None:
                    event = dataclasses.replace(event, booking_id=booking.id)
                yield event
        waitlist = getattr(self, "waitlist", None)  # storage without a waitlist has no entries
        for entry in waitlist.seen if waitlist is not None else ():
            while entry.events:
                yield entry.events.pop(0)
        recorded = getattr(self, "recorded", [])
        while recorded:
            yield recorded.pop(0)


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
        self._committed = False

    def __enter__(self) -> Self:
        # Imported here so that importing the service layer never needs the adapters' mappers.
        from bot.adapters import repositories

        self.session = self._session_factory()
        self.rooms = repositories.SqlRoomRepository(self.session)
        self.bookings = repositories.SqlBookingRepository(self.session)
        self.approvals = repositories.SqlApprovalRepository(self.session)
        self.event_log = repositories.SqlEventLog(self.session)
        self.booking_list = repositories.SqlBookingList(self.session)
        self.outbox = repositories.SqlOutbox(self.session)
        self.member_changes = repositories.SqlMemberChanges(self.session)
        self.waitlist = repositories.SqlWaitlist(self.session)
        self.series = repositories.SqlSeriesRepository(self.session, self.bookings)
        return super().__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            super().__exit__(exc_type, exc, tb)
        finally:
            self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def is_retryable(self, error: BaseException) -> bool:
        # PostgreSQL aborts one of two transactions that wait for each other (for example
        # both checking the exclusion constraint against the other's new row): it lost a
        # race, not the argument, so it is rerun and then sees the winner's committed row.
        return isinstance(error, DBAPIError) and getattr(error.orig, "sqlstate", None) in (
            RETRYABLE_SQLSTATES
        )


UnitOfWorkFactory = Callable[[], AbstractUnitOfWork]
