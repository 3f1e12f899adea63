"""The message bus: routes a command to its use case and the resulting events to their policies.

Bolt runs listeners in a thread pool and APScheduler runs jobs in threads, so one bus is shared by
many threads. It therefore keeps no per-call state: the event queue is local to :meth:`handle`, and
every call gets a fresh unit of work from the factory.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from bot.domain.commands import Command
from bot.domain.events import Event
from bot.services import handlers
from bot.services.handlers import Context, Handler
from bot.services.unit_of_work import UnitOfWorkFactory

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
    ) -> None:
        self.uow_factory = uow_factory
        self.context = context
        self.command_handlers = (
            handlers.COMMAND_HANDLERS if command_handlers is None else command_handlers
        )
        self.event_handlers = handlers.EVENT_HANDLERS if event_handlers is None else event_handlers
        self.after_commit = list(after_commit)

    def handle(self, command: Command) -> Any:
        """Run the command and every policy its events trigger in one transaction; return the
        use case's result. Domain errors propagate after the rollback, with nothing stored."""
        handler = self.command_handlers[type(command)]
        committed: list[Event] = []
        with self.uow_factory() as uow:
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
        for hook in self.after_commit:
            try:
                hook(committed)
            except Exception:
                # The transaction is committed; a hook (such as waking the dispatcher) failing
                # must not turn a success into an error for the user.
                log.exception("after-commit hook %r failed", hook)
        return result
