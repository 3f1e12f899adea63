"""Change, repeat and release: what reschedules, recurring series, check-in and the waitlist keep.

- bookings: ``sequence`` (the calendar SEQUENCE, raised by every change), ``invited`` (an invite
  went out), ``series_id`` and ``recurrence_id`` (the occurrence's series and its start in the
  series' rule, kept when the occurrence is moved), ``checked_in_at``; and the RELEASED status.
- booking_list: the same, and the booking as it was before its last change (``was_*``), for the
  approval card's old -> new.
- rooms: ``checkin_minutes``, the check-in window (``NULL``: check-in and auto-release off).
- series: one recurring request (its RRULE, time zone and first slot); its occurrences are
  booking rows, so the no-overlap guarantee holds for each of them.
- waitlist: people waiting for a taken slot, and the offer each was made.

Expand only: new nullable or defaulted columns and new tables; the status checks gain a value.

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.adapters.orm import UTCDateTime

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD_STATUSES = ("PENDING", "APPROVED", "DENIED", "CANCELLED", "EXPIRED")
NEW_STATUSES = (*OLD_STATUSES, "RELEASED")


def _statuses(values: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    op.create_table(
        "series",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("room_id", sa.String(32), sa.ForeignKey("rooms.id"), nullable=False),
        sa.Column("booker", sa.String(32), nullable=False),
        sa.Column("title", sa.String(1000), nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("starts_at", UTCDateTime, nullable=False),
        sa.Column("ends_at", UTCDateTime, nullable=False),
        sa.Column("requested_at", UTCDateTime, nullable=False),
        sa.Column("release_streak", sa.Integer, nullable=False, server_default="0"),
        sa.Column("ended_at", UTCDateTime),
        sa.Column("end_reason", sa.Text),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_series_booker", "series", ["booker"])
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("checkin_minutes", sa.Integer, nullable=True))
    with op.batch_alter_table("bookings", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column("sequence", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("invited", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("series_id", sa.Integer, sa.ForeignKey("series.id"), nullable=True)
        )
        batch.add_column(sa.Column("recurrence_id", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("checked_in_at", UTCDateTime, nullable=True))
        batch.create_index("ix_bookings_series_id", ["series_id"])
    _widen_status("bookings", NEW_STATUSES)
    with op.batch_alter_table("booking_list") as batch:
        batch.add_column(sa.Column("sequence", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("changed_at", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("was_room_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("was_room_name", sa.String(80), nullable=True))
        batch.add_column(sa.Column("was_starts_at", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("was_ends_at", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("was_title", sa.String(1000), nullable=True))
        batch.add_column(sa.Column("series_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("recurrence_id", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("checked_in_at", UTCDateTime, nullable=True))
    _widen_status("booking_list", NEW_STATUSES)
    op.create_table(
        "waitlist",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("room_id", sa.String(32), sa.ForeignKey("rooms.id"), nullable=False),
        sa.Column("starts_at", UTCDateTime, nullable=False),
        sa.Column("ends_at", UTCDateTime, nullable=False),
        sa.Column("user", sa.String(32), nullable=False),
        sa.Column("title", sa.String(1000), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("offered_at", UTCDateTime),
        sa.Column("offer_expires_at", UTCDateTime),
        sa.Column("booking_id", sa.Integer, sa.ForeignKey("bookings.id")),
        sa.CheckConstraint(
            "status IN ('WAITING', 'OFFERED', 'BOOKED', 'LAPSED', 'WITHDRAWN')", name="status"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_waitlist_room_id_status_starts_at", "waitlist", ["room_id", "status", "starts_at"]
    )


def _widen_status(table: str, values: tuple[str, ...]) -> None:
    # The check carries the name its enum had in 0001.
    name = "booking_status" if table == "bookings" else "booking_list_status"
    kwargs = {"sqlite_autoincrement": True} if table == "bookings" else {}
    with op.batch_alter_table(table, table_kwargs=kwargs) as batch:
        batch.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
        batch.create_check_constraint(name, _statuses(values))


def downgrade() -> None:
    op.drop_index("ix_waitlist_room_id_status_starts_at", table_name="waitlist")
    op.drop_table("waitlist")
    # Released bookings read as cancelled to a version that does not know the status.
    for table in ("booking_list", "bookings"):
        t = sa.table(table, sa.column("status", sa.String))
        op.execute(t.update().where(t.c.status == "RELEASED").values(status="CANCELLED"))
        _widen_status(table, OLD_STATUSES)
    with op.batch_alter_table("booking_list") as batch:
        for column in (
            "checked_in_at",
            "recurrence_id",
            "series_id",
            "was_title",
            "was_ends_at",
            "was_starts_at",
            "was_room_name",
            "was_room_id",
            "changed_at",
            "sequence",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("bookings", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_index("ix_bookings_series_id")
        batch.drop_column("checked_in_at")
        batch.drop_column("recurrence_id")
        batch.drop_column("series_id")
        batch.drop_column("invited")
        batch.drop_column("sequence")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("checkin_minutes")
    op.drop_index("ix_series_booker", table_name="series")
    op.drop_table("series")
