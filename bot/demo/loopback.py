"""Local stand-ins on 127.0.0.1 for the demo, the tests and the bench: a real SMTP server
(aiosmtpd) that keeps what it receives, and a port nobody listens on.

Servers bind port 0 and report the port the system gave them, so no other process can take the
port between choosing it and binding it. A port that must refuse connections first and take them
later (a mail server down, then back) is held bound meanwhile (``held_port``), and the server
listens on that socket.
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


@contextmanager
def held_port() -> Iterator[socket.socket]:
    """A loopback socket bound to a free port and not listened on, for as long as the block
    runs: connecting to it is refused, and no other process can take the port, until a server
    listens on it (``smtp_server(sock=...)``)."""
    with socket.socket() as held:
        held.bind((HOST, 0))
        yield held


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
    (the start-up check) it reads the port the system bound, so ``port`` is the real one. With
    ``sock`` it listens on that bound socket instead (and closes it when it stops)."""

    def __init__(self, handler: Any, *, sock: socket.socket | None = None, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.sock = sock

    def _create_server(self) -> Any:
        if self.sock is None:
            return super()._create_server()
        return self.loop.create_server(self._factory_invoker, sock=self.sock, ssl=self.ssl_context)

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)  # what the loop's create_server made
        self.port = int(self.server.sockets[0].getsockname()[1])
        super()._trigger_server()  # type: ignore[no-untyped-call]  # aiosmtpd leaves it unannotated


Handler = TypeVar("Handler")


@overload
def smtp_server(
    handler: None = None, *, sock: socket.socket | None = None, **options: Any
) -> AbstractContextManager[tuple[Inbox, int]]: ...


@overload
def smtp_server(
    handler: Handler, *, sock: socket.socket | None = None, **options: Any
) -> AbstractContextManager[tuple[Handler, int]]: ...


@contextmanager
def smtp_server(
    handler: Any = None, *, sock: socket.socket | None = None, **options: Any
) -> Iterator[tuple[Any, int]]:
    """A real SMTP server on loopback with ``handler`` (an ``Inbox`` if none) on a free port,
    or on the bound socket ``sock`` (``held_port``: it stays bound after the server stops, for
    the next one), and the port it listens on. ``options`` go to aiosmtpd's SMTP class (an
    authenticator, for example)."""
    box: Any = Inbox() if handler is None else handler
    controller = LoopbackSmtp(
        box,
        sock=None if sock is None else sock.dup(),
        hostname=HOST,
        port=0 if sock is None else int(sock.getsockname()[1]),
        ready_timeout=10,
        **options,
    )
    controller.start()
    try:
        yield box, controller.port
    finally:
        controller.stop()
