"""Card posts begun: a row before the approval card of a booking is first posted.

A worker that dies between Slack's answer to ``chat.postMessage`` and recording the card's ts
in ``approval_cards`` leaves a card in the channel nobody knows about. With this row the next
attempt knows a card may be there, looks it up by its message metadata (``conversations.history``)
and updates it instead of posting a second one. Nothing older reads it.

Revision ID: 0013
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.adapters.orm import UTCDateTime

revision = "0013"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "card_posts",
        sa.Column("booking_id", sa.Integer, sa.ForeignKey("bookings.id"), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("attempted_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("booking_id", name="pk_card_posts"),
    )


def downgrade() -> None:
    op.drop_table("card_posts")
