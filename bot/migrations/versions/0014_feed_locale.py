"""Feed links remember their language: a person's feed speaks its owner's language.

The words inside a feed (a booking's status) are rendered when a calendar app polls, with no
Slack user at hand; so the language the owner had when they got the link is kept with it. Links
made before have none and speak ``DEFAULT_LOCALE``, as room feeds do.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feed_tokens") as batch:
        batch.add_column(sa.Column("locale", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feed_tokens") as batch:
        batch.drop_column("locale")
