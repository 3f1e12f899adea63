"""Use cases (one handler per command) and policies (handlers reacting to events).

Both run inside the single transaction that :class:`~bot.services.messagebus.MessageBus` opens for a
command, so a booking, its approval record, its read-model row and its outbox rows are committed
together or not at all.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain import commands, events
from bot.domain.errors import (
    Conflict,
    DuplicateRoom,
    InvalidBooking,
    InvalidTransition,
    NotAllowed,
    RoomUnavailable,
    UnknownBooking,
    UnknownRoom,
)
from bot.domain.model import (
    LEFT_WORKSPACE,
    POLICY_ACTOR,
    Approval,
    ApprovalStatus,
    Booking,
    BookingStatus,
    Room,
    Series,
    WaitlistEntry,
    WaitlistStatus,
    typed_reason,
)
from bot.domain.recurrence import occurrences
from bot.domain.rules import (
    BookingLimits,
    Quota,
    check_quota,
    is_id,
    overlaps,
    printable,
    validate_request,
    week_of,
)
from bot.notifications.notice import (
    CardRefresh,
    ChannelProblem,
    Departure,
    HomeRefresh,
    Notice,
    SeriesPart,
    Unattended,
)
from bot.services.ports import (
    BookingRow,
    Channel,
    GroupMembers,
    KnownReaders,
    NoGroups,
    NoReaders,
    OutboxMessage,
    RoomRow,
)
from bot.services.unit_of_work import AbstractUnitOfWork

log = logging.getLogger(__name__)

#: Actors that are not Slack users: the operator's shell and the scheduler. Slack user ids are
#: upper-case (``U0123ABC``), so these can never be claimed by a Slack user.
OPERATOR_ACTORS = frozenset({"cli", "system"})

#: The recipient of approval-card rows: the dispatcher resolves it to APPROVALS_CHANNEL.
APPROVALS = "approvals"

#: The channels that reach one person (not the approvals channel): nothing more goes out on
#: them to someone who left the workspace.
PERSONAL_CHANNELS = (Channel.DM, Channel.EMAIL, Channel.HOME)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Context:
    """What handlers need besides the unit of work: the clock, the limits, who the admins are,
    and the policies: user groups approved on request in every room, the weekly quota and the
    zone its weeks are counted in, and where to learn who is in a Slack user group."""

    admins: frozenset[str] = frozenset()
    limits: BookingLimits = field(default_factory=BookingLimits)
    clock: Callable[[], datetime] = _utcnow
    reminder_lead: timedelta = timedelta(minutes=10)
    #: How long a waitlist offer stays open before it passes to the next person.
    offer_for: timedelta = timedelta(minutes=15)
    nudge_after: timedelta = timedelta(hours=2)
    auto_approve_groups: tuple[str, ...] = ()
    quota: Quota = field(default_factory=Quota)
    week_zone: tzinfo = UTC
    groups: GroupMembers = field(default_factory=NoGroups)
    #: Whose zone and language the booker's notices can carry (see ``notify``).
    readers: KnownReaders = field(default_factory=NoReaders)
    #: A series whose occurrences are released this many times in a row is ended (0: never).
    series_release_limit: int = 3

    def is_admin(self, user: str) -> bool:
        return user in self.admins or user in OPERATOR_ACTORS

    def require_admin(self, user: str, doing: str) -> None:
        if not self.is_admin(user):
            raise NotAllowed(
                f"Only admins can {doing}.", code="admins_only", params={"doing": doing}
            )

    def in_group(self, user: str, group_id: str) -> bool:
        return user in (self.groups.members(group_id) or frozenset())

    def may_decide(self, user: str, room: Room | RoomRow | None) -> bool:
        """Admins decide every request; a room's approvers (users, or members of user groups)
        decide that room's."""
        if self.is_admin(user):
            return True
        approvers = room.approvers if room is not None else ()
        return user in approvers or any(
            self.in_group(user, a) for a in approvers if a.startswith("S")
        )

    def auto_approval(self, room: Room, booker: str) -> str | None:
        """The policy that approves this booker's request for this room on creation, if any:
        ``room`` (the room approves every request) or ``group:<id>`` (the booker is in a user
        group approved for the room, or for every room)."""
        if room.auto_approve:
            return "room"
        for group in (*room.auto_approve_groups, *self.auto_approve_groups):
            if self.in_group(booker, group):
                return f"group:{group}"
        return None


# --- use cases -----------------------------------------------------------------------------------


def _room(uow: AbstractUnitOfWork, room_id: str, *, to_book: bool = False) -> Room:
    """The room, or UnknownRoom; an id no room could have is not looked up (a database refuses
    NUL in text, and ids are short). ``to_book``: its slots are checked next."""
    valid = len(room_id) <= 32 and printable(room_id)
    room = uow.rooms.get(room_id, to_book=to_book) if valid else None
    if room is None:
        raise UnknownRoom(
            f"There is no room {room_id!r}.",
            code="unknown_room",
            params={"room_id": room_id},
        )
    return room


def request_booking(cmd: commands.RequestBooking, uow: AbstractUnitOfWork, ctx: Context) -> int:
    room = _room(uow, cmd.room_id, to_book=True)
    room.ensure_bookable()
    booking = Booking.request(
        room=room,
        starts_at=cmd.starts_at,
        ends_at=cmd.ends_at,
        booker=cmd.by,
        title=cmd.title,
        now=ctx.clock(),
        limits=ctx.limits,
        policy=ctx.auto_approval(room, cmd.by),
    )
    taken = uow.bookings.conflicts(room.id, booking.starts_at, booking.ends_at)
    if taken:
        raise RoomUnavailable(room.id, conflict_of(_theirs_first(taken, cmd.by)), by=cmd.by)
    _check_quota(uow, ctx, booking, cmd.by)
    uow.bookings.add(booking)
    assert booking.id is not None
    return booking.id


def _check_quota(
    uow: AbstractUnitOfWork, ctx: Context, booking: Booking, by: str, *, count: bool = True
) -> None:
    """Refuse ``booking`` (new, or as a change leaves it) if it takes its booker past the weekly
    quota of the week it starts in; it is not counted twice when it is already stored, and
    ``count=False`` checks the hours only (a booking that stays in its week adds no booking).
    Admins acting are exempt. The booker's week is read behind a lock on them (``held_by``)."""
    quota = ctx.quota if count else dataclasses.replace(ctx.quota, bookings=0)
    if not quota.enabled or ctx.is_admin(by):
        return
    since, until = week_of(booking.starts_at, ctx.week_zone)
    held = [
        (b.starts_at, b.ends_at)
        for b in uow.bookings.held_by(booking.booker, since, until)
        if booking.id is None or b.id != booking.id
    ]
    check_quota(quota, held, booking.starts_at, booking.ends_at)


