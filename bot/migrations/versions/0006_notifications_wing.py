"""Outbox rows without an event, and the installation's own id.

A refresh of an App Home or of an approval card that a user asked for (opening the Home tab,
paging a list, clicking a stale card) is an outbox row like any other, but no booking event
caused it: ``outbox.event_id`` may now be empty. Rows written by the previous release still
carry their event; nothing it reads changes.

``installation`` holds one row: an id made once per database, which keeps calendar UIDs
(``booking-<id>-<install id>@<domain>``) apart between two roombot installations whose booking
ids overlap (a test workspace and the real one, say, mailing the same person).

Revision ID: 0006
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.alter_column("event_id", existing_type=sa.String(32), nullable=True)
    installation = op.create_table(
        "installation",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("install_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name="one_row"),
    )
    op.bulk_insert(
        installation,
        [
            {
                "id": 1,
                "install_id": secrets.token_hex(6),
                "created_at": datetime.now(UTC).replace(tzinfo=None)
                if op.get_bind().dialect.name == "sqlite"
                else datetime.now(UTC),
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("installation")
    # Refresh rows without an event cannot exist in the older schema; they only redraw views,
    # so the ones not yet sent are dropped (their deliveries log first).
    op.execute(
        "DELETE FROM deliveries WHERE outbox_id IN (SELECT id FROM outbox WHERE event_id IS NULL)"
    )
    op.execute("DELETE FROM outbox WHERE event_id IS NULL")
    with op.batch_alter_table("outbox", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.alter_column("event_id", existing_type=sa.String(32), nullable=False)
