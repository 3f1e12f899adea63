"""What the service layer needs from storage.

SQL implementations live in ``bot.adapters``; unit tests use in-memory fakes of the same shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from bot.domain.events import Event
from bot.domain.model import Approval, Booking, BookingStatus, Room, Series, WaitlistEntry


class Channel(StrEnum):
    """Where an outbox row is delivered.

    ``dm`` and ``email`` carry a message about one event to one person. ``card`` and ``home`` are
    renderings of *current* state (the approval card in the approvals channel, a user's App Home),
    so the dispatcher renders them when it sends, and repeats or reordering do no harm.
    """

    DM = "dm"
    EMAIL = "email"
    CARD = "card"
    HOME = "home"


@dataclass(frozen=True)
class OutboxMessage:
    """A delivery to make. ``due`` is when it may first be sent: the time of its event, from the
    same clock the dispatcher claims by. ``event_id`` is None for a refresh someone asked for
    (a Home tab opened), which no event caused."""

    event_id: str | None
    channel: Channel
    recipient: str
    payload: dict[str, Any]
    due: datetime


@dataclass(frozen=True)
class BookingRow:
    """A row of the read model (``booking_list``): all a list or card shows, no joins."""

    booking_id: int
    room_id: str
    room_name: str
    starts_at: datetime
    ends_at: datetime
    booker: str
    title: str
    status: BookingStatus
    requested_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    cancelled_by: str | None = None
    #: The calendar SEQUENCE of the booking's invite (see :attr:`Booking.sequence`).
    sequence: int = 0
    #: The last change, and the booking as it was before it (``None`` if never changed).
    changed_at: datetime | None = None
    was_room_id: str | None = None
    was_room_name: str | None = None
    was_starts_at: datetime | None = None
    was_ends_at: datetime | None = None
    was_title: str | None = None
    checked_in_at: datetime | None = None
    policy: str | None = None
    series_id: int | None = None
    recurrence_id: datetime | None = None


@dataclass(frozen=True)
class SeriesRow:
    """A recurring series as its approval card shows it: the request (its rule, the zone its
    wall-clock times repeat in, its first slot by the rule) and the read-model rows of its
    occurrences, earliest first. ``skipped``: the rule's dates that have no occurrence (they
    were taken when the series was requested)."""

    series_id: int
    room_id: str
    room_name: str
    booker: str
    title: str
    rule: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    requested_at: datetime
    occurrences: tuple[BookingRow, ...] = ()
    skipped: tuple[datetime, ...] = ()
    ended_at: datetime | None = None
    end_reason: str | None = None

    @property
    def anchor(self) -> int:
        """The booking id the series' card is kept under: its first occurrence's (the lowest
        id, which never changes), so one card per series reuses the cards' bookkeeping."""
        return min(o.booking_id for o in self.occurrences)


@dataclass(frozen=True, slots=True)
class RoomRow:
    """A room as the read side shows it (the booking form, room lists). Plain data: building
    the mapped :class:`Room` aggregate for every room on every form costs more than the query."""

    id: str
    name: str
    capacity: int
    active: bool
    location: str = ""
    tags: tuple[str, ...] = ()
    auto_approve: bool = False
    auto_approve_groups: tuple[str, ...] = ()
    approvers: tuple[str, ...] = ()
    feed_details: bool = False
    #: Minutes after the start in which the booker checks in; ``None``: no check-in.
    checkin_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class FreeRoom:
    """A room free for a whole window, and until when (``None``: no booking ahead of it)."""

    room: RoomRow
    free_until: datetime | None


class RoomRepository(Protocol):
    def get(self, room_id: str, *, to_book: bool = False) -> Room | None:
        """``to_book``: the transaction goes on to check the room's slots, so the read may take
        the lock those checks queue on in the database, in the same statement."""

    def add(self, room: Room) -> None: ...
    def list(self, *, include_inactive: bool = False) -> list[Room]: ...