def _theirs_first(taken: list[Booking], by: str) -> Booking:
    """The conflict to tell ``by`` about: someone else's booking if one is in the way, since
    that is what they would wait for; their own only when nobody else's is."""
    return next((b for b in taken if b.booker != by), taken[0])


@dataclass(frozen=True)
class Occurrence:
    """One date of a series as the preview shows it: free, or held by ``conflict``."""

    starts_at: datetime
    ends_at: datetime
    conflict: Conflict | None = None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidBooking(
            f"{name!r} is not a time zone.", field="start", code="unknown_zone", params={}
        ) from error


def preview_series(
    query: commands.PreviewSeries, uow: AbstractUnitOfWork, ctx: Context
) -> list[Occurrence]:
    """Every occurrence of the series the command asks for, free or taken (and by whom); the
    same checks as the request, nothing held."""
    cmd = query.request
    room = _room(uow, cmd.room_id, to_book=True)
    room.ensure_bookable()
    now = ctx.clock()
    validate_request(
        starts_at=cmd.starts_at, ends_at=cmd.ends_at, title=cmd.title, now=now, limits=ctx.limits
    )
    _rule, slots = occurrences(
        cmd.repeat,
        cmd.starts_at,
        cmd.ends_at,
        _zone(cmd.timezone),
        now=now,
        horizon=ctx.limits.horizon,
    )
    found: list[Occurrence] = []
    for starts_at, ends_at in slots:
        taken = uow.bookings.conflicts(room.id, starts_at, ends_at)
        conflict = conflict_of(_theirs_first(taken, cmd.by)) if taken else None
        found.append(Occurrence(starts_at, ends_at, conflict))
    return found


def request_series(cmd: commands.RequestSeries, uow: AbstractUnitOfWork, ctx: Context) -> int:
    """One request for every free occurrence, in one transaction: the series row and a booking
    row per occurrence (so each holds its own slot); taken dates are skipped, and a series
    with no free date at all is refused with who holds the first."""
    room = _room(uow, cmd.room_id, to_book=True)
    room.ensure_bookable()
    now = ctx.clock()
    zone = _zone(cmd.timezone)
    title = " ".join(cmd.title.split())
    validate_request(
        starts_at=cmd.starts_at, ends_at=cmd.ends_at, title=title, now=now, limits=ctx.limits
    )
    rule, slots = occurrences(
        cmd.repeat, cmd.starts_at, cmd.ends_at, zone, now=now, horizon=ctx.limits.horizon
    )
    series = Series(
        room_id=room.id,
        booker=cmd.by,
        title=title,
        rule=rule,
        timezone=cmd.timezone,
        starts_at=slots[0][0],
        ends_at=slots[0][1],
        requested_at=now.astimezone(UTC),
    )
    uow.series.add(series)
    assert series.id is not None
    policy = ctx.auto_approval(room, cmd.by)
    in_the_way: list[Booking] = []
    held: list[Booking] = []
    for starts_at, ends_at in slots:
        taken = uow.bookings.conflicts(room.id, starts_at, ends_at)
        if taken:
            in_the_way.extend(taken)
            continue
        booking = Booking.request(
            room=room,
            starts_at=starts_at,
            ends_at=ends_at,
            booker=cmd.by,
            title=title,
            now=now,
            limits=ctx.limits,
            policy=policy,
            series_id=series.id,
        )
        _check_quota(uow, ctx, booking, cmd.by)
        uow.bookings.add(booking)
        held.append(booking)
    if not held:
        assert in_the_way
        raise RoomUnavailable(room.id, conflict_of(_theirs_first(in_the_way, cmd.by)), by=cmd.by)
    held[0].events.append(
        events.SeriesRequested(
            booking_id=held[0].id or 0,
            actor=cmd.by,
            at=series.requested_at,
            series_id=series.id,
            booker=cmd.by,
            room_id=room.id,
            held=len(held),
            policy=policy,
        )
    )
    return series.id


def _series(uow: AbstractUnitOfWork, series_id: int) -> Series:
    series = uow.series.get(series_id) if is_id(series_id) else None
    if series is None:
        raise UnknownBooking(
            f"There is no series #{series_id}.",
            code="unknown_series",
            params={"series_id": series_id},
        )
    return series


def _pending_occurrences(
    uow: AbstractUnitOfWork, ctx: Context, series_id: int, by: str
) -> tuple[Series, list[Booking]]:
    series = _series(uow, series_id)
    _check_may_decide(uow, ctx, series.room_id, by)
    occurrences = uow.series.occurrences(series_id)
    return series, [b for b in occurrences if b.status == BookingStatus.PENDING]


def approve_series(cmd: commands.ApproveSeries, uow: AbstractUnitOfWork, ctx: Context) -> int:
    """Approve the series as one: every occurrence still pending, in one transaction, told
    once (:class:`events.SeriesApproved`). 0: nothing was pending (a repeat is a no-op)."""
    now = ctx.clock()
    series, pending = _pending_occurrences(uow, ctx, cmd.series_id, cmd.by)
    for booking in pending:
        booking.approve(cmd.by, now, whole_series=True)
    if pending:
        pending[0].events.append(
            events.SeriesApproved(
                booking_id=pending[0].id or 0,
                actor=cmd.by,
                at=now.astimezone(UTC),
                series_id=cmd.series_id,
                booker=series.booker,
                room_id=series.room_id,
                approved=len(pending),
            )
        )
    return len(pending)


def deny_series(cmd: commands.DenySeries, uow: AbstractUnitOfWork, ctx: Context) -> int:
    """Deny the series as one, told once (:class:`events.SeriesDenied`)."""
    reason = _typed(cmd.reason)
    now = ctx.clock()
    series, pending = _pending_occurrences(uow, ctx, cmd.series_id, cmd.by)
    for booking in pending:
        booking.deny(cmd.by, now, reason, whole_series=True)
    if pending:
        pending[0].events.append(
            events.SeriesDenied(
                booking_id=pending[0].id or 0,
                actor=cmd.by,
                at=now.astimezone(UTC),
                series_id=cmd.series_id,
                booker=series.booker,
                room_id=series.room_id,
                denied=len(pending),
                reason=pending[0].reason,
            )
        )
    return len(pending)


def cancel_occurrence(cmd: commands.CancelOccurrence, uow: AbstractUnitOfWork, ctx: Context) -> int:
    """Cancel one occurrence, or it and every later one (the series then ends). Returns how
    many were cancelled; occurrences already over or closed are left as they are."""
    booking = _booking(uow, cmd.booking_id)
    now = ctx.clock()
    is_admin = ctx.is_admin(cmd.by)
    if booking.series_id is None or not cmd.following:
        booking.cancel(cmd.by, now, is_admin=is_admin)
        return 1
    series = _series(uow, booking.series_id)
    mark = booking.recurrence_id or booking.starts_at
    later = [
        b
        for b in uow.series.occurrences(series.id or 0)
        if b.id != booking.id and b.holds_slot and (b.recurrence_id or b.starts_at) > mark
    ]
    booking.cancel(cmd.by, now, is_admin=is_admin, whole_series=True)
    for other in later:
        other.cancel(cmd.by, now, is_admin=is_admin, whole_series=True)
    _end_series(series, booking, now, cmd.by, "cancelled", len(later) + 1)
    return len(later) + 1


