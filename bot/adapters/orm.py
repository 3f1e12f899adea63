"""Tables, and the mapping of the domain classes onto them.

The schema is created only by the Alembic migrations in ``bot/migrations``; these table objects
describe it for queries and must be kept in step with the migrations (a test compares them).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Double,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    false,
    text,
)
from sqlalchemy.orm import Session, object_session, registry

from bot.domain.model import (
    Approval,
    ApprovalStatus,
    Booking,
    BookingStatus,
    Room,
    Series,
    WaitlistEntry,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every database.

    SQLite has no time zone type, so values are stored there as naive UTC; comparisons stay correct
    because every value goes through this same conversion.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_status = Enum(BookingStatus, name="booking_status", native_enum=False, length=16)
_approval_status = Enum(ApprovalStatus, name="approval_status", native_enum=False, length=16)

rooms = Table(
    "rooms",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(80), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    #: Check-in window in minutes from the start; ``None`` turns check-in and auto-release off.
    Column("checkin_minutes", Integer),
    Column("location", String(80), nullable=False, default="", server_default=""),
    Column("tags", JSON, nullable=False, default=list, server_default=text("'[]'")),
    Column("auto_approve", Boolean, nullable=False, default=False, server_default=false()),
    Column("auto_approve_groups", JSON, nullable=False, default=list, server_default=text("'[]'")),
    Column("approvers", JSON, nullable=False, default=list, server_default=text("'[]'")),
    Column("feed_details", Boolean, nullable=False, default=False, server_default=false()),
)

series = Table(
    "series",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("room_id", String(32), ForeignKey("rooms.id"), nullable=False),
    Column("booker", String(32), nullable=False),
    Column("title", String(1000), nullable=False, default=""),
    Column("rule", Text, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("release_streak", Integer, nullable=False, default=0),
    Column("ended_at", UTCDateTime),
    Column("end_reason", Text),
    Index("ix_series_booker", "booker"),
    sqlite_autoincrement=True,
)

bookings = Table(
    "bookings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("room_id", String(32), ForeignKey("rooms.id"), nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("booker", String(32), nullable=False),
    Column("title", String(1000), nullable=False, default=""),
    Column("status", _status, nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("decided_by", String(32)),
    Column("decided_at", UTCDateTime),
    Column("reason", Text),
    Column("reminded_at", UTCDateTime),
    Column("nudged_at", UTCDateTime),
    Column("sequence", Integer, nullable=False, default=0),
    Column("invited", Boolean, nullable=False, default=False),
    Column("series_id", Integer, ForeignKey("series.id")),
    Column("recurrence_id", UTCDateTime),
    Column("checked_in_at", UTCDateTime),
    Index("ix_bookings_room_id_ends_at", "room_id", "ends_at"),
    Index("ix_bookings_series_id", "series_id"),
    Index("ix_bookings_status_starts_at", "status", "starts_at"),
    Index("ix_bookings_booker_starts_at", "booker", "starts_at"),
    sqlite_autoincrement=True,
)

approvals = Table(
    "approvals",
    metadata,
    Column("booking_id", Integer, ForeignKey("bookings.id"), primary_key=True),
    Column("status", _approval_status, nullable=False),
    Column("decided_by", String(32)),
    Column("decided_at", UTCDateTime),
)

approval_cards = Table(
    "approval_cards",
    metadata,
    Column("booking_id", Integer, ForeignKey("bookings.id"), primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("ts", String(32), nullable=False),
    Column("posted_at", UTCDateTime, nullable=False),
)

# A card post begun (written before chat.postMessage): if its ts never reached approval_cards,
# the card may be in the channel anyway, found again by its message metadata.
card_posts = Table(
    "card_posts",
    metadata,
    Column("booking_id", Integer, ForeignKey("bookings.id"), primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("attempted_at", UTCDateTime, nullable=False),
)

event_log = Table(
    "event_log",
    metadata,
    Column("event_id", String(32), primary_key=True),
    Column("type", String(64), nullable=False),
    Column("booking_id", Integer, nullable=False),
    Column("actor", String(32), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("payload", JSON, nullable=False),
    Index("ix_event_log_booking_id", "booking_id"),
)

booking_list = Table(
    "booking_list",
    metadata,
    Column("booking_id", Integer, primary_key=True, autoincrement=False),
    Column("room_id", String(32), nullable=False),
    Column("room_name", String(80), nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("booker", String(32), nullable=False),
    Column("title", String(1000), nullable=False),
    Column("status", _status, nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("decided_by", String(32)),
    Column("decided_at", UTCDateTime),
    Column("reason", Text),
    Column("cancelled_by", String(32)),
    Column("sequence", Integer, nullable=False, default=0),
    Column("changed_at", UTCDateTime),
    Column("was_room_id", String(32)),
    Column("was_room_name", String(80)),
    Column("was_starts_at", UTCDateTime),
    Column("was_ends_at", UTCDateTime),
    Column("was_title", String(1000)),
    Column("series_id", Integer),
    Column("recurrence_id", UTCDateTime),
    Column("checked_in_at", UTCDateTime),
    Column("policy", String(200)),
    Index("ix_booking_list_booker_starts_at", "booker", "starts_at"),
    Index("ix_booking_list_booker_ends_at", "booker", "ends_at"),
    Index("ix_booking_list_room_id_ends_at", "room_id", "ends_at"),
    Index("ix_booking_list_status_starts_at", "status", "starts_at"),
    Index("ix_booking_list_series_id", "series_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # Empty for a refresh someone asked for (opening the Home tab) rather than an event caused.
    Column("event_id", String(32), ForeignKey("event_log.event_id")),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    UniqueConstraint("event_id", "channel", "recipient"),
    Index("ix_outbox_status_channel_next_attempt_at", "status", "channel", "next_attempt_at"),
    sqlite_autoincrement=True,
)

waitlist = Table(
    "waitlist",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("room_id", String(32), ForeignKey("rooms.id"), nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("user", String(32), nullable=False),
    Column("title", String(1000), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("offered_at", UTCDateTime),
    Column("offer_expires_at", UTCDateTime),
    Column("booking_id", Integer, ForeignKey("bookings.id")),
    CheckConstraint(
        "status IN ('WAITING', 'OFFERED', 'BOOKED', 'LAPSED', 'WITHDRAWN')", name="status"
    ),
    Index("ix_waitlist_room_id_status_starts_at", "room_id", "status", "starts_at"),
    sqlite_autoincrement=True,
)

feed_tokens = Table(
    "feed_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("owner", String(32), nullable=False),
    Column("scope", String(40), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    #: The language of a person's feed (its owner's when they got the link); None: the default.
    Column("locale", String(16)),
    UniqueConstraint("owner", "scope"),
)

#: Outbox statuses: ``skipped`` is a permanent non-delivery that is not an error (no email address).
OUTBOX_STATUSES = ("pending", "sending", "sent", "dead", "skipped")

installation = Table(
    "installation",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("install_id", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("id = 1", name="one_row"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("outbox_id", Integer, ForeignKey("outbox.id"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("error", Text),
    Column("duration_ms", Integer),
    CheckConstraint(
        "outcome IN ('sent', 'failed', 'dead', 'skipped', 'deferred', 'coalesced')", name="outcome"
    ),
    Index("ix_deliveries_at", "at"),
    Index("ix_deliveries_outbox_id", "outbox_id"),
    sqlite_autoincrement=True,
)

#: Slack's rate-limit buckets that every worker on PostgreSQL spends together (see
#: ``bot.notifications.limits.SharedRateLimiter``); times are seconds on the limiter's clock.
slack_buckets = Table(
    "slack_buckets",
    metadata,
    Column("key", String(120), primary_key=True),
    Column("per_second", Double, nullable=False),
    Column("burst", Double, nullable=False),
    Column("tokens", Double, nullable=False),
    Column("updated", Double, nullable=False),
    Column("blocked_until", Double, nullable=False),
)

#: Slack's ``user_change`` events as the process that received them heard them, so every other
#: process's users.info cache learns them (see ``bot.adapters.member_changes``). Ids only grow,
#: in commit order (writers take turns), and rows older than a day are dropped.
member_changes = Table(
    "member_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(64), nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_member_changes_at", "at"),
    sqlite_autoincrement=True,
)

#: Signatures of admitted Slack requests (see ``bot.adapters.replays``).
seen_requests = Table(
    "seen_requests",
    metadata,
    Column("signature", String(80), primary_key=True),
    Column("seen_at", UTCDateTime, nullable=False),
    Index("ix_seen_requests_seen_at", "seen_at"),
)

mapper_registry = registry(metadata=metadata)
_mapped = False


def start_mappers() -> None:
    """Map the domain classes onto the tables, once per process (tests and app share this)."""
    global _mapped
    if _mapped:
        return
    mapper_registry.map_imperatively(Room, rooms)
    mapper_registry.map_imperatively(Booking, bookings)
    mapper_registry.map_imperatively(Approval, approvals)
    mapper_registry.map_imperatively(WaitlistEntry, waitlist)
    mapper_registry.map_imperatively(Series, series)
    event.listen(Booking, "load", _fresh_event_list)
    event.listen(WaitlistEntry, "load", _fresh_event_list)
    for written in ("after_insert", "after_update", "after_delete"):
        event.listen(Room, written, _room_written)
    event.listen(Session, "after_commit", _count_room_writes)
    _mapped = True


_ROOM_WRITTEN = "roombot_room_written"
_room_writes = itertools.count(1)
_room_writes_seen = 0


def room_writes() -> int:
    """How many commits of this process wrote a room: what keeps rooms in memory compares."""
    return _room_writes_seen


def _room_written(_mapper: Any, _connection: Any, room: Room) -> None:
    session = object_session(room)
    if session is not None:
        session.info[_ROOM_WRITTEN] = True


def _count_room_writes(session: Session) -> None:
    global _room_writes_seen
    if session.info.pop(_ROOM_WRITTEN, False):
        _room_writes_seen = next(_room_writes)


def _fresh_event_list(aggregate: Booking | WaitlistEntry, _context: Any) -> None:
    # A loaded aggregate never ran __init__, so it has no list to record events in yet.
    aggregate.events = []
