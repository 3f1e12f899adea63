"""Aggregates: Room, Booking (with its status machine) and Approval (the original's *confirm*)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from bot.domain import events
from bot.domain.errors import InvalidBooking, InvalidTransition, NotAllowed, RoomInactive
from bot.domain.rules import (
    BookingLimits,
    overlaps,
    printable,
    validate_change,
    validate_request,
)

#: The reason of a cancellation made because the booker left the workspace (Slack answers
#: ``deleted: true`` or ``user_not_found`` for them).
LEFT_WORKSPACE = "left_workspace"
#: The reasons the app gives itself, which the views say in the reader's language. Someone's
#: typed words never equal one (:func:`typed_reason`).
REASON_CODES = frozenset({LEFT_WORKSPACE})
#: Follows typed words that would read as a code: a word joiner, which shows as nothing, so the
#: words still show as typed while the rows stored with the code keep meaning it.
NOT_A_CODE = "\u2060"


def typed_reason(words: str | None) -> str | None:
    """A reason someone typed (a denial's, an admin's cancellation's) as it is stored: stripped,
    ``None`` when empty, and never one of :data:`REASON_CODES`."""
    said = (words or "").strip()
    if said in REASON_CODES:
        return said + NOT_A_CODE
    return said or None


class BookingStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    DENIED = "DENIED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    #: Nobody checked in within the room's check-in window, so the room was freed.
    RELEASED = "RELEASED"

    @property
    def holds_slot(self) -> bool:
        return self in HOLDING

    @property
    def is_final(self) -> bool:
        return not ALLOWED[self]


#: The actor of decisions a policy made (auto-approval); Slack user ids are upper case.
POLICY_ACTOR = "policy"

HOLDING = frozenset({BookingStatus.PENDING, BookingStatus.APPROVED})

ALLOWED: dict[BookingStatus, frozenset[BookingStatus]] = {
    BookingStatus.PENDING: frozenset(
        {
            BookingStatus.APPROVED,
            BookingStatus.DENIED,
            BookingStatus.CANCELLED,
            BookingStatus.EXPIRED,
        }
    ),
    # Back to pending only through a change that moves, grows or re-rooms an approved booking.
    BookingStatus.APPROVED: frozenset(
        {BookingStatus.PENDING, BookingStatus.CANCELLED, BookingStatus.RELEASED}
    ),
    BookingStatus.DENIED: frozenset(),
    BookingStatus.CANCELLED: frozenset(),
    BookingStatus.EXPIRED: frozenset(),
    BookingStatus.RELEASED: frozenset(),
}


class ApprovalStatus(StrEnum):
    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    DENIED = "DENIED"


#: The longest check-in window a room may have.
MAX_CHECKIN_MINUTES = 120

#: How long before its start a booking may be checked into.
CHECKIN_OPENS_BEFORE = timedelta(minutes=15)


def _slack_ids(values: Iterable[str], prefixes: str, field_name: str) -> list[str]:
    """Slack ids (``U…``/``W…`` users, ``S…`` user groups), upper case, each once."""
    found: list[str] = []
    for raw in values:
        for part in raw.replace(",", " ").split():
            value = part.strip().strip("<>@!").split("|")[0].removeprefix("subteam^").upper()
            if not value:
                continue
            allowed = prefixes + ("W" if "U" in prefixes else "")
            if value[0] not in allowed or not value.isalnum() or len(value) > 32:
                kind = "user group ids (S…)" if prefixes == "S" else "user or user group ids"
                raise InvalidBooking(
                    f"{part!r} is not one of the Slack {kind}.",
                    field=field_name,
                    code="slack_ids_invalid",
                    params={"value": part, "groups_only": prefixes == "S"},
                )
            if value not in found:
                found.append(value)
    if len(found) > MAX_APPROVERS:
        raise InvalidBooking(
            f"At most {MAX_APPROVERS} ids here.",
            field=field_name,
            code="too_many_ids",
            params={"limit": MAX_APPROVERS},
        )
    return found


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


MAX_TAGS = 20
MAX_TAG_LENGTH = 30
MAX_APPROVERS = 20
MAX_LOCATION_LENGTH = 80


def normalise_tags(tags: Iterable[str]) -> list[str]:
    """Equipment tags as people search for them: lower case, no spaces or commas, each once, in
    the order given (``"Projector, video"`` and ``"video projector"`` give the same tags)."""
    seen: list[str] = []
    for raw in tags:
        for part in raw.replace(",", " ").split():
            tag = part.strip().lower().lstrip("#")
            if tag and tag not in seen:
                seen.append(tag)
    return seen


def check_checkin_minutes(minutes: object) -> int:
    """A room's check-in window in minutes, or the refusal of one that is not a whole number
    from 1 to :data:`MAX_CHECKIN_MINUTES`."""
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int)
        or not 1 <= minutes <= MAX_CHECKIN_MINUTES
    ):
        raise InvalidBooking(
            f"The check-in window is a whole number of minutes from 1 to "
            f"{MAX_CHECKIN_MINUTES} (or empty for no check-in).",
            field="checkin_minutes",
            code="checkin_invalid",
            params={"limit": MAX_CHECKIN_MINUTES},
        )
    return minutes


@dataclass(eq=False)
class Room:
    """A bookable room.

    ``location`` and ``tags`` help people find it. The approval policy: requests are approved on
    creation if ``auto_approve`` is set, or if the booker belongs to one of
    ``auto_approve_groups`` (Slack user group ids); ``approvers`` (Slack user ids, or user group ids
    for everyone in the group) may decide its requests besides the admins. ``feed_details``
    lets the room's calendar feed show titles and bookers instead of busy slots only.
    """

    id: str
    name: str
    capacity: int
    active: bool = True
    #: Minutes from the start in which the booker checks in, or the booking is released;
    #: ``None`` turns check-in off for the room.
    checkin_minutes: int | None = None
    location: str = ""
    tags: list[str] = field(default_factory=list)
    auto_approve: bool = False
    auto_approve_groups: list[str] = field(default_factory=list)
    approvers: list[str] = field(default_factory=list)
    feed_details: bool = False

    def __post_init__(self) -> None:
        self.id = self.id.strip()
        self.name = self.name.strip()
        self.location = " ".join(self.location.split())
        self.tags = normalise_tags(self.tags)
        self.auto_approve_groups = _slack_ids(self.auto_approve_groups, "S", "auto_approve_groups")
        self.approvers = _slack_ids(self.approvers, "US", "approvers")
        if len(self.location) > MAX_LOCATION_LENGTH:
            raise InvalidBooking(
                f"A location is at most {MAX_LOCATION_LENGTH} characters.",
                field="location",
                code="location_too_long",
                params={"limit": MAX_LOCATION_LENGTH},
            )
        if not printable(self.location):
            raise InvalidBooking(
                "The location contains control characters; type it without them.",
                field="location",
                code="control_characters",
                params={"field": "location"},
            )
        if len(self.tags) > MAX_TAGS or any(len(t) > MAX_TAG_LENGTH for t in self.tags):
            raise InvalidBooking(
                f"A room has at most {MAX_TAGS} tags of at most {MAX_TAG_LENGTH} characters.",
                field="tags",
                code="tags_invalid",
                params={"count": MAX_TAGS, "length": MAX_TAG_LENGTH},
            )
        if not all(printable(t) for t in self.tags):
            raise InvalidBooking(
                "A tag contains control characters; type it without them.",
                field="tags",
                code="control_characters",
                params={"field": "tags"},
            )
        if (
            not self.id
            or len(self.id) > 32
            or any(c.isspace() for c in self.id)
            or not printable(self.id)
        ):
            raise InvalidBooking(
                "A room id is 1 to 32 characters without spaces, such as 102.",
                field="room_id",
                code="room_id_invalid",
            )
        if self.name and not printable(self.name):
            raise InvalidBooking(
                "The room name contains control characters; type it without them.",
                field="name",
                code="control_characters",
                params={"field": "name"},
            )
        if not self.name or len(self.name) > 80:
            raise InvalidBooking(
                "A room name is 1 to 80 characters.", field="name", code="room_name_invalid"
            )
        if (
            isinstance(self.capacity, bool)
            or not isinstance(self.capacity, int)
            or not 1 <= self.capacity <= 10_000
        ):
            raise InvalidBooking(
                "Capacity is a whole number from 1 to 10000.",
                field="capacity",
                code="capacity_invalid",
            )
        if self.checkin_minutes is not None:
            check_checkin_minutes(self.checkin_minutes)

    @property
    def checkin_window(self) -> timedelta | None:
        """How long after a start the booker has to check in, if the room uses check-in."""
        return None if self.checkin_minutes is None else timedelta(minutes=self.checkin_minutes)

    def has_tags(self, wanted: Iterable[str]) -> bool:
        return set(normalise_tags(wanted)) <= set(self.tags)

    def ensure_bookable(self) -> None:
        if not self.active:
            raise RoomInactive(
                f"Room {self.id} ({self.name}) is no longer available for booking.",
                code="room_inactive",
                params={"room_id": self.id, "name": self.name},
            )


@dataclass(eq=False)
class Booking:
    """A booking request and its life. Times are aware UTC; the slot is ``[starts_at, ends_at)``.

    ``id`` is given by the database when the booking is first stored; until then it is ``None`` and
    events carry 0, which the unit of work fixes up when it collects them.
    """

    room_id: str
    starts_at: datetime
    ends_at: datetime
    booker: str
    title: str
    requested_at: datetime
    status: BookingStatus = BookingStatus.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    reminded_at: datetime | None = None
    nudged_at: datetime | None = None
    #: The calendar SEQUENCE of the booking's invite: raised by every change, so a calendar
    #: moves the event it already has instead of adding a second one.
    sequence: int = 0
    #: A calendar invite went out (the booking was approved at some point), so a cancel or a
    #: denial after a change must withdraw it.
    invited: bool = False
    series_id: int | None = None
    #: An occurrence's start as its series' rule gave it, kept when the occurrence is moved
    #: (the calendar's RECURRENCE-ID of the override).
    recurrence_id: datetime | None = None
    checked_in_at: datetime | None = None
    id: int | None = None
    events: list[events.Event] = field(default_factory=list, repr=False)

    @classmethod
    def request(
        cls,
        *,
        room: Room,
        starts_at: datetime,
        ends_at: datetime,
        booker: str,
        title: str,
        now: datetime,
        limits: BookingLimits,
        policy: str | None = None,
        series_id: int | None = None,
    ) -> Booking:
        """A new request; with ``policy`` (the rule that approves it, see
        ``Context.auto_approval``) it is approved on creation, by no person. With ``series_id``
        it is an occurrence of that series, its start the occurrence's RECURRENCE-ID."""
        title = " ".join(title.split())
        room.ensure_bookable()
        validate_request(starts_at=starts_at, ends_at=ends_at, title=title, now=now, limits=limits)
        booking = cls(
            room_id=room.id,
            starts_at=_utc(starts_at),
            ends_at=_utc(ends_at),
            booker=booker,
            title=title,
            requested_at=_utc(now),
            series_id=series_id,
            recurrence_id=_utc(starts_at) if series_id is not None else None,
        )
        booking.events.append(
            events.BookingRequested(
                booking_id=0,
                actor=booker,
                at=booking.requested_at,
                room_id=room.id,
                starts_at=booking.starts_at,
                ends_at=booking.ends_at,
                title=title,
                policy=policy,
                series_id=series_id,
                recurrence_id=booking.recurrence_id,
            )
        )
        if policy is not None:
            booking.status = BookingStatus.APPROVED
            booking.decided_by, booking.decided_at = POLICY_ACTOR, booking.requested_at
            booking.invited = True  # its approval sends an invite, as a person's does
            booking.events.append(
                events.BookingApproved(
                    booking_id=0,
                    actor=POLICY_ACTOR,
                    at=booking.requested_at,
                    policy=policy,
                    whole_series=series_id is not None,
                )
            )
        return booking

    @property
    def holds_slot(self) -> bool:
        return self.status.holds_slot

    def overlaps(self, starts_at: datetime, ends_at: datetime) -> bool:
        return overlaps(self.starts_at, self.ends_at, starts_at, ends_at)

    def _move(self, to: BookingStatus) -> bool:
        """Change status; ``False`` means it already was ``to`` (a repeat, which is a no-op)."""
        if self.status == to:
            return False
        if to not in ALLOWED[self.status]:
            raise InvalidTransition(
                f"Booking {self.id} is {self.status.lower()}; it cannot become {to.lower()}.",
                code="cannot_become",
                params={"booking_id": self.id, "status": self.status, "to": to},
            )
        self.status = to
        return True

    def approve(self, by: str, at: datetime, *, whole_series: bool = False) -> None:
        """Approve the request; ``whole_series``: as part of approving its series as one."""
        at = _utc(at)
        if self._move(BookingStatus.APPROVED):
            self.decided_by, self.decided_at = by, at
            if self.invited:
                self.sequence += 1  # the new invite replaces the one sent before the change
            self.invited = True
            self.events.append(
                events.BookingApproved(
                    booking_id=self._event_id,
                    actor=by,
                    at=at,
                    sequence=self.sequence,
                    whole_series=whole_series,
                )
            )

    def deny(
        self, by: str, at: datetime, reason: str | None = None, *, whole_series: bool = False
    ) -> None:
        """Deny the request; a denied booking frees its slot (the original's cancel-on-deny)."""
        reason = " ".join((reason or "").split()) or None
        if reason is not None and not printable(reason):
            raise InvalidBooking(
                "The reason contains control characters; type it without them.",
                field="reason",
                code="control_characters",
                params={"field": "reason"},
            )
        at = _utc(at)
        if self._move(BookingStatus.DENIED):
            self.decided_by, self.decided_at, self.reason = by, at, reason
            if self.invited:
                self.sequence += 1
            self.events.append(
                events.BookingDenied(
                    booking_id=self._event_id,
                    actor=by,
                    at=at,
                    reason=reason,
                    was_approved=self.invited,
                    sequence=self.sequence,
                    whole_series=whole_series,
                )
            )

    def cancel(
        self,
        by: str,
        at: datetime,
        *,
        is_admin: bool = False,
        reason: str | None = None,
        whole_series: bool = False,
    ) -> None:
        """Cancel the booking; ``reason`` is a code such as :data:`LEFT_WORKSPACE` (the views
        say it in the reader's language) or the words of the admin who cancelled it, sent to
        the booker (as :func:`typed_reason` stores them). ``whole_series``: one of many in one
        act on its series (this and all following), which the series' own event tells people
        about."""
        if by != self.booker and not is_admin:
            raise NotAllowed(
                "Only the person who booked it, or an admin, can cancel this booking.",
                code="not_yours",
            )
        at = _utc(at)
        was_approved = self.status == BookingStatus.APPROVED or self.invited
        if self._move(BookingStatus.CANCELLED):
            if self.invited:
                self.sequence += 1
            self.events.append(
                events.BookingCancelled(
                    booking_id=self._event_id,
                    actor=by,
                    at=at,
                    was_approved=was_approved,
                    by_admin=by != self.booker,
                    sequence=self.sequence,
                    reason=reason,
                    whole_series=whole_series,
                )
            )
            if reason is not None:
                self.reason = reason

    def change(
        self,
        *,
        room: Room,
        starts_at: datetime,
        ends_at: datetime,
        title: str,
        by: str,
        at: datetime,
        limits: BookingLimits,
        is_admin: bool = False,
        policy: str | None = None,
    ) -> bool:
        """Move, extend, shorten, re-room or retitle the booking; ``False`` if nothing differs.

        An approved booking that only gets shorter (or only its title changes) stays approved:
        what the admin agreed to still covers it. One that moves, grows or changes room asks for
        approval again, unless ``policy`` (the rule that would approve the booker's request for
        the new room on creation, see ``Context.auto_approval``) approves it as it would a new
        request. A booking in progress can change only its title and end, and its end only to
        earlier: a request for more time is a new booking.
        """
        if by != self.booker and not is_admin:
            raise NotAllowed(
                "Only the person who booked it, or an admin, can change this booking.",
                code="not_yours_change",
            )
        at = _utc(at)
        self._ensure_changeable(at)
        title = " ".join(title.split())
        started = self.starts_at <= at
        if started and room.id != self.room_id:
            raise InvalidBooking(
                f"Booking {self.id} has started; only its end and title can change.",
                field="room",
                code="started",
                params={"booking_id": self.id},
            )
        if started and _utc(starts_at) != self.starts_at:
            raise InvalidBooking(
                f"Booking {self.id} has started; only its end and title can change.",
                field="start",
                code="started",
                params={"booking_id": self.id},
            )
        if room.id != self.room_id:
            room.ensure_bookable()
        validate_change(
            starts_at=starts_at,
            ends_at=ends_at,
            title=title,
            now=at,
            limits=limits,
            started=started,
        )
        starts_at, ends_at = _utc(starts_at), _utc(ends_at)
        same_room = room.id == self.room_id
        if same_room and (starts_at, ends_at, title) == (self.starts_at, self.ends_at, self.title):
            return False
        within = same_room and self.starts_at <= starts_at and ends_at <= self.ends_at
        if started and self.status == BookingStatus.APPROVED and not within:
            # Growing would send it back for approval, and a pending booking expires once it
            # has started: the meeting under way would lose its room within a minute.
            raise InvalidBooking(
                f"Booking {self.id} has started; it cannot wait for approval again, so its end "
                "cannot move later. Book the extra time as a new request.",
                field="end",
                code="started_grows",
                params={"booking_id": self.id},
            )
        self._apply_change(
            room_id=room.id,
            starts_at=starts_at,
            ends_at=ends_at,
            title=title,
            by=by,
            at=at,
            needs_approval=self.status == BookingStatus.APPROVED and not within and policy is None,
        )
        return True

    def end_now(self, by: str, at: datetime, *, is_admin: bool = False) -> None:
        """End an approved booking in progress: the rest of its slot is free from the next
        minute (the one under way stays with the meeting that is leaving)."""
        if by != self.booker and not is_admin:
            raise NotAllowed(
                "Only the person who booked it, or an admin, can end this booking.",
                code="not_yours_end",
            )
        at = _utc(at)
        self._ensure_changeable(at)
        if self.status != BookingStatus.APPROVED:
            raise InvalidTransition(
                f"Booking {self.id} is not approved yet; cancel it instead of ending it.",
                code="end_not_approved",
                params={"booking_id": self.id},
            )
        if at < self.starts_at:
            raise InvalidTransition(
                f"Booking {self.id} has not started yet; cancel it or change its time instead.",
                code="end_not_started",
                params={"booking_id": self.id},
            )
        end = at.replace(second=0, microsecond=0)
        if end < at:
            end += timedelta(minutes=1)
        end = max(end, self.starts_at + timedelta(minutes=1))
        if end >= self.ends_at:
            return  # it ends within the minute anyway: nothing to free
        self._apply_change(
            room_id=self.room_id,
            starts_at=self.starts_at,
            ends_at=end,
            title=self.title,
            by=by,
            at=at,
            needs_approval=False,
            ended_early=True,
        )

    def check_in(self, by: str, at: datetime, *, window: timedelta, is_admin: bool = False) -> None:
        """Say the meeting is happening, from :data:`CHECKIN_OPENS_BEFORE` the start until the
        room's window closes; a second check-in does nothing."""
        if by != self.booker and not is_admin:
            raise NotAllowed(
                "Only the person who booked it, or an admin, can check in.",
                code="not_yours_check_in",
            )
        at = _utc(at)
        if self.checked_in_at is not None:
            return
        if self.status != BookingStatus.APPROVED:
            raise InvalidTransition(
                f"Booking {self.id} is {self.status.lower()}; only an approved booking checks in.",
                code="check_in_not_approved",
                params={"booking_id": self.id, "status": self.status},
            )
        if not self.starts_at - CHECKIN_OPENS_BEFORE <= at < self.starts_at + window:
            raise InvalidTransition(
                f"Check-in for booking {self.id} is open from "
                f"{CHECKIN_OPENS_BEFORE.seconds // 60} minutes before its start until "
                f"{window.seconds // 60} minutes after it.",
                code="check_in_closed",
                params={
                    "booking_id": self.id,
                    "before": CHECKIN_OPENS_BEFORE.seconds // 60,
                    "after": window.seconds // 60,
                },
            )
        self.checked_in_at = at
        self.events.append(events.BookingCheckedIn(booking_id=self._event_id, actor=by, at=at))

    def release(
        self,
        by: str,
        at: datetime,
        *,
        window: timedelta | None = None,
        is_admin: bool = False,
    ) -> None:
        """Free the room of an approved booking nobody is using.

        The scheduler (``by="system"``) releases a booking not checked in once ``window`` has
        passed since its start; the booker (or an admin) may release it before it ends, until
        they have checked in (then *End now* frees the rest). Releasing twice does nothing.
        """
        at = _utc(at)
        automatic = by == "system"
        if not automatic and by != self.booker and not is_admin:
            raise NotAllowed(
                "Only the person who booked it, or an admin, can release this room.",
                code="not_yours_release",
            )
        if self.status == BookingStatus.RELEASED:
            return
        if self.status != BookingStatus.APPROVED:
            raise InvalidTransition(
                f"Booking {self.id} is {self.status.lower()}; "
                "only an approved booking is released.",
                code="release_not_approved",
                params={"booking_id": self.id, "status": self.status},
            )
        if self.checked_in_at is not None:
            raise InvalidTransition(
                f"Booking {self.id} is checked in; end it instead to free the room.",
                code="release_checked_in",
                params={"booking_id": self.id},
            )
        if self.ends_at <= at:
            raise InvalidTransition(
                f"Booking {self.id} has ended already.",
                code="ended",
                params={"booking_id": self.id},
            )
        if automatic and (window is None or at < self.starts_at + window):
            raise InvalidTransition(
                f"The check-in window of booking {self.id} is still open.",
                code="check_in_open",
                params={"booking_id": self.id},
            )
        self._move(BookingStatus.RELEASED)
        self.sequence += 1
        self.events.append(
            events.BookingReleased(
                booking_id=self._event_id,
                actor=by,
                at=at,
                automatic=automatic,
                sequence=self.sequence,
            )
        )

    def _ensure_changeable(self, at: datetime) -> None:
        if not self.holds_slot:
            raise InvalidTransition(
                f"Booking {self.id} is {self.status.lower()}; it can no longer be changed.",
                code="not_changeable",
                params={"booking_id": self.id, "status": self.status},
            )
        if self.ends_at <= at:
            raise InvalidTransition(
                f"Booking {self.id} has ended; it can no longer be changed.",
                code="ended",
                params={"booking_id": self.id},
            )

    def _apply_change(
        self,
        *,
        room_id: str,
        starts_at: datetime,
        ends_at: datetime,
        title: str,
        by: str,
        at: datetime,
        needs_approval: bool,
        ended_early: bool = False,
    ) -> None:
        was = (self.room_id, self.starts_at, self.ends_at, self.title)
        was_approved = self.status == BookingStatus.APPROVED
        if starts_at != self.starts_at:
            self.reminded_at = None  # the reminder is due again before the new start
        self.room_id, self.starts_at, self.ends_at, self.title = room_id, starts_at, ends_at, title
        self.sequence += 1
        if needs_approval:
            self._move(BookingStatus.PENDING)
            self.decided_by = self.decided_at = None
        self.events.append(
            events.BookingChanged(
                booking_id=self._event_id,
                actor=by,
                at=at,
                room_id=room_id,
                starts_at=starts_at,
                ends_at=ends_at,
                title=title,
                was_room_id=was[0],
                was_starts_at=was[1],
                was_ends_at=was[2],
                was_title=was[3],
                was_approved=was_approved,
                needs_approval=needs_approval,
                ended_early=ended_early,
                sequence=self.sequence,
            )
        )

    def expire(self, at: datetime, *, whole_series: bool = False) -> None:
        """A request nobody decided before it started expires; ``whole_series``: together with
        other dates of its series, which the series' own event tells people about."""
        at = _utc(at)
        if self.status != BookingStatus.PENDING:
            raise InvalidTransition(
                f"Booking {self.id} is {self.status.lower()}, not pending.",
                code="not_pending",
                params={"booking_id": self.id, "status": self.status},
            )
        if at < self.starts_at:
            raise InvalidTransition(
                f"Booking {self.id} has not started yet.",
                code="not_started",
                params={"booking_id": self.id},
            )
        self._move(BookingStatus.EXPIRED)
        self.events.append(
            events.BookingExpired(
                booking_id=self._event_id, actor="system", at=at, whole_series=whole_series
            )
        )

    def remind(self, at: datetime) -> None:
        """Record the one reminder of an approved booking; later calls do nothing."""
        at = _utc(at)
        if self.status != BookingStatus.APPROVED or self.reminded_at is not None:
            return
        self.reminded_at = at
        minutes = max(0, round((self.starts_at - at).total_seconds() / 60))
        self.events.append(
            events.BookingReminderDue(
                booking_id=self._event_id, actor="system", at=at, starts_in_minutes=minutes
            )
        )

    def nudge(self, at: datetime) -> None:
        """Record the one nudge to admins about a request still waiting; later calls do nothing."""
        at = _utc(at)
        if self.status != BookingStatus.PENDING or self.nudged_at is not None:
            return
        self.nudged_at = at
        waiting = max(0, round((at - self.requested_at).total_seconds() / 60))
        self.events.append(
            events.ApprovalOverdue(
                booking_id=self._event_id, actor="system", at=at, waiting_minutes=waiting
            )
        )

    @property
    def _event_id(self) -> int:
        return self.id or 0


@dataclass(eq=False)
class Series:
    """One recurring request: the rule (RRULE), the zone its wall-clock times repeat in and
    its first slot. Its occurrences are booking rows (``Booking.series_id``), each holding its
    own slot; the series is requested, approved or denied as one.

    ``release_streak`` counts occurrences released in a row (a check-in resets it); the series
    is ended when it reaches the limit, or when someone cancels this and all following.
    """

    room_id: str
    booker: str
    title: str
    rule: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    requested_at: datetime
    release_streak: int = 0
    ended_at: datetime | None = None
    end_reason: str | None = None
    id: int | None = None

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    def end(self, at: datetime, reason: str) -> bool:
        """Stop the series; ``False`` if it had ended already."""
        if self.ended_at is not None:
            return False
        self.ended_at, self.end_reason = _utc(at), reason
        return True

    def released(self, limit: int) -> bool:
        """One more occurrence was released; ``True`` when that makes ``limit`` in a row (a
        limit of 0 never ends a series)."""
        self.release_streak += 1
        return limit > 0 and self.release_streak >= limit

    def checked_in(self) -> None:
        self.release_streak = 0


class WaitlistStatus(StrEnum):
    WAITING = "WAITING"
    OFFERED = "OFFERED"
    BOOKED = "BOOKED"
    LAPSED = "LAPSED"
    WITHDRAWN = "WITHDRAWN"


@dataclass(eq=False)
class WaitlistEntry:
    """Someone waiting for a taken slot of a room, first come first served.

    When the slot frees (a cancel, a denial, a release, a change that gives it up), the first
    person waiting is offered it for a while; an offer not taken lapses and passes it on.
    """

    room_id: str
    starts_at: datetime
    ends_at: datetime
    user: str
    title: str
    created_at: datetime
    status: WaitlistStatus = WaitlistStatus.WAITING
    offered_at: datetime | None = None
    offer_expires_at: datetime | None = None
    booking_id: int | None = None
    id: int | None = None
    events: list[events.Event] = field(default_factory=list, repr=False)

    def offer(self, *, freed_by: int, at: datetime, lasts: timedelta) -> None:
        at = _utc(at)
        if self.status != WaitlistStatus.WAITING:
            raise InvalidTransition(f"Waitlist entry {self.id} is {self.status.lower()}.")
        self.status, self.offered_at, self.offer_expires_at = WaitlistStatus.OFFERED, at, at + lasts
        self.events.append(
            events.WaitlistOffered(
                booking_id=freed_by,
                actor="system",
                at=at,
                entry_id=self.id or 0,
                user=self.user,
                room_id=self.room_id,
                starts_at=self.starts_at,
                ends_at=self.ends_at,
                title=self.title,
                expires_at=self.offer_expires_at,
            )
        )

    def claim(self, by: str, at: datetime) -> None:
        """The person the offer is for takes it (the booking is requested beside this)."""
        at = _utc(at)
        if by != self.user:
            raise NotAllowed("This offer is for someone else.", code="offer_not_yours")
        if self.status == WaitlistStatus.BOOKED:
            raise InvalidTransition("You booked this slot already.", code="offer_booked")
        if self.status != WaitlistStatus.OFFERED:
            raise InvalidTransition("This offer is no longer open.", code="offer_closed")
        assert self.offer_expires_at is not None
        if at >= self.offer_expires_at:
            raise InvalidTransition(
                "This offer has lapsed; the slot passed to the next person.", code="offer_lapsed"
            )
        self.status = WaitlistStatus.BOOKED

    def withdraw(self, at: datetime) -> None:
        """The person no longer waits (they left the workspace). An offer they held passes on
        at once, as if it had lapsed; an entry already done is left as it is."""
        if self.status == WaitlistStatus.WAITING:
            self.status = WaitlistStatus.WITHDRAWN
        elif self.status == WaitlistStatus.OFFERED:
            self.status = WaitlistStatus.WITHDRAWN
            self.events.append(
                events.WaitlistLapsed(
                    booking_id=0,
                    actor="system",
                    at=_utc(at),
                    entry_id=self.id or 0,
                    room_id=self.room_id,
                    starts_at=self.starts_at,
                    ends_at=self.ends_at,
                )
            )

    def lapse(self, at: datetime) -> None:
        at = _utc(at)
        if self.status != WaitlistStatus.OFFERED or self.offer_expires_at is None:
            raise InvalidTransition(f"Waitlist entry {self.id} has no open offer.")
        if at < self.offer_expires_at:
            raise InvalidTransition(f"The offer of waitlist entry {self.id} is still open.")
        self.status = WaitlistStatus.LAPSED
        self.events.append(
            events.WaitlistLapsed(
                booking_id=0,  # no booking: the offer ran out
                actor="system",
                at=at,
                entry_id=self.id or 0,
                room_id=self.room_id,
                starts_at=self.starts_at,
                ends_at=self.ends_at,
            )
        )


@dataclass(eq=False)
class Approval:
    """The approval record of a booking (the original's *confirm*), alive while the booking is
    pending or decided, and deleted when the booking is cancelled."""

    booking_id: int
    status: ApprovalStatus = ApprovalStatus.REQUESTED
    decided_by: str | None = None
    decided_at: datetime | None = None

    def record(self, status: ApprovalStatus, by: str, at: datetime) -> None:
        self.status, self.decided_by, self.decided_at = status, by, _utc(at)

    def reopen(self) -> None:
        """The booking changed so that it needs a decision again."""
        self.status, self.decided_by, self.decided_at = ApprovalStatus.REQUESTED, None, None
