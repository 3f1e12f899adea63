"""The notice contract: what an outbox row carries, typed once for its writer and its senders.

The policy that writes outbox rows (``bot.services.handlers``) builds these objects and stores
``to_payload()``; the senders read the row back with ``from_payload()``. Nothing else looks
inside a payload, so the JSON shape is decided here alone. The shape is the one earlier releases
wrote and read (``{"kind", "actor", "at", "booking": {...}}``), so rows written by an older
process are delivered by a newer one and the other way round during a rolling deploy.

Pure Python: no Slack, no SQL, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, Self
from zoneinfo import ZoneInfo

from bot.domain.events import Event
from bot.domain.recurrence import expand
from bot.services.ports import BookingRow, Reader

#: Every kind of notice. The first five tell the booker about booking events; ``reminder`` (to
#: the booker) and ``nudge`` (to each admin, about a request waiting too long) come from jobs;
#: ``ended`` tells the booker and the admins that a recurring series stopped.
KINDS = (
    "requested",
    "approved",
    "denied",
    "cancelled",
    "expired",
    "changed",
    "released",
    "offer",
    "reminder",
    "nudge",
    "ended",
)

#: Actors that are not people (the operator's shell, the scheduler); never shown as a mention.
NON_PERSON_ACTORS = frozenset({"cli", "system", "policy"})

#: SEQUENCE of the first invite, and the least a cancel carries (earlier releases' rows have no
#: booking sequence, and their cancel must still outrank their invite).
INVITE_SEQUENCE = 0
CANCEL_SEQUENCE = 1


class BadPayload(ValueError):
    """A payload no version of this contract can read: the row can never be delivered."""


@dataclass(frozen=True)
class SeriesDate:
    """One occurrence of a series as a notice carries it: its start by the rule (the calendar's
    RECURRENCE-ID), its slot now (moved, if it differs), its status (a ``BookingStatus``) and
    its own title (retitled, if it differs from the series'; empty in payloads written before
    dates carried it)."""

    recurrence_id: datetime
    starts_at: datetime
    ends_at: datetime
    status: str
    title: str = ""

    @property
    def approved(self) -> bool:
        return self.status == "APPROVED"


class _SeriesLike(Protocol):
    """What a series is read from: its aggregate, or its row."""

    @property
    def rule(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...
    @property
    def ended_at(self) -> datetime | None: ...
    @property
    def end_reason(self) -> str | None: ...


class _OccurrenceLike(Protocol):
    """What an occurrence is read from: its aggregate, or its read-model row."""

    @property
    def recurrence_id(self) -> datetime | None: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def sequence(self) -> int: ...
    @property
    def title(self) -> str: ...


@dataclass(frozen=True)
class SeriesPart:
    """The recurring series a notice is about, or the one its booking is an occurrence of: the
    rule and the zone its wall-clock times repeat in, the first slot by the rule, and every
    occurrence (dates of the rule with none were taken when it was requested).

    ``sequence`` is the series' calendar SEQUENCE, one for its one invite: the sum of its
    occurrences' own sequences (each only grows, at every change or withdrawal of one) and one
    more once it ended, so every later invite or cancel of the series outranks the ones before.
    """

    series_id: int
    rule: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    dates: tuple[SeriesDate, ...]
    sequence: int = 0
    end_reason: str | None = None

    @classmethod
    def of(cls, series_id: int, series: _SeriesLike, dates: Iterable[_OccurrenceLike]) -> Self:
        """The series with its occurrences, from the aggregates (a notice's writer) or from
        their rows (a calendar feed): both name the same calendar entry the same way."""
        dates = list(dates)
        return cls(
            series_id=series_id,
            rule=series.rule,
            timezone=series.timezone,
            starts_at=series.starts_at,
            ends_at=series.ends_at,
            dates=tuple(
                SeriesDate(
                    d.recurrence_id or d.starts_at, d.starts_at, d.ends_at, str(d.status), d.title
                )
                for d in dates
            ),
            sequence=sum(d.sequence for d in dates) + (0 if series.ended_at is None else 1),
            end_reason=series.end_reason,
        )

    @property
    def approved(self) -> tuple[SeriesDate, ...]:
        """The dates the series' calendar entry holds."""
        return tuple(d for d in self.dates if d.approved)

    @property
    def held(self) -> tuple[SeriesDate, ...]:
        """The dates that hold their slot (waiting for approval, or approved)."""
        return tuple(d for d in self.dates if d.status in ("PENDING", "APPROVED"))

    def by_rule(self) -> list[tuple[datetime, datetime]]:
        """Every slot of the rule, occurrence or not, in order."""
        return expand(self.rule, self.starts_at, self.ends_at, ZoneInfo(self.timezone))

    @property
    def skipped(self) -> tuple[datetime, ...]:
        """The rule's dates with no occurrence: taken by someone else when it was requested."""
        have = {d.recurrence_id for d in self.dates}
        return tuple(start for start, _end in self.by_rule() if start not in have)

    def to_payload(self) -> dict[str, Any]:
        return {
            "series_id": self.series_id,
            "rule": self.rule,
            "timezone": self.timezone,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "sequence": self.sequence,
            "end_reason": self.end_reason,
            "dates": [
                {
                    "recurrence_id": d.recurrence_id.isoformat(),
                    "starts_at": d.starts_at.isoformat(),
                    "ends_at": d.ends_at.isoformat(),
                    "status": d.status,
                    "title": d.title,
                }
                for d in self.dates
            ],
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        return cls(
            series_id=int(payload["series_id"]),
            rule=str(payload["rule"]),
            timezone=str(payload["timezone"]),
            starts_at=_moment(payload["starts_at"]),
            ends_at=_moment(payload["ends_at"]),
            sequence=int(payload.get("sequence") or 0),
            end_reason=payload.get("end_reason") or None,
            dates=tuple(
                SeriesDate(
                    recurrence_id=_moment(d["recurrence_id"]),
                    starts_at=_moment(d["starts_at"]),
                    ends_at=_moment(d["ends_at"]),
                    status=str(d["status"]),
                    title=str(d.get("title") or ""),
                )
                for d in payload["dates"]
            ),
        )


@dataclass(frozen=True)
class Notice:
    """A message about one booking event to one person (a DM and an email are made from it):
    what happened, by whom, when, and the booking as it was at that moment.

    ``sequence`` is the booking's calendar SEQUENCE when the notice was written
    (``Booking.sequence``, which every change and withdrawal raises), so the invite or cancel
    this notice's email carries outranks every earlier one. ``was_*`` is the booking before a
    change.
    """

    kind: str
    actor: str
    at: datetime
    booking_id: int
    room_id: str
    room_name: str
    starts_at: datetime
    ends_at: datetime
    booker: str
    title: str = ""
    reason: str | None = None
    was_approved: bool = False
    by_admin: bool = False
    minutes: int | None = None
    waiting_minutes: int | None = None
    needs_approval: bool = False
    ended_early: bool = False
    sequence: int = 0
    was_room_id: str | None = None
    was_room_name: str | None = None
    was_starts_at: datetime | None = None
    was_ends_at: datetime | None = None
    #: A release by the scheduler (nobody checked in), not by the booker.
    automatic: bool = False
    #: The room's check-in window in minutes, on a reminder of a booking in such a room.
    checkin: int | None = None
    #: On a waitlist offer: the entry to book, and until when the offer is open.
    entry_id: int | None = None
    expires_at: datetime | None = None
    #: The series: for a notice about the whole series (``recurrence_id`` is then ``None``; the
    #: booking fields are its first date), or the one the booking is an occurrence of.
    series: SeriesPart | None = None
    recurrence_id: datetime | None = None
    #: Written for the admins about someone else's booking (a series that ended), not for the
    #: booker: no calendar entry goes with it.
    to_admins: bool = False
    #: On an ended series: how many of its dates the end cancelled.
    cancelled_dates: int | None = None
    #: On a series several dates of which expired at once: how many.
    expired_dates: int | None = None
    #: The booker's zone and language as the writer knew them (None: the sender asks Slack).
    reader: Reader | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise BadPayload(f"unknown notice kind {self.kind!r}")
        for name in ("at", "starts_at", "ends_at"):
            if getattr(self, name).tzinfo is None:
                raise BadPayload(f"notice times must be timezone-aware ({name})")

    @classmethod
    def of(cls, kind: str, event: Event, row: BookingRow, **extra: Any) -> Self:
        """The notice of ``event`` about the booking ``row`` (the read model, after the event)."""
        return cls(
            kind=kind,
            actor=event.actor,
            at=event.at,
            booking_id=row.booking_id,
            room_id=row.room_id,
            room_name=row.room_name,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            booker=row.booker,
            title=row.title,
            reason=row.reason,
            sequence=row.sequence,
            was_room_id=row.was_room_id,
            was_room_name=row.was_room_name,
            was_starts_at=row.was_starts_at,
            was_ends_at=row.was_ends_at,
            **extra,
        )

    @property
    def about_series(self) -> bool:
        """About a whole series (requested, approved, denied or ended as one, or several of its
        dates expired at once), not one date."""
        return self.series is not None and self.recurrence_id is None

    @property
    def withdraws_invite(self) -> bool:
        """A calendar invite went out earlier and this notice takes it back."""
        if self.about_series:
            return self.kind in ("denied", "ended") and self.was_approved
        return self.kind in ("cancelled", "denied", "released") and self.was_approved

    @property
    def moves_invite(self) -> bool:
        """A calendar invite went out earlier and this notice moves it (a change)."""
        return self.kind == "changed" and self.was_approved

    @property
    def was_when(self) -> tuple[datetime, datetime] | None:
        """The slot before a change, if the change moved it."""
        if self.kind != "changed" or self.was_starts_at is None or self.was_ends_at is None:
            return None
        if (self.was_starts_at, self.was_ends_at) == (self.starts_at, self.ends_at):
            return None
        return self.was_starts_at, self.was_ends_at

    @property
    def calendar_method(self) -> str | None:
        """The iTIP method of the calendar part this notice's email carries, if any.

        A series has one entry: approving it invites to it, a change or a withdrawal of one
        date sends the series again or a cancel of that date (RECURRENCE-ID), and an end sends
        what is left of it, or a cancel of all of it when no date is left."""
        if self.to_admins:
            return None
        if self.about_series and self.withdraws_invite:
            assert self.series is not None
            return "REQUEST" if self.series.approved else "CANCEL"
        if self.kind == "approved" or self.moves_invite:
            return "REQUEST"
        if self.withdraws_invite:
            return "CANCEL"
        return None

    @property
    def calendar_sequence(self) -> int:
        """SEQUENCE for the calendar part: the booking's (or its series'), and never below what
        an invite (or a cancel, for rows written before bookings had a sequence) started from."""
        floor = CANCEL_SEQUENCE if self.calendar_method == "CANCEL" else INVITE_SEQUENCE
        own = self.series.sequence if self.series is not None else self.sequence
        return max(own, floor)

    def to_payload(self) -> dict[str, Any]:
        booking: dict[str, Any] = {
            "booking_id": self.booking_id,
            "room_id": self.room_id,
            "room_name": self.room_name,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "booker": self.booker,
            "title": self.title,
            "reason": self.reason,
            "sequence": self.sequence,
        }
        for name in ("was_room_id", "was_room_name"):
            if getattr(self, name) is not None:
                booking[name] = getattr(self, name)
        for name in ("was_starts_at", "was_ends_at"):
            moment = getattr(self, name)
            if moment is not None:
                booking[name] = moment.isoformat()
        payload: dict[str, Any] = {
            "kind": self.kind,
            "actor": self.actor,
            "at": self.at.isoformat(),
            "booking": booking,
        }
        for name in (
            "minutes",
            "waiting_minutes",
            "checkin",
            "entry_id",
            "cancelled_dates",
            "expired_dates",
        ):
            if getattr(self, name) is not None:
                payload[name] = getattr(self, name)
        for name in ("was_approved", "by_admin", "needs_approval", "ended_early", "automatic"):
            payload[name] = getattr(self, name)
        if self.expires_at is not None:
            payload["expires_at"] = self.expires_at.isoformat()
        if self.series is not None:
            payload["series"] = self.series.to_payload()
        if self.recurrence_id is not None:
            payload["recurrence_id"] = self.recurrence_id.isoformat()
        if self.to_admins:
            payload["to_admins"] = True
        if self.reader is not None:
            payload["reader"] = {"tz": self.reader.tz, "locale": self.reader.locale}
        return payload

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        try:
            booking = payload["booking"]
            return cls(
                kind=str(payload["kind"]),
                actor=str(payload.get("actor") or ""),
                at=_moment(payload.get("at") or booking["requested_at"]),
                booking_id=int(booking["booking_id"]),
                room_id=str(booking["room_id"]),
                room_name=str(booking.get("room_name") or booking["room_id"]),
                starts_at=_moment(booking["starts_at"]),
                ends_at=_moment(booking["ends_at"]),
                booker=str(booking["booker"]),
                title=str(booking.get("title") or ""),
                reason=booking.get("reason") or None,
                was_approved=bool(payload.get("was_approved", False)),
                by_admin=bool(payload.get("by_admin", False)),
                minutes=_int(payload.get("minutes")),
                waiting_minutes=_int(payload.get("waiting_minutes")),
                needs_approval=bool(payload.get("needs_approval", False)),
                ended_early=bool(payload.get("ended_early", False)),
                sequence=int(booking.get("sequence") or 0),
                was_room_id=booking.get("was_room_id") or None,
                was_room_name=booking.get("was_room_name") or None,
                was_starts_at=_maybe_moment(booking.get("was_starts_at")),
                was_ends_at=_maybe_moment(booking.get("was_ends_at")),
                automatic=bool(payload.get("automatic", False)),
                checkin=_int(payload.get("checkin")),
                entry_id=_int(payload.get("entry_id")),
                expires_at=_maybe_moment(payload.get("expires_at")),
                series=SeriesPart.from_payload(payload["series"])
                if payload.get("series")
                else None,
                recurrence_id=_maybe_moment(payload.get("recurrence_id")),
                to_admins=bool(payload.get("to_admins", False)),
                cancelled_dates=_int(payload.get("cancelled_dates")),
                expired_dates=_int(payload.get("expired_dates")),
                reader=_reader(payload.get("reader")),
            )
        except BadPayload:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise BadPayload(f"unreadable notice: {exc!r}") from exc


@dataclass(frozen=True)
class CardRefresh:
    """Bring the approval card of a booking up to date (post it if it does not exist yet)."""

    booking_id: int

    def to_payload(self) -> dict[str, Any]:
        return {"booking_id": self.booking_id}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        try:
            return cls(int(payload["booking_id"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise BadPayload(f"unreadable card refresh: {exc!r}") from exc


@dataclass(frozen=True)
class ChannelProblem:
    """An admin's DM: Slack refuses approval cards in ``channel`` with ``error``, since ``at``;
    the cards wait until someone fixes it."""

    KIND = "approvals_channel"

    channel: str
    error: str
    at: datetime

    @staticmethod
    def is_one(payload: Mapping[str, Any]) -> bool:
        return payload.get("kind") == ChannelProblem.KIND

    def to_payload(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "channel": self.channel,
            "error": self.error,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        try:
            if payload["kind"] != cls.KIND:
                raise BadPayload(f"not an approvals channel problem: {payload['kind']!r}")
            return cls(str(payload["channel"]), str(payload["error"]), _moment(payload["at"]))
        except BadPayload:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise BadPayload(f"unreadable approvals channel problem: {exc!r}") from exc


@dataclass(frozen=True)
class HomeRefresh:
    """Publish a user's App Home again. ``pages`` keeps how far the user paged each list with
    "Show more", so a refresh the user caused does not fold their lists back to the first page.
    """

    pages: Mapping[str, int] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        return {"pages": dict(self.pages)} if self.pages else {}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        pages = payload.get("pages") or {}
        if not isinstance(pages, Mapping):
            raise BadPayload(f"unreadable home refresh pages: {pages!r}")
        try:
            return cls({str(k): int(v) for k, v in pages.items()})
        except (TypeError, ValueError) as exc:
            raise BadPayload(f"unreadable home refresh pages: {exc!r}") from exc


@dataclass(frozen=True)
class FreedBooking:
    """A booking cancelled because its booker left, as the admins' DM lists it."""

    booking_id: int
    room_id: str
    room_name: str
    starts_at: datetime
    ends_at: datetime
    title: str = ""


@dataclass(frozen=True)
class Departure:
    """An admin's DM: ``user`` left the workspace at ``at``; ``bookings`` were cancelled.
    ``approver_of`` (room id and name) lost them as an approver; ``through_groups`` (room id,
    name and user group) lost them as a member of an approver group; ``no_approver_left``:
    which of those rooms (ids) have no approver of their own any more; ``admin``:
    ADMIN_USER_IDS still names them."""

    KIND = "departed"

    user: str
    at: datetime
    bookings: tuple[FreedBooking, ...] = ()
    approver_of: tuple[tuple[str, str], ...] = ()
    admin: bool = False
    through_groups: tuple[tuple[str, str, str], ...] = ()
    no_approver_left: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        user: str,
        at: datetime,
        rows: list[BookingRow],
        approver_of: tuple[tuple[str, str], ...] = (),
        admin: bool = False,
        *,
        through_groups: tuple[tuple[str, str, str], ...] = (),
        no_approver_left: tuple[str, ...] = (),
    ) -> Self:
        freed = tuple(
            FreedBooking(r.booking_id, r.room_id, r.room_name, r.starts_at, r.ends_at, r.title)
            for r in rows
        )
        return cls(user, at, freed, approver_of, admin, through_groups, no_approver_left)

    @staticmethod
    def is_one(payload: Mapping[str, Any]) -> bool:
        return payload.get("kind") == Departure.KIND

    def to_payload(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "user": self.user,
            "at": self.at.isoformat(),
            "bookings": [
                {
                    "booking_id": b.booking_id,
                    "room_id": b.room_id,
                    "room_name": b.room_name,
                    "starts_at": b.starts_at.isoformat(),
                    "ends_at": b.ends_at.isoformat(),
                    "title": b.title,
                }
                for b in self.bookings
            ],
            "approver_of": [{"room_id": i, "room_name": n} for i, n in self.approver_of],
            "admin": self.admin,
            "through_groups": [
                {"room_id": i, "room_name": n, "group": g} for i, n, g in self.through_groups
            ],
            "no_approver_left": list(self.no_approver_left),
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        try:
            if payload["kind"] != cls.KIND:
                raise BadPayload(f"not a departure: {payload['kind']!r}")
            freed = tuple(
                FreedBooking(
                    booking_id=int(b["booking_id"]),
                    room_id=str(b["room_id"]),
                    room_name=str(b.get("room_name") or b["room_id"]),
                    starts_at=_moment(b["starts_at"]),
                    ends_at=_moment(b["ends_at"]),
                    title=str(b.get("title") or ""),
                )
                for b in payload.get("bookings") or ()
            )
            approver_of = tuple(
                (str(r["room_id"]), str(r.get("room_name") or r["room_id"]))
                for r in payload.get("approver_of") or ()
            )
            admin = bool(payload.get("admin"))
            through = tuple(
                (str(r["room_id"]), str(r.get("room_name") or r["room_id"]), str(r["group"]))
                for r in payload.get("through_groups") or ()
            )
            no_approver_left = tuple(str(i) for i in payload.get("no_approver_left") or ())
            return cls(
                str(payload["user"]),
                _moment(payload["at"]),
                freed,
                approver_of,
                admin,
                through,
                no_approver_left,
            )
        except BadPayload:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise BadPayload(f"unreadable departure: {exc!r}") from exc


@dataclass(frozen=True)
class Unattended:
    """A note in the approvals channel: ``user`` left the workspace at ``at``, and nobody may
    approve or deny requests for ``rooms`` (room id and name) any more: ADMIN_USER_IDS names no
    other admin, and the rooms have no approver of their own left. ``admin``: they were the
    last admin."""

    KIND = "unattended_rooms"

    user: str
    at: datetime
    rooms: tuple[tuple[str, str], ...]
    admin: bool = False

    @staticmethod
    def is_one(payload: Mapping[str, Any]) -> bool:
        return payload.get("kind") == Unattended.KIND

    def to_payload(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "user": self.user,
            "at": self.at.isoformat(),
            "rooms": [{"room_id": i, "room_name": n} for i, n in self.rooms],
            "admin": self.admin,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        try:
            if payload["kind"] != cls.KIND:
                raise BadPayload(f"not a note about unattended rooms: {payload['kind']!r}")
            rooms = tuple(
                (str(r["room_id"]), str(r.get("room_name") or r["room_id"]))
                for r in payload["rooms"]
            )
            at = _moment(payload["at"])
            return cls(str(payload["user"]), at, rooms, bool(payload.get("admin")))
        except BadPayload:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise BadPayload(f"unreadable note about unattended rooms: {exc!r}") from exc


def _reader(value: Any) -> Reader | None:
    """A reader as written, or None: it is a hint, and without it the sender asks Slack."""
    if not isinstance(value, Mapping):
        return None
    tz, locale = value.get("tz"), value.get("locale")
    return Reader(tz, locale) if isinstance(tz, str) and isinstance(locale, str) else None


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None


def _maybe_moment(value: Any) -> datetime | None:
    return None if value is None else _moment(value)


def _moment(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise BadPayload("notice times must be timezone-aware")
    return moment