def _end_series(
    series: Series, by_booking: Booking, at: datetime, actor: str, reason: str, cancelled: int
) -> None:
    if series.end(at, reason):
        assert series.id is not None
        by_booking.events.append(
            events.SeriesEnded(
                booking_id=by_booking.id or 0,
                actor=actor,
                at=at.astimezone(UTC),
                series_id=series.id,
                booker=series.booker,
                room_id=series.room_id,
                reason=reason,
                cancelled=cancelled,
            )
        )


def conflict_of(booking: Booking) -> Conflict:
    assert booking.id is not None
    return Conflict(booking.id, booking.booker, booking.starts_at, booking.ends_at, booking.title)


def _booking(uow: AbstractUnitOfWork, booking_id: int) -> Booking:
    booking = uow.bookings.get(booking_id) if is_id(booking_id) else None
    if booking is None:
        raise UnknownBooking(
            f"There is no booking #{booking_id}.",
            code="unknown_booking",
            params={"booking_id": booking_id},
        )
    return booking


def _decidable(uow: AbstractUnitOfWork, ctx: Context, booking_id: int, by: str) -> Booking:
    """The booking, if ``by`` may decide it: an admin, or one of its room's approvers."""
    booking = _booking(uow, booking_id)
    _check_may_decide(uow, ctx, booking.room_id, by)
    return booking


def _check_may_decide(uow: AbstractUnitOfWork, ctx: Context, room_id: str, by: str) -> None:
    """Refuse unless ``by`` may decide requests for the room: an admin or one of its approvers."""
    if not ctx.may_decide(by, uow.rooms.get(room_id)):
        raise NotAllowed(
            f"Only admins and the approvers of room {room_id} can approve or deny its bookings.",
            code="not_approver",
            params={"room_id": room_id},
        )


def approve_booking(cmd: commands.ApproveBooking, uow: AbstractUnitOfWork, ctx: Context) -> None:
    _decidable(uow, ctx, cmd.booking_id, cmd.by).approve(cmd.by, ctx.clock())


def _typed(reason: str | None) -> str | None:
    """A reason from a command, checked, as it is stored (:func:`typed_reason`: never a code)."""
    if reason is not None and len(reason) > 500:
        raise InvalidBooking(
            "A reason is at most 500 characters.",
            field="reason",
            code="reason_too_long",
            params={"limit": 500},
        )
    return typed_reason(reason)


def deny_booking(cmd: commands.DenyBooking, uow: AbstractUnitOfWork, ctx: Context) -> None:
    reason = _typed(cmd.reason)
    _decidable(uow, ctx, cmd.booking_id, cmd.by).deny(cmd.by, ctx.clock(), reason)


def cancel_booking(cmd: commands.CancelBooking, uow: AbstractUnitOfWork, ctx: Context) -> None:
    reason = _typed(cmd.reason)
    booking = _booking(uow, cmd.booking_id)
    booking.cancel(cmd.by, ctx.clock(), is_admin=ctx.is_admin(cmd.by), reason=reason)


def change_booking(cmd: commands.ChangeBooking, uow: AbstractUnitOfWork, ctx: Context) -> bool:
    """Check the new slot and give up the old one in the same transaction: a refused change
    leaves the booking as it was (the whole transaction rolls back). ``False``: nothing differed."""
    booking = _booking(uow, cmd.booking_id)
    room_id = booking.room_id if cmd.room_id is None else cmd.room_id
    room = uow.rooms.get(room_id)
    if room is None:
        raise UnknownRoom(
            f"There is no room {room_id!r}.", code="unknown_room", params={"room_id": room_id}
        )
    before = booking.starts_at, booking.ends_at
    changed = booking.change(
        room=room,
        starts_at=booking.starts_at if cmd.starts_at is None else cmd.starts_at,
        ends_at=booking.ends_at if cmd.ends_at is None else cmd.ends_at,
        title=booking.title if cmd.title is None else cmd.title,
        by=cmd.by,
        at=ctx.clock(),
        limits=ctx.limits,
        is_admin=ctx.is_admin(cmd.by),
        # only an approved booking can need approval again (a user group lookup otherwise wasted)
        policy=(
            ctx.auto_approval(room, booking.booker)
            if booking.status == BookingStatus.APPROVED
            else None
        ),
    )
    if changed:
        taken = uow.bookings.conflicts(
            booking.room_id, booking.starts_at, booking.ends_at, excluding=booking.id
        )
        if taken:
            raise RoomUnavailable(
                booking.room_id, conflict_of(_theirs_first(taken, cmd.by)), by=cmd.by
            )
        # What a change adds to the booker's week: the booking itself when it moves to another
        # week, hours when it grows. Shrinking or moving within the week is always allowed, even
        # for someone over a quota lowered since they booked.
        same_week = week_of(before[0], ctx.week_zone) == week_of(booking.starts_at, ctx.week_zone)
        grows = booking.ends_at - booking.starts_at > before[1] - before[0]
        if not same_week or grows:
            _check_quota(uow, ctx, booking, cmd.by, count=not same_week)
    return changed


def end_booking(cmd: commands.EndBooking, uow: AbstractUnitOfWork, ctx: Context) -> None:
    booking = _booking(uow, cmd.booking_id)
    booking.end_now(cmd.by, ctx.clock(), is_admin=ctx.is_admin(cmd.by))


def check_in(cmd: commands.CheckIn, uow: AbstractUnitOfWork, ctx: Context) -> None:
    booking = _booking(uow, cmd.booking_id)
    room = uow.rooms.get(booking.room_id)
    window = room.checkin_window if room is not None else None
    if window is None:
        raise InvalidTransition(
            f"Room {booking.room_id} does not use check-in.",
            code="no_check_in",
            params={"room_id": booking.room_id},
        )
    booking.check_in(cmd.by, ctx.clock(), window=window, is_admin=ctx.is_admin(cmd.by))


def release_booking(cmd: commands.ReleaseBooking, uow: AbstractUnitOfWork, ctx: Context) -> None:
    booking = _booking(uow, cmd.booking_id)
    booking.release(cmd.by, ctx.clock(), is_admin=ctx.is_admin(cmd.by))


def release_unattended(
    cmd: commands.ReleaseUnattended, uow: AbstractUnitOfWork, ctx: Context
) -> int:
    """Bookings nobody checked into are released: the room is free for whoever walks by."""
    now = ctx.clock()
    due = uow.bookings.unattended(now)
    for booking, window in due:
        booking.release("system", now, window=window)
    return len(due)


