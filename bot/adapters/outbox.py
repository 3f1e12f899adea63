"""The outbox table seen from the operator's side: counts, dead rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from bot.adapters import orm
from bot.adapters.db import READ_ONLY

OUTBOX = orm.outbox.c


@dataclass(frozen=True)
class OutboxRow:
    id: int
    event_id: str
    channel: str
    recipient: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class OutboxStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def counts(self) -> dict[str, int]:
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            rows = conn.execute(select(OUTBOX.status, func.count()).group_by(OUTBOX.status))
            return {status: count for status, count in rows}

    def dead(self, limit: int = 100) -> list[OutboxRow]:
        query = (
            select(*[OUTBOX[f] for f in OutboxRow.__dataclass_fields__])
            .where(OUTBOX.status == "dead")
            .order_by(OUTBOX.id)
            .limit(limit)
        )
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            return [OutboxRow(**r._mapping) for r in conn.execute(query)]
