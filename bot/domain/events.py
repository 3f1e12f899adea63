"""Events: facts the aggregates record. Policies react to them inside the same transaction."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from uuid import uuid4


def _new_id() -> str:
    return uuid4().hex


@dataclass(frozen=True, kw_only=True)
class Event:
    booking_id: int
    actor: str
    at: datetime
    event_id: str = field(default_factory=_new_id)

    @property
    def name(self) -> str:
        return type(self).__name__


@dataclass(frozen=True, kw_only=True)
class BookingRequested(Event):
    """``policy`` is set when a policy approves the request on creation; a
    :class:`BookingApproved` with the same policy follows in the same transaction."""

    room_id: str
    starts_at: datetime
    ends_at: datetime
    title: str
    policy: str | None = None
    #: The series the booking is an occurrence of, and its start in the series' rule.
    series_id: int | None = None
    recurrence_id: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class SeriesEvent(Event):
    """Something that happened to a recurring series as a whole (its occurrences record their
    own events too). ``booking_id``: the occurrence it happened through, or the first."""

    series_id: int
    booker: str
    room_id: str


@dataclass(frozen=True, kw_only=True)
class SeriesRequested(SeriesEvent):
    """A recurring series was requested: one request for its ``held`` free dates (occurrence
    rows, each with its own :class:`BookingRequested`), the taken ones skipped. ``policy`` is set
    when a policy approved it on creation."""

    held: int
    policy: str | None = None


@dataclass(frozen=True, kw_only=True)
class SeriesApproved(SeriesEvent):
    """Someone approved a series as one: its ``approved`` pending occurrences."""

    approved: int


@dataclass(frozen=True, kw_only=True)
class SeriesDenied(SeriesEvent):
    """Someone denied a series as one: its ``denied`` pending occurrences."""

    denied: int
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class SeriesExpired(SeriesEvent):
    """``expired`` pending occurrences of a series started undecided and expired at once (the
    scheduler found several due in one run); ``booking_id``: the first of them."""

    expired: int


@dataclass(frozen=True, kw_only=True)
class SeriesEnded(SeriesEvent):
    """A series stopped: cancelled from an occurrence on (``cancelled``), or ``released``
    (its occurrences were released too many times in a row). ``booking_id``: the occurrence
    that ended it."""

    reason: str
    cancelled: int


@dataclass(frozen=True, kw_only=True)
class BookingApproved(Event):
    """``sequence``: the calendar SEQUENCE of the invite it sends (higher after a change).
    ``policy`` names the rule that approved it on creation (``actor`` is then ``policy``);
    ``None`` for a person's decision. Recorded once: a later change of policy leaves it be."""

    sequence: int = 0
    policy: str | None = None
    #: Part of one act on a whole series, which its own series event tells people about.
    whole_series: bool = False


@dataclass(frozen=True, kw_only=True)
class BookingDenied(Event):
    """``was_approved``: an earlier approval sent an invite (the booking then changed and went
    back to pending), which the denial withdraws."""

    reason: str | None = None
    was_approved: bool = False
    sequence: int = 0
    whole_series: bool = False


@dataclass(frozen=True, kw_only=True)
class BookingCancelled(Event):
    """``was_approved`` tells notification whether an invite went out and must be withdrawn
    (the booking is approved, or was before a change sent it back to pending)."""

    was_approved: bool
    by_admin: bool = False
    sequence: int = 0
    #: Why: a code (:data:`bot.domain.model.LEFT_WORKSPACE`) or an admin's words; ``None``:
    #: someone chose to and said nothing.
    reason: str | None = None
    whole_series: bool = False


@dataclass(frozen=True, kw_only=True)
class BookingExpired(Event):
    #: One of several dates of its series expiring at once, which the series' event tells.
    whole_series: bool = False