def release_departed(cmd: commands.ReleaseDeparted, uow: AbstractUnitOfWork, ctx: Context) -> int:
    """Someone left the workspace: they leave every waitlist (an offer they held passes on),
    their upcoming bookings are cancelled (the read model, the cards and waitlist offers follow
    through the cancellations' own policies), what was still waiting to be sent to them is
    skipped, and :class:`events.MemberLeft` tells the admins.

    Told once: the event's id is the person's (:func:`events.member_left_id`), so when Slack
    says it again (each later DM or email finds them gone) nothing is repeated. Someone who
    came back and left again is released again, and the admins are told about what that
    freed, under an id of its own (the first of those bookings). Returns how many bookings were
    cancelled."""
    left = events.member_left_id(cmd.user)
    again = uow.event_log.contains(left)
    now = ctx.clock()
    for entry in uow.waitlist.of_user(cmd.user):
        entry.withdraw(now)  # first: the slots freed below are offered to others
    upcoming = uow.bookings.upcoming_of(cmd.user, now)
    series: dict[int, list[Booking]] = {}
    for booking in upcoming:
        booking.cancel(cmd.by, now, is_admin=True, reason=LEFT_WORKSPACE)
        if booking.series_id is not None:
            series.setdefault(booking.series_id, []).append(booking)
    for series_id, cancelled in series.items():
        _end_series(
            _series(uow, series_id), cancelled[0], now, cmd.by, LEFT_WORKSPACE, len(cancelled)
        )
    uow.outbox.skip_pending(
        cmd.user, PERSONAL_CHANNELS, f"{cmd.user} left the workspace", now.astimezone(UTC)
    )
    released = tuple(b.id for b in upcoming if b.id is not None)
    if again and not released:
        return 0
    approvers = _Approvers(cmd.user, ctx.groups)
    rooms = uow.rooms.list()
    approver_of = tuple(r.id for r in rooms if cmd.user in r.approvers)
    through_groups = tuple(
        (r.id, group)
        for r in rooms
        if r.id not in approver_of and (group := approvers.group_of(r)) is not None
    )
    admin = cmd.user in ctx.admins
    if cmd.quiet and not (released or approver_of or through_groups or admin):
        return 0
    theirs = set(approver_of) | {room_id for room_id, _group in through_groups}
    no_approver_left = tuple(
        r.id for r in rooms if r.id in theirs and not approvers.someone_else(r)
    )
    stranded: tuple[str, ...] = ()
    if not ctx.admins - {cmd.user}:  # nobody decides every room: who decides these?
        stranded = tuple(
            r.id
            for r in rooms
            if (admin or r.id in theirs) and not r.auto_approve and not approvers.someone_else(r)
        )
    uow.record(
        events.MemberLeft(
            booking_id=0,
            actor=cmd.by,
            at=now.astimezone(UTC),
            event_id=events.member_left_id(cmd.user, released[0]) if again else left,
            user=cmd.user,
            released=released,
            approver_of=approver_of,
            admin=admin,
            through_groups=through_groups,
            no_approver_left=no_approver_left,
            stranded=stranded,
        )
    )
    return len(upcoming)


class _Approvers:
    """Who else approves a room's requests once ``user`` left, as far as the rooms' approver
    user groups tell (each group asked once). Slack may already have taken someone deactivated
    out of their groups; the membership the adapter cached may still name them."""

    def __init__(self, user: str, groups: GroupMembers) -> None:
        self.user = user
        self._groups = groups
        self._members: dict[str, frozenset[str] | None] = {}

    def members(self, group: str) -> frozenset[str] | None:
        if group not in self._members:
            self._members[group] = self._groups.members(group)
        return self._members[group]

    def group_of(self, room: Room) -> str | None:
        """The first of the room's approver groups ``user`` is a member of, if any."""
        groups = (a for a in room.approvers if a.startswith("S"))
        return next((g for g in groups if self.user in (self.members(g) or ())), None)

    def someone_else(self, room: Room) -> bool:
        """The room has an approver besides ``user``: another person, or a group with another
        member, or one Slack could not list (nobody claims it is empty then)."""
        for approver in room.approvers:
            if not approver.startswith("S"):
                if approver != self.user:
                    return True
                continue
            found = self.members(approver)
            if found is None or found - {self.user}:
                return True
        return False


def note_member_change(
    cmd: commands.NoteMemberChange, uow: AbstractUnitOfWork, ctx: Context
) -> None:
    uow.member_changes.add(cmd.user, cmd.deleted, ctx.clock().astimezone(UTC))


def report_approvals_channel(
    cmd: commands.ReportApprovalsChannel, uow: AbstractUnitOfWork, ctx: Context
) -> bool:
    """Slack refuses approval cards in the approvals channel: the admins are told what to do,
    once per channel and error (the event's id is made of them). True if they were told now."""
    event_id = events.approvals_channel_id(cmd.channel, cmd.error)
    if uow.event_log.contains(event_id):
        return False
    uow.record(
        events.ApprovalsChannelUnusable(
            booking_id=0,
            actor=cmd.by,
            at=ctx.clock().astimezone(UTC),
            event_id=event_id,
            channel=cmd.channel,
            error=cmd.error,
        )
    )
    return True


def join_waitlist(cmd: commands.JoinWaitlist, uow: AbstractUnitOfWork, ctx: Context) -> int:
    """Wait for a taken slot; asking twice for the same slot keeps the first place in line."""
    room = uow.rooms.get(cmd.room_id)
    if room is None:
        raise UnknownRoom(
            f"There is no room {cmd.room_id!r}.",
            code="unknown_room",
            params={"room_id": cmd.room_id},
        )
    room.ensure_bookable()
    now = ctx.clock()
    title = " ".join(cmd.title.split())
    validate_request(
        starts_at=cmd.starts_at, ends_at=cmd.ends_at, title=title, now=now, limits=ctx.limits
    )
    taken = uow.bookings.conflicts(room.id, cmd.starts_at, cmd.ends_at)
    if not taken:
        raise InvalidBooking(
            f"Room {room.id} is free then: book it instead.",
            field="start",
            code="free_then",
            params={"room_id": room.id},
        )
    if all(b.booker == cmd.by for b in taken):
        raise RoomUnavailable(room.id, conflict_of(taken[0]), by=cmd.by)
    for entry in uow.waitlist.waiting(room.id, cmd.starts_at, cmd.ends_at):
        if entry.user == cmd.by and (entry.starts_at, entry.ends_at) == (
            cmd.starts_at.astimezone(UTC),
            cmd.ends_at.astimezone(UTC),
        ):
            assert entry.id is not None
            return entry.id
    entry = WaitlistEntry(
        room_id=room.id,
        starts_at=cmd.starts_at.astimezone(UTC),
        ends_at=cmd.ends_at.astimezone(UTC),
        user=cmd.by,
        title=title,
        created_at=now,
    )
    uow.waitlist.add(entry)
    assert entry.id is not None
    return entry.id


