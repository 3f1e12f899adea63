"""The message bus: routes a command to its use case and the resulting events to their policies.

Bolt runs listeners in a thread pool and APScheduler runs jobs in threads, so one bus is shared by
many threads. It therefore keeps no per-call state: the event queue is local to :meth:`handle`, and
every call gets a fresh unit of work from the factory.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from bot.domain.commands import Command
from bot.domain.events import Event
from bot.services import handlers
from bot.services.handlers import Context, Handler
from bot.services.unit_of_work import AbstractUnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

AfterCommit = Callable[[Sequence[Event]], None]


class MessageBus:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        context: Context,
        *,
        command_handlers: dict[type[Command], Handler] | None = None,
        event_handlers: dict[type[Event], list[Handler]] | None = None,
        after_commit: Sequence[AfterCommit] = (),
        max_attempts: int = 5,
    ) -> None:
        self.uow_factory = uow_factory
        self.context = context
        self.command_handlers = (
            handlers.COMMAND_HANDLERS if command_handlers is None else command_handlers
        )
        self.event_handlers = handlers.EVENT_HANDLERS if event_handlers is None else event_handlers
        self.after_commit = list(after_commit)
        self.max_attempts = max_attempts

    def handle(self, command: Command) -> Any:
        """Run the command and every policy its events trigger in one transaction; return the
        use case's result. Domain errors propagate after the rollback, with nothing stored.

        A transaction the database aborted only because it raced another (a deadlock or a
        serialization failure) is rerun from the start, a few times, with a short random pause.
        """
        for attempt in range(1, self.max_attempts + 1):
            uow = self.uow_factory()
            try:
                result, committed = self._run(command, uow)
            except Exception as error:
                if attempt < self.max_attempts and uow.is_retryable(error):
                    log.info("rerunning %s after %s", type(command).__name__, type(error).__name__)
                    time.sleep(random.uniform(0, 0.02 * attempt))
                    continue
                raise
            break
        for hook in self.after_commit:
            try:
                hook(committed)
            except Exception:
                # The transaction is committed; a hook (such as waking the dispatcher) failing
                # must not turn a success into an error for the user.
                log.exception("after-commit hook %r failed", hook)
        return result

    def _run(self, command: Command, uow: AbstractUnitOfWork) -> tuple[Any, list[Event]]:
        handler = self.command_handlers[type(command)]
        committed: list[Event] = []
        with uow:
            result = handler(command, uow, self.context)
            queue = list(uow.collect_new_events())
            while queue:
                event = queue.pop(0)
                uow.event_log.append(event)
                for policy in self.event_handlers.get(type(event), []):
                    policy(event, uow, self.context)
                committed.append(event)
                queue.extend(uow.collect_new_events())
            uow.commit()
        return result, committed
