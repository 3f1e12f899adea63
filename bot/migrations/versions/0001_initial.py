"""Rooms, bookings, approvals, event log, booking list (read model) and outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.adapters.orm import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STATUSES = ("PENDING", "APPROVED", "DENIED", "CANCELLED", "EXPIRED")


def _status(name: str) -> sa.Enum:
    return sa.Enum(*STATUSES, name=name, native_enum=False, length=16, create_constraint=True)


def upgrade() -> None:
    op.create_table(
        "rooms",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.CheckConstraint("capacity > 0", name="capacity_positive"),
    )
    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("room_id", sa.String(32), sa.ForeignKey("rooms.id"), nullable=False),
        sa.Column("starts_at", UTCDateTime, nullable=False),
        sa.Column("ends_at", UTCDateTime, nullable=False),
        sa.Column("booker", sa.String(32), nullable=False),
        sa.Column("title", sa.String(1000), nullable=False),
        sa.Column("status", _status("booking_status"), nullable=False),
        sa.Column("requested_at", UTCDateTime, nullable=False),
        sa.Column("decided_by", sa.String(32)),
        sa.Column("decided_at", UTCDateTime),
        sa.Column("reason", sa.Text),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_bookings_room_id_starts_at", "bookings", ["room_id", "starts_at"])
    op.create_index("ix_bookings_status_starts_at", "bookings", ["status", "starts_at"])
    if op.get_bind().dialect.name == "postgresql":
        # The database itself refuses two active bookings of one room that overlap, whichever
        # process or connection tries: the guarantee does not depend on application code.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap EXCLUDE USING gist "
            "(room_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
            "WHERE (status IN ('PENDING', 'APPROVED'))"
        )
    op.create_table(
        "approvals",
        sa.Column("booking_id", sa.Integer, sa.ForeignKey("bookings.id"), primary_key=True),
        sa.Column(
            "status",
            sa.Enum(
                "REQUESTED",
                "APPROVED",
                "DENIED",
                name="approval_status",
                native_enum=False,
                length=16,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("decided_by", sa.String(32)),
        sa.Column("decided_at", UTCDateTime),
    )
    op.create_table(
        "approval_cards",
        sa.Column("booking_id", sa.Integer, sa.ForeignKey("bookings.id"), primary_key=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("posted_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "event_log",
        sa.Column("event_id", sa.String(32), primary_key=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("booking_id", sa.Integer, nullable=False),
        sa.Column("actor", sa.String(32), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
    )
    op.create_index("ix_event_log_booking_id", "event_log", ["booking_id"])
    op.create_table(
        "booking_list",
        sa.Column("booking_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("room_id", sa.String(32), nullable=False),
        sa.Column("room_name", sa.String(80), nullable=False),
        sa.Column("starts_at", UTCDateTime, nullable=False),
        sa.Column("ends_at", UTCDateTime, nullable=False),
        sa.Column("booker", sa.String(32), nullable=False),
        sa.Column("title", sa.String(1000), nullable=False),
        sa.Column("status", _status("booking_list_status"), nullable=False),
        sa.Column("requested_at", UTCDateTime, nullable=False),
        sa.Column("decided_by", sa.String(32)),
        sa.Column("decided_at", UTCDateTime),
        sa.Column("reason", sa.Text),
        sa.Column("cancelled_by", sa.String(32)),
    )
    op.create_index("ix_booking_list_booker_starts_at", "booking_list", ["booker", "starts_at"])
    op.create_index("ix_booking_list_room_id_starts_at", "booking_list", ["room_id", "starts_at"])
    op.create_index("ix_booking_list_status_starts_at", "booking_list", ["status", "starts_at"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(32), sa.ForeignKey("event_log.event_id"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime),
        sa.UniqueConstraint("event_id", "channel", "recipient"),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'dead')", name="outbox_status"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    for table in (
        "outbox",
        "booking_list",
        "event_log",
        "approval_cards",
        "approvals",
        "bookings",
        "rooms",
    ):
        op.drop_table(table)