def claim_offer(cmd: commands.ClaimOffer, uow: AbstractUnitOfWork, ctx: Context) -> int:
    """Book it: the offer and the request commit together, or neither does."""
    entry = uow.waitlist.get(cmd.entry_id)
    if entry is None:
        raise UnknownBooking("That offer no longer exists.", code="offer_gone")
    entry.claim(cmd.by, ctx.clock())
    booking_id = request_booking(
        commands.RequestBooking(
            entry.room_id, entry.starts_at, entry.ends_at, by=cmd.by, title=entry.title
        ),
        uow,
        ctx,
    )
    entry.booking_id = booking_id
    return booking_id


def lapse_offers(cmd: commands.LapseOffers, uow: AbstractUnitOfWork, ctx: Context) -> int:
    now = ctx.clock()
    due = uow.waitlist.lapsed(now)
    for entry in due:
        entry.lapse(now)
    return len(due)


def expire_pending(cmd: commands.ExpirePending, uow: AbstractUnitOfWork, ctx: Context) -> int:
    """Requests nobody decided before they started expire. Several dates of one series due at
    one run (the scheduler was stopped while they started) expire as one act on the series,
    told once (:class:`events.SeriesExpired`); a date due alone is told as that date."""
    now = ctx.clock()
    due = uow.bookings.pending_started(now)
    of_series: dict[int, list[Booking]] = {}
    for booking in due:
        if booking.series_id is not None:
            of_series.setdefault(booking.series_id, []).append(booking)
    for booking in due:
        together = booking.series_id is not None and len(of_series[booking.series_id]) > 1
        booking.expire(now, whole_series=together)
    for series_id, dates in of_series.items():
        if len(dates) < 2:
            continue
        series = _series(uow, series_id)
        first = min(dates, key=lambda b: (b.starts_at, b.id or 0))
        first.events.append(
            events.SeriesExpired(
                booking_id=first.id or 0,
                actor="system",
                at=now.astimezone(UTC),
                series_id=series_id,
                booker=series.booker,
                room_id=series.room_id,
                expired=len(dates),
            )
        )
    return len(due)


def send_reminders(cmd: commands.SendReminders, uow: AbstractUnitOfWork, ctx: Context) -> int:
    if ctx.reminder_lead <= timedelta(0):
        return 0  # REMINDER_MINUTES=0 turns reminders off
    now = ctx.clock()
    due = uow.bookings.reminders_due(now, ctx.reminder_lead)
    for booking in due:
        booking.remind(now)
    return len(due)


def nudge_admins(cmd: commands.NudgeAdmins, uow: AbstractUnitOfWork, ctx: Context) -> int:
    now = ctx.clock()
    due = uow.bookings.overdue_requests(now - ctx.nudge_after)
    for booking in due:
        booking.nudge(now)
    return len(due)


def add_room(cmd: commands.AddRoom, uow: AbstractUnitOfWork, ctx: Context) -> None:
    ctx.require_admin(cmd.by, "manage rooms")
    room = Room(
        cmd.room_id,
        cmd.name,
        cmd.capacity,
        location=cmd.location,
        tags=list(cmd.tags),
        auto_approve=cmd.auto_approve,
        auto_approve_groups=list(cmd.auto_approve_groups),
        approvers=list(cmd.approvers),
        feed_details=cmd.feed_details,
        checkin_minutes=cmd.checkin_minutes or None,
    )
    if uow.rooms.get(room.id) is not None:
        raise DuplicateRoom(
            f"Room {room.id} exists already.", code="room_exists", params={"room_id": room.id}
        )
    uow.rooms.add(room)


def update_room(cmd: commands.UpdateRoom, uow: AbstractUnitOfWork, ctx: Context) -> None:
    ctx.require_admin(cmd.by, "manage rooms")
    room = _room(uow, cmd.room_id)
    # Validate through the constructor before touching the stored room.
    changes: dict[str, Any] = {
        name: list(value) if isinstance(value, tuple) else value
        for name in ROOM_FIELDS
        if (value := getattr(cmd, name)) is not None
    }
    if cmd.checkin_minutes is not None:  # 0 turns check-in off
        changes["checkin_minutes"] = cmd.checkin_minutes or None
    checked = dataclasses.replace(room, **changes)
    for name in (*ROOM_FIELDS, "checkin_minutes"):
        if getattr(room, name) != getattr(checked, name):
            setattr(room, name, getattr(checked, name))


#: What :class:`commands.UpdateRoom` may change as given (the id never changes; check-in minutes
#: have their own meaning of 0).
ROOM_FIELDS = (
    "name",
    "capacity",
    "active",
    "location",
    "tags",
    "auto_approve",
    "auto_approve_groups",
    "approvers",
    "feed_details",
)


def deactivate_room(cmd: commands.DeactivateRoom, uow: AbstractUnitOfWork, ctx: Context) -> None:
    update_room(commands.UpdateRoom(cmd.room_id, cmd.by, active=False), uow, ctx)


def refresh_home(cmd: commands.RefreshHome, uow: AbstractUnitOfWork, ctx: Context) -> None:
    payload = HomeRefresh(cmd.pages).to_payload()
    uow.outbox.add([OutboxMessage(None, Channel.HOME, cmd.user, payload, ctx.clock())])


def refresh_card(cmd: commands.RefreshCard, uow: AbstractUnitOfWork, ctx: Context) -> None:
    payload = CardRefresh(cmd.booking_id).to_payload()
    uow.outbox.add([OutboxMessage(None, Channel.CARD, APPROVALS, payload, ctx.clock())])


# --- policies ------------------------------------------------------------------------------------


def _row(uow: AbstractUnitOfWork, booking_id: int) -> BookingRow:
    row = uow.booking_list.get(booking_id)
    if row is None:  # pragma: no cover - a requested event always comes first
        raise UnknownBooking(
            f"Booking #{booking_id} is missing from the booking list.",
            code="unknown_booking",
            params={"booking_id": booking_id},
        )
    return row


def project_requested(
    event: events.BookingRequested, uow: AbstractUnitOfWork, ctx: Context
) -> None:
    room = uow.rooms.get(event.room_id)
    uow.booking_list.add(
        BookingRow(
            booking_id=event.booking_id,
            room_id=event.room_id,
            room_name=room.name if room else event.room_id,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            booker=event.actor,
            title=event.title,
            status=BookingStatus.PENDING,
            requested_at=event.at,
            series_id=event.series_id,
            recurrence_id=event.recurrence_id,
        )
    )


