"""Index due outbox rows by channel, for dispatcher lanes that each claim one channel.

Each channel is delivered by its own loop, whose claim asks for due rows of that channel. With
the channel in the index, a lane finds its own rows without reading past another channel's
backlog (say, thousands of emails waiting out a mail server outage).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_status_channel_next_attempt_at",
        "outbox",
        ["status", "channel", "next_attempt_at"],
    )
    op.drop_index("ix_outbox_status_next_attempt_at", table_name="outbox")


def downgrade() -> None:
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])
    op.drop_index("ix_outbox_status_channel_next_attempt_at", table_name="outbox")
