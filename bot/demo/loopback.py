"""Local stand-ins on 127.0.0.1 for the demo, the tests and the bench: a real SMTP server
(aiosmtpd) that keeps what it receives, and a port nobody listens on.

Servers bind port 0 and report the port the system gave them, so no other process can take the
port between choosing it and binding it.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, TypeVar, overload

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


def unused_port() -> int:
    """A loopback port nobody listens on now: connecting to it is refused. For "the server is
    not there" checks, and for a child process that is told its port (it binds it itself);
    a server in this process binds port 0 instead (``smtp_server``)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class Inbox:
    """aiosmtpd handler keeping every message it accepts, parsed as a mail client would."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.received: list[Received] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._changed:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
            self._changed.notify_all()
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        with self._changed:
            return [r.message for r in self.received]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} message(s), got {len(self.received)}")
                self._changed.wait(remaining)
            return list(self.received)


class LoopbackSmtp(Controller):
    """aiosmtpd's threaded controller that may listen on port 0: before its first connection
    (the start-up check) it reads the port the system bound, so ``port`` is the real one."""

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)  # what the loop's create_server made
        self.port = int(self.server.sockets[0].getsockname()[1])
        super()._trigger_server()  # type: ignore[no-untyped-call]  # aiosmtpd leaves it unannotated


Handler = TypeVar("Handler")


@overload
def smtp_server(
    handler: None = None, *, port: int = 0, **options: Any
) -> AbstractContextManager[tuple[Inbox, int]]: ...


@overload
def smtp_server(
    handler: Handler, *, port: int = 0, **options: Any
) -> AbstractContextManager[tuple[Handler, int]]: ...


@contextmanager
def smtp_server(handler: Any = None, *, port: int = 0, **options: Any) -> Iterator[tuple[Any, int]]:
    """A real SMTP server on loopback with ``handler`` (an ``Inbox`` if none) on ``port``
    (0: any free one), and the port it listens on. ``options`` go to aiosmtpd's SMTP class
    (an authenticator, for example)."""
    box: Any = Inbox() if handler is None else handler
    controller = LoopbackSmtp(box, hostname=HOST, port=port, ready_timeout=10, **options)
    controller.start()
    try:
        yield box, controller.port
    finally:
        controller.stop()
