"""Indexes bounded by end time, so a long history does not slow the hot queries.

The overlap check and "upcoming" lists ask for rows that have not ended yet. Indexed by start
time, they had to walk (and throw away) a room's or a user's whole past; indexed by end time
they read only the rows still ahead.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_bookings_room_id_ends_at", "bookings", ["room_id", "ends_at"])
    op.drop_index("ix_bookings_room_id_starts_at", table_name="bookings")
    op.create_index("ix_booking_list_booker_ends_at", "booking_list", ["booker", "ends_at"])
    op.create_index("ix_booking_list_room_id_ends_at", "booking_list", ["room_id", "ends_at"])
    op.drop_index("ix_booking_list_room_id_starts_at", table_name="booking_list")


def downgrade() -> None:
    op.create_index("ix_booking_list_room_id_starts_at", "booking_list", ["room_id", "starts_at"])
    op.drop_index("ix_booking_list_room_id_ends_at", table_name="booking_list")
    op.drop_index("ix_booking_list_booker_ends_at", table_name="booking_list")
    op.create_index("ix_bookings_room_id_starts_at", "bookings", ["room_id", "starts_at"])
    op.drop_index("ix_bookings_room_id_ends_at", table_name="bookings")
