"""Member changes: Slack's ``user_change`` events, recorded by the web process that received them
so a separately running worker's users.info cache learns them at its next claim (someone
deactivated gets nothing more from it) instead of when the cached profile expires.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.adapters.orm import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "member_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_member_changes"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_member_changes_at", "member_changes", ["at"])


def downgrade() -> None:
    op.drop_index("ix_member_changes_at", table_name="member_changes")
    op.drop_table("member_changes")