@dataclass(frozen=True, kw_only=True)
class BookingChanged(Event):
    """The slot or title of an active booking changed (reschedule, extend, shorten, end now).

    The ``was_*`` fields keep the booking as it was, so the card can show old -> new.
    ``needs_approval`` says an approved booking went back to pending (it moved, grew or changed
    room); ``was_approved`` that a calendar invite went out earlier; ``ended_early`` that the
    booker freed the rest of a booking in progress; ``sequence`` is the booking's calendar
    SEQUENCE after the change.
    """

    room_id: str
    starts_at: datetime
    ends_at: datetime
    title: str
    was_room_id: str
    was_starts_at: datetime
    was_ends_at: datetime
    was_title: str
    was_approved: bool
    needs_approval: bool
    ended_early: bool = False
    sequence: int = 0


@dataclass(frozen=True, kw_only=True)
class BookingCheckedIn(Event):
    """The booker confirmed the meeting is happening: the room will not be auto-released."""


@dataclass(frozen=True, kw_only=True)
class BookingReleased(Event):
    """An approved booking gave its room back: nobody checked in within the window
    (``automatic``), or the booker released it. Its invite is withdrawn."""

    automatic: bool
    sequence: int = 0


@dataclass(frozen=True, kw_only=True)
class WaitlistOffered(Event):
    """A slot someone waited for is free: they get a one-click offer until ``expires_at``.
    ``booking_id`` is the booking whose end freed the slot."""

    entry_id: int
    user: str
    room_id: str
    starts_at: datetime
    ends_at: datetime
    title: str
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class WaitlistLapsed(Event):
    """An offer was not taken in time: the slot passes to the next person waiting."""

    entry_id: int
    room_id: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, kw_only=True)
class BookingReminderDue(Event):
    """An approved booking starts soon; its booker gets one reminder."""

    starts_in_minutes: int


@dataclass(frozen=True, kw_only=True)
class ApprovalOverdue(Event):
    """A request has waited longer than admins promised to answer; they get one nudge."""

    waiting_minutes: int


def member_left_id(user: str, first_released: int | None = None) -> str:
    """The event id of ``user`` leaving the workspace: what is done about it (their bookings
    released, the admins told) is done once, however often Slack says it again. After they came
    back and left again, the id names the first booking that later release freed."""
    if first_released is None:
        return f"left-{user}"[:32]
    return f"left-{user}-{first_released}"[:32]


@dataclass(frozen=True, kw_only=True)
class MemberLeft(Event):
    """A person left the workspace (Slack says their account is deleted or unknown); their
    upcoming bookings ``released`` were cancelled. About no one booking: ``booking_id`` is 0.
    ``approver_of``: the rooms they approved requests for by name; ``through_groups``: (room,
    user group) where they approved as a member of one of the room's approver groups;
    ``admin``: ADMIN_USER_IDS names them. These are for the admins to fix, as roombot cannot.
    ``no_approver_left``: those rooms that have no approver of their own any more (only admins
    decide them); ``stranded``: the rooms nobody may decide for now (no admin is left either).
    """

    user: str
    released: tuple[int, ...] = ()
    approver_of: tuple[str, ...] = ()
    admin: bool = False
    through_groups: tuple[tuple[str, str], ...] = ()
    no_approver_left: tuple[str, ...] = ()
    stranded: tuple[str, ...] = ()


def approvals_channel_id(channel: str, error: str) -> str:
    """The one event id of the approvals channel refusing cards with ``error``: the admins are
    told once, however many cards meet it and however many workers try them."""
    return "approvals-" + hashlib.sha256(f"{channel}/{error}".encode()).hexdigest()[:22]


@dataclass(frozen=True, kw_only=True)
class ApprovalsChannelUnusable(Event):
    """Slack refuses approval cards in ``channel`` (``error``: ``not_in_channel``,
    ``channel_not_found``, ``is_archived``). About no one booking: ``booking_id`` is 0."""

    channel: str
    error: str


BOOKING_EVENTS: tuple[type[Event], ...] = (
    BookingRequested,
    BookingApproved,
    BookingDenied,
    BookingCancelled,
    BookingExpired,
    BookingChanged,
    BookingReleased,
)
