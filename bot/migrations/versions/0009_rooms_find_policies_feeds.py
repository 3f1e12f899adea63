"""Room attributes and policies, policy decisions in the read model, calendar feed tokens.

Expand only: new nullable or defaulted columns and a new table, so the previous release keeps
running against this schema.

- ``rooms``: ``location`` (building, floor) and free-form equipment ``tags`` for finding a room;
  the room's approval policy (``auto_approve``, the user groups whose members are auto-approved,
  and the room's own ``approvers``); ``feed_details``: whether the room's calendar feed shows
  titles and bookers or busy slots only.
- ``booking_list``: ``policy`` names the policy that decided a booking (``decided_by`` is then
  ``policy``).
- ``feed_tokens``: the calendar feed links, by the SHA-256 of their secret; one per owner and scope
  (``user`` for the owner's own bookings, ``room:<id>`` for a room), so rotating replaces it.
- an index on ``bookings (booker, starts_at)`` for the weekly quotas.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.adapters.orm import UTCDateTime

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None


def _room_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("location", sa.String(80), nullable=False, server_default=""),
        sa.Column("tags", sa.JSON, nullable=False, server_default=sa.text("'[]'")),
        sa.Column("auto_approve", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("auto_approve_groups", sa.JSON, nullable=False, server_default=sa.text("'[]'")),
        sa.Column("approvers", sa.JSON, nullable=False, server_default=sa.text("'[]'")),
        sa.Column("feed_details", sa.Boolean, nullable=False, server_default=sa.false()),
    ]


BOOKING_LIST_COLUMNS = ("policy",)


def upgrade() -> None:
    # Plain ADD COLUMN, which SQLite does in place: a batch copy of ``rooms`` would have to drop
    # a table the bookings refer to.
    for column in _room_columns():
        op.add_column("rooms", column)
    op.add_column("booking_list", sa.Column("policy", sa.String(200)))
    # The weekly quota reads a booker's bookings inside the request's transaction.
    op.create_index("ix_bookings_booker_starts_at", "bookings", ["booker", "starts_at"])
    op.create_table(
        "feed_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("scope", sa.String(40), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("owner", "scope"),
    )


def downgrade() -> None:
    op.drop_table("feed_tokens")
    op.drop_index("ix_bookings_booker_starts_at", table_name="bookings")
    dropping = [("booking_list", name) for name in BOOKING_LIST_COLUMNS]
    dropping += [("rooms", column.name) for column in _room_columns()]
    for table, name in dropping:
        if op.get_bind().dialect.name == "sqlite":
            # SQLite (3.35+) drops a plain column in place; batch mode would copy the table.
            op.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
        else:
            op.drop_column(table, name)