def project_decision(event: events.Event, uow: AbstractUnitOfWork, ctx: Context) -> None:
    decided: dict[type[events.Event], BookingStatus] = {
        events.BookingApproved: BookingStatus.APPROVED,
        events.BookingDenied: BookingStatus.DENIED,
    }
    status = decided[type(event)]
    reason = event.reason if isinstance(event, events.BookingDenied) else None
    policy = event.policy if isinstance(event, events.BookingApproved) else None
    row = _row(uow, event.booking_id)
    uow.booking_list.upsert(
        dataclasses.replace(
            row,
            status=status,
            decided_by=event.actor,
            decided_at=event.at,
            reason=reason,
            policy=policy,
            sequence=getattr(event, "sequence", row.sequence),
        )
    )


def project_changed(event: events.BookingChanged, uow: AbstractUnitOfWork, ctx: Context) -> None:
    """The row shows the booking as it is now and, while it waits for approval again, as it was
    (for the card's old -> new)."""
    row = _row(uow, event.booking_id)
    room = uow.rooms.get(event.room_id)
    back_to_pending = event.needs_approval
    was_room = uow.rooms.get(event.was_room_id)
    uow.booking_list.upsert(
        dataclasses.replace(
            row,
            room_id=event.room_id,
            room_name=room.name if room else event.room_id,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            title=event.title,
            status=BookingStatus.PENDING if back_to_pending else row.status,
            decided_by=None if back_to_pending else row.decided_by,
            decided_at=None if back_to_pending else row.decided_at,
            sequence=event.sequence,
            changed_at=event.at,
            was_room_id=event.was_room_id,
            was_room_name=was_room.name if was_room else event.was_room_id,
            was_starts_at=event.was_starts_at,
            was_ends_at=event.was_ends_at,
            was_title=event.was_title,
        )
    )


def project_closed(event: events.Event, uow: AbstractUnitOfWork, ctx: Context) -> None:
    """Cancelled and expired bookings stay in the list, marked, so history and audit keep them."""
    status = {
        events.BookingCancelled: BookingStatus.CANCELLED,
        events.BookingExpired: BookingStatus.EXPIRED,
        events.BookingReleased: BookingStatus.RELEASED,
    }[type(event)]
    cancelled_by = event.actor if isinstance(event, events.BookingCancelled) else None
    row = _row(uow, event.booking_id)
    reason = getattr(event, "reason", None) or row.reason
    uow.booking_list.upsert(
        dataclasses.replace(
            row,
            status=status,
            cancelled_by=cancelled_by,
            reason=reason,
            sequence=getattr(event, "sequence", row.sequence),
        )
    )


def project_checked_in(
    event: events.BookingCheckedIn, uow: AbstractUnitOfWork, ctx: Context
) -> None:
    uow.booking_list.upsert(
        dataclasses.replace(_row(uow, event.booking_id), checked_in_at=event.at)
    )


def offer_freed_slot(event: events.Event, uow: AbstractUnitOfWork, ctx: Context) -> None:
    """A booking gave up its slot (or part of it): offer it to whoever waits for it."""
    if isinstance(event, events.BookingChanged):
        room_id, starts_at, ends_at = event.was_room_id, event.was_starts_at, event.was_ends_at
    elif isinstance(event, events.WaitlistLapsed):
        room_id, starts_at, ends_at = event.room_id, event.starts_at, event.ends_at
    else:
        row = _row(uow, event.booking_id)
        room_id, starts_at, ends_at = row.room_id, row.starts_at, row.ends_at
    now = ctx.clock()
    if ends_at <= now:
        return
    entries = uow.waitlist.waiting(room_id, starts_at, ends_at)
    offered = [e for e in entries if e.status == WaitlistStatus.OFFERED]
    for entry in entries:
        if entry.status != WaitlistStatus.WAITING or entry.starts_at <= now:
            continue
        if any(overlaps(o.starts_at, o.ends_at, entry.starts_at, entry.ends_at) for o in offered):
            continue  # someone before them holds an offer for part of it
        if uow.bookings.conflicts(entry.room_id, entry.starts_at, entry.ends_at):
            continue  # not all of their slot is free
        entry.offer(freed_by=event.booking_id, at=now, lasts=ctx.offer_for)
        offered.append(entry)


def count_release(event: events.BookingReleased, uow: AbstractUnitOfWork, ctx: Context) -> None:
    """An occurrence nobody used: K in a row end the series, cancelling what is left of it."""
    booking = uow.bookings.get(event.booking_id)
    if booking is None or booking.series_id is None or not event.automatic:
        return
    series = uow.series.get(booking.series_id)
    if series is None or series.ended or not series.released(ctx.series_release_limit):
        return
    later = [
        b
        for b in uow.series.occurrences(booking.series_id)
        if b.holds_slot and b.starts_at > booking.starts_at
    ]
    for other in later:
        other.cancel("system", event.at, is_admin=True, whole_series=True)
    _end_series(series, booking, event.at, "system", "released", len(later))


def reset_release_streak(
    event: events.BookingCheckedIn, uow: AbstractUnitOfWork, ctx: Context
) -> None:
    booking = uow.bookings.get(event.booking_id)
    if booking is None or booking.series_id is None:
        return
    series = uow.series.get(booking.series_id)
    if series is not None:
        series.checked_in()


def notify_offer(event: events.WaitlistOffered, uow: AbstractUnitOfWork, ctx: Context) -> None:
    """The person first in line gets a DM with *Book it* (the slot, not a booking, yet)."""
    room = uow.rooms.get(event.room_id)
    notice = Notice(
        kind="offer",
        actor=event.actor,
        at=event.at,
        booking_id=event.booking_id,
        room_id=event.room_id,
        room_name=room.name if room else event.room_id,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        booker=event.user,
        title=event.title,
        entry_id=event.entry_id,
        expires_at=event.expires_at,
    )
    uow.outbox.add(
        [OutboxMessage(event.event_id, Channel.DM, event.user, notice.to_payload(), event.at)]
    )


def open_approval(event: events.BookingRequested, uow: AbstractUnitOfWork, ctx: Context) -> None:
    uow.approvals.add(Approval(booking_id=event.booking_id))


def record_decision(event: events.Event, uow: AbstractUnitOfWork, ctx: Context) -> None:
    status = (
        ApprovalStatus.APPROVED
        if isinstance(event, events.BookingApproved)
        else ApprovalStatus.DENIED
    )
    approval = uow.approvals.get(event.booking_id)
    if approval is None:
        approval = Approval(booking_id=event.booking_id)
        uow.approvals.add(approval)
    approval.record(status, event.actor, event.at)


def reopen_approval(event: events.BookingChanged, uow: AbstractUnitOfWork, ctx: Context) -> None:
    """A change that needs approval again puts the booking back in the approval queue."""
    if not event.needs_approval:
        return
    approval = uow.approvals.get(event.booking_id)
    if approval is None:
        uow.approvals.add(Approval(booking_id=event.booking_id))
    else:
        approval.reopen()


