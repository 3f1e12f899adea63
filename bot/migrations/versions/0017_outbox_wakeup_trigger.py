"""PostgreSQL: every statement that inserts outbox rows notifies the dispatchers' channel.

The wake-up used to be a ``SELECT pg_notify(...)`` of its own before each outbox insert: one
more round trip in every booking transaction. A statement-level trigger sends the same
notification inside the same transaction, so it is still delivered only on commit and folded
into one per transaction, and it covers every writer of outbox rows. SQLite's watcher reads the
outbox itself and needs nothing here.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

#: bot.notifications.wakeup.CHANNEL, as it was when this migration was written.
CHANNEL = "roombot_outbox"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE FUNCTION outbox_wakeup() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER outbox_wakeup AFTER INSERT ON outbox "
        "FOR EACH STATEMENT EXECUTE FUNCTION outbox_wakeup()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER outbox_wakeup ON outbox")
    op.execute("DROP FUNCTION outbox_wakeup()")
