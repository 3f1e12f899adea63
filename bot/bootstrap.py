"""The one place that wires settings, engine, unit of work, message bus and read side together.

Tests call :func:`bootstrap` with their own engine, clock or hooks; nothing is created at import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from bot.adapters import orm
from bot.adapters.db import make_engine, make_session_factory
from bot.config import Settings
from bot.services.handlers import Context
from bot.services.messagebus import AfterCommit, MessageBus
from bot.services.queries import Queries
from bot.services.unit_of_work import SqlAlchemyUnitOfWork


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Container:
    settings: Settings
    engine: Engine
    bus: MessageBus
    queries: Queries

    def close(self) -> None:
        self.engine.dispose()


def bootstrap(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = _utcnow,
    after_commit: Sequence[AfterCommit] = (),
) -> Container:
    orm.start_mappers()
    engine = engine or make_engine(settings.database_url)
    session_factory = make_session_factory(engine)
    context = Context(admins=settings.admin_user_ids, limits=settings.limits, clock=clock)
    bus = MessageBus(
        lambda: SqlAlchemyUnitOfWork(session_factory), context, after_commit=after_commit
    )
    return Container(settings=settings, engine=engine, bus=bus, queries=Queries(engine))