def drop_approval(event: events.BookingCancelled, uow: AbstractUnitOfWork, ctx: Context) -> None:
    """The saga of the original system: a cancelled booking leaves the approval queue."""
    uow.approvals.delete(event.booking_id)


NOTICE_KIND: dict[type[events.Event], str] = {
    events.BookingRequested: "requested",
    events.BookingApproved: "approved",
    events.BookingDenied: "denied",
    events.BookingCancelled: "cancelled",
    events.BookingExpired: "expired",
    events.BookingChanged: "changed",
    events.BookingReleased: "released",
}


def _told_by_series(event: events.Event) -> bool:
    """An occurrence's event that is one of many in one act on its series (requested,
    approved or denied as one, cancelled from one date on): the series' own event tells
    people, once, instead of once per date."""
    if isinstance(event, events.BookingRequested):
        return event.series_id is not None
    return bool(getattr(event, "whole_series", False))


def notify(event: events.Event, uow: AbstractUnitOfWork, ctx: Context) -> None:
    """Queue the booker's DM and email, the approval card refresh and App Home refreshes.

    A request a policy approves in the same transaction is told once, as approved: its
    ``requested`` notice would only be followed at once by the approval. An occurrence's part
    in an act on its whole series is told by the series' event, once (:func:`notify_series`);
    an occurrence's own change carries its series, for the series' one calendar entry."""
    if _told_by_series(event):
        return
    row = _row(uow, event.booking_id)
    if isinstance(event, events.BookingRequested) and event.policy is not None:
        return
    extra: dict[str, Any] = {}
    card = row.booking_id
    if row.series_id is not None:
        dates = uow.series.occurrences(row.series_id)
        extra["series"] = _series_part(uow, row.series_id, dates)
        extra["recurrence_id"] = row.recurrence_id
        card = _anchor(dates)
    if isinstance(event, events.BookingCancelled):
        extra |= {"was_approved": event.was_approved, "by_admin": event.by_admin}
    if isinstance(event, events.BookingDenied):
        extra |= {"was_approved": event.was_approved}
    if isinstance(event, events.BookingReleased):
        extra |= {"was_approved": True, "automatic": event.automatic}
    if isinstance(event, events.BookingChanged):
        extra |= {
            "was_approved": event.was_approved,
            "needs_approval": event.needs_approval,
            "ended_early": event.ended_early,
            "by_admin": event.actor != row.booker,
        }
    # The booker's zone and language, when a listener of this process just read them: the DM
    # then needs no users.info, which would hold up this person's next DMs behind it.
    reader = ctx.readers.known(row.booker)
    notice = Notice.of(NOTICE_KIND[type(event)], event, row, reader=reader, **extra)
    payload = notice.to_payload()
    # Whoever left the workspace is told nothing more; the card and the admins still are.
    gone = isinstance(event, events.BookingCancelled) and event.reason == LEFT_WORKSPACE
    messages = [
        OutboxMessage(event.event_id, Channel.DM, row.booker, payload, event.at),
        OutboxMessage(event.event_id, Channel.EMAIL, row.booker, payload, event.at),
    ]
    if gone:
        messages = []
    messages += _refreshes(event, card, None if gone else row.booker, ctx)
    uow.outbox.add(messages)


def _anchor(dates: list[Booking]) -> int:
    """The booking id a series' one card is kept under (its first occurrence's, see
    ``SeriesRow.anchor``): every refresh of it names the same id, so the dispatcher sends
    refreshes queued together as one update."""
    return min(b.id for b in dates if b.id is not None)


def _series_part(
    uow: AbstractUnitOfWork, series_id: int, dates: list[Booking] | None = None
) -> SeriesPart:
    """The series as a notice carries it, from the aggregates of this transaction (whose
    read-model rows other policies may not have written yet); ``dates``: its occurrences, if
    the caller has them already."""
    dates = uow.series.occurrences(series_id) if dates is None else dates
    return SeriesPart.of(series_id, _series(uow, series_id), dates)


def _refreshes(
    event: events.Event, booking_id: int, booker: str | None, ctx: Context
) -> list[OutboxMessage]:
    """The approval card of the booking (or of its series) and the Home tabs that show it
    (the booker's, unless ``None``: they left the workspace)."""
    card = CardRefresh(booking_id).to_payload()
    messages = [OutboxMessage(event.event_id, Channel.CARD, APPROVALS, card, event.at)]
    readers = set(ctx.admins) if booker is None else {booker, *ctx.admins}
    messages += [
        OutboxMessage(event.event_id, Channel.HOME, user, HomeRefresh().to_payload(), event.at)
        for user in sorted(readers)
    ]
    return messages


def notify_series(event: events.SeriesEvent, uow: AbstractUnitOfWork, ctx: Context) -> None:
    """An act on a whole series (requested, approved, denied, ended, several dates expired),
    however many dates it holds: one DM and one email to the booker (the email with the series'
    one calendar entry), one refresh of the series' card and of the Home tabs. An end is told
    to the admins too."""
    booking = _booking(uow, event.booking_id)
    room = uow.rooms.get(event.room_id)
    dates = uow.series.occurrences(event.series_id)
    part = _series_part(uow, event.series_id, dates)
    kind, actor = "requested", event.actor
    if isinstance(event, events.SeriesRequested) and event.policy is not None:
        kind, actor = "approved", POLICY_ACTOR
    elif isinstance(event, events.SeriesApproved):
        kind = "approved"
    elif isinstance(event, events.SeriesDenied):
        kind = "denied"
    elif isinstance(event, events.SeriesEnded):
        kind = "ended"
    elif isinstance(event, events.SeriesExpired):
        kind = "expired"
    notice = Notice(
        kind=kind,
        actor=actor,
        at=event.at,
        booking_id=booking.id or event.booking_id,
        room_id=event.room_id,
        room_name=room.name if room else event.room_id,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        booker=event.booker,
        title=booking.title,
        reason=event.reason if isinstance(event, events.SeriesDenied) else None,
        # an invite went out for some date: the series' calendar entry exists
        was_approved=any(b.invited for b in dates),
        by_admin=event.actor != event.booker and event.actor not in OPERATOR_ACTORS,
        sequence=booking.sequence,
        series=part,
        cancelled_dates=event.cancelled if isinstance(event, events.SeriesEnded) else None,
        expired_dates=event.expired if isinstance(event, events.SeriesExpired) else None,
    )
    payload = notice.to_payload()
    messages = [
        OutboxMessage(event.event_id, channel, event.booker, payload, event.at)
        for channel in (Channel.DM, Channel.EMAIL)
    ]
    if isinstance(event, events.SeriesEnded):
        for_admins = dataclasses.replace(notice, to_admins=True).to_payload()
        messages += [
            OutboxMessage(event.event_id, channel, admin, for_admins, event.at)
            for admin in sorted(ctx.admins - {event.booker})
            for channel in (Channel.DM, Channel.EMAIL)
        ]
    uow.outbox.add(messages + _refreshes(event, _anchor(dates), event.booker, ctx))


