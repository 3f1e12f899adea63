"""Outbox lanes: due rows indexed by channel, and ``coalesced`` in the delivery log.

Each channel is delivered by its own loop, whose claim asks for due rows of that channel. With
the channel in the index, a lane finds its own rows without reading past another channel's
backlog (say, thousands of emails waiting out a mail server outage).

An App Home or approval card refresh that a later publish of the same view made redundant is
marked sent and logged as ``coalesced``.

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

OLD_OUTCOMES = "outcome IN ('sent', 'failed', 'dead', 'skipped', 'deferred')"
NEW_OUTCOMES = "outcome IN ('sent', 'failed', 'dead', 'skipped', 'deferred', 'coalesced')"


def _replace_outcome_check(condition: str) -> None:
    # Batch mode, because SQLite cannot alter a constraint in place: it copies the table.
    with op.batch_alter_table("deliveries", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint(op.f("ck_deliveries_outcome"), type_="check")
        batch.create_check_constraint(op.f("ck_deliveries_outcome"), condition)


def upgrade() -> None:
    op.create_index(
        "ix_outbox_status_channel_next_attempt_at",
        "outbox",
        ["status", "channel", "next_attempt_at"],
    )
    op.drop_index("ix_outbox_status_next_attempt_at", table_name="outbox")
    _replace_outcome_check(NEW_OUTCOMES)


def downgrade() -> None:
    op.execute("UPDATE deliveries SET outcome = 'sent' WHERE outcome = 'coalesced'")
    _replace_outcome_check(OLD_OUTCOMES)
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])
    op.drop_index("ix_outbox_status_channel_next_attempt_at", table_name="outbox")
