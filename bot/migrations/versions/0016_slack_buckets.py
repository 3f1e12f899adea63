"""Slack's rate-limit buckets in the database, shared by every worker on PostgreSQL.

Each worker kept its own token buckets, so two workers together spent twice Slack's allowance
and met 429s. A row per bucket (a method's tier, or a channel's posting allowance), updated in
one short statement per send, is the allowance they all spend. On PostgreSQL the table is
UNLOGGED: its rows matter for the next minute only, so they need no WAL and no flush at commit
(a crash empties them, which costs at most one burst). SQLite gets the table too, unused (one
process keeps its buckets in memory), so the schema is the same on both.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    unlogged = ["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else []
    op.create_table(
        "slack_buckets",
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("per_second", sa.Double, nullable=False),
        sa.Column("burst", sa.Double, nullable=False),
        sa.Column("tokens", sa.Double, nullable=False),
        sa.Column("updated", sa.Double, nullable=False),
        sa.Column("blocked_until", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_slack_buckets"),
        prefixes=unlogged,
    )


def downgrade() -> None:
    op.drop_table("slack_buckets")
