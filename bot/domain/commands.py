"""Commands: what someone asks the system to do. ``by`` is always the Slack user id of the actor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.recurrence import Repeat


@dataclass(frozen=True)
class Command:
    pass


@dataclass(frozen=True)
class RequestBooking(Command):
    room_id: str
    starts_at: datetime
    ends_at: datetime
    by: str
    title: str = ""


@dataclass(frozen=True)
class RequestSeries(Command):
    """Request the free occurrences of a recurring slot as one series; taken ones are skipped.
    ``starts_at``/``ends_at`` are the first slot; ``timezone`` is the zone its wall-clock time
    repeats in."""

    room_id: str
    starts_at: datetime
    ends_at: datetime
    by: str
    repeat: Repeat
    timezone: str
    title: str = ""


@dataclass(frozen=True)
class PreviewSeries(Command):
    """Which occurrences of a series request are free and which are taken; holds nothing."""

    request: RequestSeries


@dataclass(frozen=True)
class ApproveSeries(Command):
    """Approve every pending occurrence of a series, in one transaction."""

    series_id: int
    by: str


@dataclass(frozen=True)
class DenySeries(Command):
    series_id: int
    by: str
    reason: str | None = None


@dataclass(frozen=True)
class CancelOccurrence(Command):
    """Cancel one occurrence of a series or, with ``following``, it and all later ones (which
    ends the series)."""

    booking_id: int
    by: str
    following: bool = False


@dataclass(frozen=True)
class ApproveBooking(Command):
    booking_id: int
    by: str


@dataclass(frozen=True)
class DenyBooking(Command):
    booking_id: int
    by: str
    reason: str | None = None


@dataclass(frozen=True)
class CancelBooking(Command):
    """``reason``: an admin's words to the booker, sent with the cancellation."""

    booking_id: int
    by: str
    reason: str | None = None


@dataclass(frozen=True)
class ChangeBooking(Command):
    """Reschedule, extend, shorten, move or retitle a booking; ``None`` keeps a field as it is."""

    booking_id: int
    by: str
    room_id: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    title: str | None = None


@dataclass(frozen=True)
class EndBooking(Command):
    """End a booking in progress now, freeing the rest of its slot."""

    booking_id: int
    by: str


@dataclass(frozen=True)
class CheckIn(Command):
    """The booker is in the room: a booking in a room with check-in is not auto-released."""

    booking_id: int
    by: str


@dataclass(frozen=True)
class ReleaseBooking(Command):
    """The booker gives the room of an approved booking back (the reminder's Release)."""

    booking_id: int
    by: str


@dataclass(frozen=True)
class ReleaseDeparted(Command):
    """Someone left the workspace: take them off every waitlist, cancel their upcoming
    bookings, stop what was still to be sent to them, and tell the admins, once.

    ``quiet``: the admins are told only when it matters to them (bookings were freed, or the
    person approves rooms or is an admin). Slack's ``user_change`` says so of every member
    deactivated, most of whom never booked a room."""

    user: str
    by: str = "system"
    quiet: bool = False


@dataclass(frozen=True)
class NoteMemberChange(Command):
    """Slack said a member's profile changed, or that they were deactivated (``deleted``):
    recorded, so the users.info cache of every process (a worker sending notifications) hears
    it, not only the one that received the event."""

    user: str
    deleted: bool = False


@dataclass(frozen=True)
class ReportApprovalsChannel(Command):
    """Slack refuses approval cards in ``channel`` with ``error`` (``not_in_channel``...):
    tell the admins what to do, once for that channel and error."""

    channel: str
    error: str
    by: str = "system"


@dataclass(frozen=True)
class ReleaseUnattended(Command):
    """Release every booking in a check-in room whose window passed without a check-in."""

    by: str = "system"


@dataclass(frozen=True)
class JoinWaitlist(Command):
    """Ask to be told when a taken slot frees up."""

    room_id: str
    starts_at: datetime
    ends_at: datetime
    by: str
    title: str = ""


@dataclass(frozen=True)
class ClaimOffer(Command):
    """Book it: request the slot a waitlist offer is for."""

    entry_id: int
    by: str


@dataclass(frozen=True)
class LapseOffers(Command):
    """Offers nobody took in time pass to the next person waiting."""

    by: str = "system"


@dataclass(frozen=True)
class ExpirePending(Command):
    """Expire every request whose start has passed without a decision."""

    by: str = "system"


@dataclass(frozen=True)
class SendReminders(Command):
    """Remind bookers of approved bookings that start within the reminder lead time."""

    by: str = "system"


@dataclass(frozen=True)
class NudgeAdmins(Command):
    """Tell admins about requests that have waited too long for a decision."""

    by: str = "system"


@dataclass(frozen=True)
class AddRoom(Command):
    room_id: str
    name: str
    capacity: int
    by: str
    location: str = ""
    tags: tuple[str, ...] = ()
    auto_approve: bool = False
    auto_approve_groups: tuple[str, ...] = ()
    approvers: tuple[str, ...] = ()
    feed_details: bool = False
    #: Minutes of the room's check-in window; ``None`` (or 0): no check-in.
    checkin_minutes: int | None = None


@dataclass(frozen=True)
class UpdateRoom(Command):
    """Change what is given; ``None`` leaves a field as it is."""

    room_id: str
    by: str
    name: str | None = None
    capacity: int | None = None
    active: bool | None = None
    #: Minutes of the room's check-in window; 0 turns check-in off, ``None`` keeps it.
    checkin_minutes: int | None = None
    location: str | None = None
    tags: tuple[str, ...] | None = None
    auto_approve: bool | None = None
    auto_approve_groups: tuple[str, ...] | None = None
    approvers: tuple[str, ...] | None = None
    feed_details: bool | None = None


@dataclass(frozen=True)
class DeactivateRoom(Command):
    room_id: str
    by: str


@dataclass(frozen=True)
class RefreshHome(Command):
    """Publish a user's App Home again (they opened it, or paged a list with "Show more");
    ``pages`` says how many pages of each list to show."""

    user: str
    pages: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RefreshCard(Command):
    """Bring a booking's approval card up to date (someone clicked a stale one)."""

    booking_id: int