def notify_departure(event: events.MemberLeft, uow: AbstractUnitOfWork, ctx: Context) -> None:
    """One DM to each admin (but the one who left): who left, which bookings were freed, which
    rooms lost an approver (named, or a member of a user group; and which of those have no
    approver of their own left) and whether ADMIN_USER_IDS names them. The rows carry the
    event's id, which is the person's, so they are written once.

    Rooms nobody may decide for any more (no admin is left to DM either) are said where someone
    sees it: a warning in the log and a note in the approvals channel."""
    released = [row for i in event.released if (row := uow.booking_list.get(i)) is not None]
    names = {r.id: r.name for r in uow.rooms.list(include_inactive=True)}
    approver_of = tuple((i, names[i]) for i in event.approver_of if i in names)
    through = tuple((i, names[i], group) for i, group in event.through_groups if i in names)
    payload = Departure.of(
        event.user,
        event.at,
        released,
        approver_of,
        event.admin,
        through_groups=through,
        no_approver_left=event.no_approver_left,
    ).to_payload()
    messages = [
        OutboxMessage(event.event_id, Channel.DM, admin, payload, event.at)
        for admin in sorted(ctx.admins - {event.user})
    ]
    if event.stranded:
        log.warning(
            "%s left the workspace, and nobody can approve or deny requests for rooms %s now: "
            "ADMIN_USER_IDS names no other admin and these rooms have no approver of their own "
            "left. Set ADMIN_USER_IDS, or give each room approvers "
            "(python -m bot rooms edit ROOM --approvers IDS)",
            event.user,
            ", ".join(event.stranded),
        )
        rooms = tuple((i, names.get(i, i)) for i in event.stranded)
        note = Unattended(event.user, event.at, rooms, admin=event.admin).to_payload()
        messages.append(OutboxMessage(event.event_id, Channel.CARD, APPROVALS, note, event.at))
    uow.outbox.add(messages)


def notify_approvals_channel(
    event: events.ApprovalsChannelUnusable, uow: AbstractUnitOfWork, ctx: Context
) -> None:
    """One DM to each admin saying what to do about the approvals channel; the rows carry the
    event's id, made of the channel and the error, so they are written once."""
    payload = ChannelProblem(event.channel, event.error, event.at).to_payload()
    uow.outbox.add(
        [
            OutboxMessage(event.event_id, Channel.DM, admin, payload, event.at)
            for admin in sorted(ctx.admins)
        ]
    )


def remind_booker(event: events.BookingReminderDue, uow: AbstractUnitOfWork, ctx: Context) -> None:
    row = _row(uow, event.booking_id)
    room = uow.rooms.get(row.room_id)
    window = room.checkin_minutes if room is not None else None
    notice = Notice.of("reminder", event, row, minutes=event.starts_in_minutes, checkin=window)
    uow.outbox.add(
        [OutboxMessage(event.event_id, Channel.DM, row.booker, notice.to_payload(), event.at)]
    )


def nudge(event: events.ApprovalOverdue, uow: AbstractUnitOfWork, ctx: Context) -> None:
    """Each admin is nudged once about a request waiting too long; a series waiting is one
    request, so of its dates overdue at once only the earliest speaks, naming its series."""
    row = _row(uow, event.booking_id)
    extra: dict[str, Any] = {}
    if row.series_id is not None:
        overdue = [
            b
            for b in uow.series.occurrences(row.series_id)
            if b.status == BookingStatus.PENDING and b.nudged_at == event.at
        ]
        if overdue and overdue[0].id != row.booking_id:
            return
        extra = {"series": _series_part(uow, row.series_id), "recurrence_id": row.recurrence_id}
    payload = Notice.of(
        "nudge", event, row, waiting_minutes=event.waiting_minutes, **extra
    ).to_payload()
    uow.outbox.add(
        [
            OutboxMessage(event.event_id, Channel.DM, admin, payload, event.at)
            for admin in sorted(ctx.admins)
        ]
    )


Handler = Callable[[Any, AbstractUnitOfWork, Context], Any]

COMMAND_HANDLERS: dict[type[commands.Command], Handler] = {
    commands.RequestBooking: request_booking,
    commands.RequestSeries: request_series,
    commands.PreviewSeries: preview_series,
    commands.ApproveSeries: approve_series,
    commands.DenySeries: deny_series,
    commands.CancelOccurrence: cancel_occurrence,
    commands.ApproveBooking: approve_booking,
    commands.DenyBooking: deny_booking,
    commands.CancelBooking: cancel_booking,
    commands.ChangeBooking: change_booking,
    commands.EndBooking: end_booking,
    commands.CheckIn: check_in,
    commands.ReleaseBooking: release_booking,
    commands.ReleaseUnattended: release_unattended,
    commands.ReleaseDeparted: release_departed,
    commands.NoteMemberChange: note_member_change,
    commands.ReportApprovalsChannel: report_approvals_channel,
    commands.JoinWaitlist: join_waitlist,
    commands.ClaimOffer: claim_offer,
    commands.LapseOffers: lapse_offers,
    commands.ExpirePending: expire_pending,
    commands.SendReminders: send_reminders,
    commands.NudgeAdmins: nudge_admins,
    commands.AddRoom: add_room,
    commands.UpdateRoom: update_room,
    commands.DeactivateRoom: deactivate_room,
    commands.RefreshHome: refresh_home,
    commands.RefreshCard: refresh_card,
}

EVENT_HANDLERS: dict[type[events.Event], list[Handler]] = {
    events.BookingRequested: [project_requested, open_approval, notify],
    events.BookingApproved: [project_decision, record_decision, notify],
    events.BookingDenied: [project_decision, record_decision, notify, offer_freed_slot],
    events.BookingCancelled: [project_closed, drop_approval, notify, offer_freed_slot],
    events.BookingExpired: [project_closed, notify, offer_freed_slot],
    events.BookingChanged: [project_changed, reopen_approval, notify, offer_freed_slot],
    events.BookingCheckedIn: [project_checked_in, reset_release_streak],
    events.BookingReleased: [project_closed, notify, offer_freed_slot, count_release],
    events.SeriesRequested: [notify_series],
    events.SeriesApproved: [notify_series],
    events.SeriesDenied: [notify_series],
    events.SeriesEnded: [notify_series],
    events.SeriesExpired: [notify_series],
    events.MemberLeft: [notify_departure],
    events.ApprovalsChannelUnusable: [notify_approvals_channel],
    events.WaitlistOffered: [notify_offer],
    events.WaitlistLapsed: [offer_freed_slot],
    events.BookingReminderDue: [remind_booker],
    events.ApprovalOverdue: [nudge],
}