class BookingRepository(Protocol):
    seen: set[Booking]

    def add(self, booking: Booking) -> None:
        """Store a new booking and give it its id. If the database refuses an overlap that the
        in-transaction check could not see (another process won), the error it raises is one
        the unit of work calls retryable."""

    def get(self, booking_id: int) -> Booking | None:
        """Load a booking locked for the rest of the transaction, so two decisions serialise."""

    def conflicts(
        self,
        room_id: str,
        starts_at: datetime,
        ends_at: datetime,
        *,
        excluding: int | None = None,
    ) -> list[Booking]:
        """Bookings of the room holding any part of ``[starts_at, ends_at)``, earliest first,
        leaving out the booking ``excluding`` (one being changed is no conflict of its own).
        Pending changes of this transaction are not written first: a changed booking's new slot
        is checked here before the database sees it."""

    def pending_started(self, now: datetime) -> list[Booking]: ...

    def unattended(self, now: datetime) -> list[tuple[Booking, timedelta]]:
        """Approved bookings under way, not checked in, in a room with check-in whose window
        has passed, each with that window; locked, skipping rows another worker holds."""

    def held_by(self, booker: str, since: datetime, until: datetime) -> list[Booking]:
        """The booker's active bookings starting in ``[since, until)`` (for weekly quotas)."""

    def upcoming_of(self, booker: str, now: datetime) -> list[Booking]:
        """The booker's bookings holding a slot that starts at ``now`` or later, earliest
        first, locked for this transaction."""

    def reminders_due(self, now: datetime, lead: timedelta) -> list[Booking]:
        """Approved, not yet reminded bookings starting in ``[now, now + lead]``."""

    def overdue_requests(self, requested_before: datetime) -> list[Booking]:
        """Pending, not yet nudged requests made before the given instant."""


class SeriesRepository(Protocol):
    def add(self, series: Series) -> None:
        """Store a new series; gives it its id."""

    def get(self, series_id: int) -> Series | None: ...

    def occurrences(self, series_id: int) -> list[Booking]:
        """Every booking of the series, locked for this transaction, earliest first."""


class WaitlistRepository(Protocol):
    seen: set[WaitlistEntry]

    def add(self, entry: WaitlistEntry) -> None: ...

    def get(self, entry_id: int) -> WaitlistEntry | None:
        """Load an entry locked for the rest of the transaction."""

    def waiting(self, room_id: str, starts_at: datetime, ends_at: datetime) -> list[WaitlistEntry]:
        """Entries of the room overlapping the slot, waiting or offered, first come first."""

    def lapsed(self, now: datetime) -> list[WaitlistEntry]:
        """Offers whose time ran out, locked, skipping rows another worker holds."""

    def of_user(self, user: str) -> list[WaitlistEntry]:
        """The user's entries still waiting or holding an offer, locked."""


class GroupMembers(Protocol):
    """Who is in a Slack user group (``usergroups.users.list``), cached by the adapter."""

    def members(self, group_id: str) -> frozenset[str] | None:
        """The group's user ids; ``None`` if Slack could not be asked (treated as not a member,
        so an outage only means that an admin decides, as without the policy)."""


class NoGroups:
    """No Slack to ask (the CLI, unit tests without groups): nobody is in any group."""

    def members(self, group_id: str) -> frozenset[str] | None:
        return frozenset()


@dataclass(frozen=True)
class Reader:
    """How one person reads a notice: the name of their time zone and their language."""

    tz: str
    locale: str


class KnownReaders(Protocol):
    """People whose zone and language this process already knows (the ``users.info`` cache of
    the listeners that just served them). Policies put that on the notices they write, so the
    DM goes out without asking Slack again; nothing here asks Slack."""

    def known(self, user: str) -> Reader | None:
        """The user's zone (their own, not a fallback) and language, or ``None``."""


class NoReaders:
    """Nobody known (the CLI, unit tests): the senders ask the directory."""

    def known(self, user: str) -> Reader | None:
        return None


class ApprovalRepository(Protocol):
    def get(self, booking_id: int) -> Approval | None: ...
    def add(self, approval: Approval) -> None: ...
    def delete(self, booking_id: int) -> None: ...


class EventLog(Protocol):
    def append(self, event: Event) -> None: ...

    def contains(self, event_id: str) -> bool:
        """The event was recorded (committed, or appended in this transaction)."""


class BookingList(Protocol):
    def add(self, row: BookingRow) -> None: ...
    def upsert(self, row: BookingRow) -> None: ...
    def get(self, booking_id: int) -> BookingRow | None: ...


class MemberChanges(Protocol):
    def add(self, user: str, deleted: bool, at: datetime) -> None:
        """Slack said ``user``'s profile changed (or they were deactivated, ``deleted``), for
        every process's users.info cache to hear."""


class Outbox(Protocol):
    def add(self, messages: Sequence[OutboxMessage]) -> None: ...

    def skip_pending(
        self, recipient: str, channels: Sequence[Channel], reason: str, now: datetime
    ) -> int:
        """Never send the rows of ``channels`` to ``recipient`` still waiting to be sent (not
        those being sent right now): skipped, with ``reason``. Returns how many."""
