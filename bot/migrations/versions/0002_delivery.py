"""Outbox rows may be skipped; the delivery log (the original's notification list).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.adapters.orm import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('pending', 'sending', 'sent', 'dead')"
NEW_STATUSES = "status IN ('pending', 'sending', 'sent', 'dead', 'skipped')"
OUTCOMES = "outcome IN ('sent', 'failed', 'dead', 'skipped', 'deferred')"


def _replace_status_check(condition: str) -> None:
    # Batch mode, because SQLite cannot alter a constraint in place: it copies the table.
    with op.batch_alter_table("outbox", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint(op.f("ck_outbox_outbox_status"), type_="check")
        batch.create_check_constraint(op.f("ck_outbox_outbox_status"), condition)


def upgrade() -> None:
    _replace_status_check(NEW_STATUSES)
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("outbox_id", sa.Integer, sa.ForeignKey("outbox.id"), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("duration_ms", sa.Integer),
        sa.CheckConstraint(OUTCOMES, name="outcome"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_deliveries_at", "deliveries", ["at"])
    op.create_index("ix_deliveries_outbox_id", "deliveries", ["outbox_id"])


def downgrade() -> None:
    op.drop_table("deliveries")
    op.execute("UPDATE outbox SET status = 'dead' WHERE status = 'skipped'")
    _replace_status_check(OLD_STATUSES)
