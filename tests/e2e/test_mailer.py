"""The SMTP mailer against a real SMTP server on loopback: connection reuse, recovery, timeouts."""

from __future__ import annotations

import smtplib
import threading
import time
from email.message import EmailMessage
from typing import Any

import pytest

from bot.demo.loopback import Inbox, held_port, smtp_server
from bot.notifications.mailer import SmtpMailer
from tests.e2e.mail import SilentServer


def message(n: int, to: str = "ann@example.com") -> EmailMessage:
    m = EmailMessage()
    m["From"] = "rooms@example.com"
    m["To"] = to
    m["Subject"] = f"message {n}"
    m.set_content(f"body {n}")
    return m


class Ticker:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_connection_carries_messages_from_many_threads() -> None:
    with smtp_server() as (inbox, port):
        mailer = SmtpMailer("127.0.0.1", port, starttls=False, timeout=5)

        def send(base: int) -> None:
            for i in range(5):
                mailer.send(message(base + i))

        threads = [threading.Thread(target=send, args=(n * 10,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        inbox.wait_for(20)
        mailer.close()
    assert sorted(str(r.message["Subject"]) for r in inbox.received) == sorted(
        f"message {n * 10 + i}" for n in range(4) for i in range(5)
    )
    assert mailer.connections_opened == 1


def test_a_connection_the_server_dropped_is_reopened_and_the_message_sent_once() -> None:
    with held_port() as held:
        with smtp_server(sock=held) as (first, port):
            mailer = SmtpMailer("127.0.0.1", port, starttls=False, timeout=5)
            mailer.send(message(1))
        with smtp_server(sock=held) as (second, _):  # a restarted server: our socket is dead
            mailer.send(message(2))
            assert [str(r.message["Subject"]) for r in second.wait_for(1)] == ["message 2"]
            mailer.close()
    assert len(first.received) == 1 and len(second.received) == 1
    assert mailer.connections_opened == 2


class DropsAfterTaking(Inbox):
    """Takes the next message and drops the connection before its 250 can reach the client,
    as a server that crashes (or a network that breaks) right after queueing it does."""

    drop_next = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook name
        answer = await super().handle_DATA(server, session, envelope)
        if self.drop_next:
            self.drop_next = False
            server.transport.close()
        return answer


def test_a_connection_dropped_after_data_is_not_sent_again_at_once() -> None:
    """The server may have taken a message whose answer was lost: the mailer says it failed
    (the dispatcher retries it later, with the same Message-ID) and never sends it twice
    itself."""
    with smtp_server(DropsAfterTaking()) as (inbox, port):
        mailer = SmtpMailer("127.0.0.1", port, starttls=False, timeout=5)
        mailer.send(message(1))
        inbox.drop_next = True
        with pytest.raises(smtplib.SMTPServerDisconnected):
            mailer.send(message(2))
        mailer.send(message(3))  # a fresh connection for the next one
        inbox.wait_for(3)
        mailer.close()
    subjects = [str(r.message["Subject"]) for r in inbox.received]
    assert subjects == ["message 1", "message 2", "message 3"]


class NoopCounting(Inbox):
    def __init__(self) -> None:
        super().__init__()
        self.noops = 0

    async def handle_NOOP(self, server: Any, session: Any, envelope: Any, arg: str) -> str:  # noqa: N802 - aiosmtpd hook name
        self.noops += 1
        return "250 OK"


def test_an_idle_connection_is_checked_with_noop_before_use() -> None:
    ticker = Ticker()
    with smtp_server(NoopCounting()) as (inbox, port):
        mailer = SmtpMailer("127.0.0.1", port, starttls=False, timeout=5, monotonic=ticker)
        try:
            mailer.send(message(1))
            ticker.now += 5
            mailer.send(message(2))
            assert inbox.noops == 0  # recently used: no extra round trip
            ticker.now += 31
            mailer.send(message(3))
            assert inbox.noops == 1
            assert mailer.connections_opened == 1
            inbox.wait_for(3)
        finally:
            mailer.close()


class RefusesBob(Inbox):
    async def handle_RCPT(  # noqa: N802 - aiosmtpd hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("bob@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refused_recipient_fails_that_message_only() -> None:
    with smtp_server(RefusesBob()) as (inbox, port):
        mailer = SmtpMailer("127.0.0.1", port, starttls=False, timeout=5)
        try:
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                mailer.send(message(1, to="bob@example.com"))
            mailer.send(message(2))
            assert [str(r.message["Subject"]) for r in inbox.wait_for(1)] == ["message 2"]
            assert mailer.connections_opened == 1  # the connection was fine and is kept
        finally:
            mailer.close()


def test_a_server_that_never_answers_costs_one_timeout() -> None:
    with SilentServer() as silent:
        mailer = SmtpMailer("127.0.0.1", silent.port, starttls=False, timeout=0.2)
        began = time.monotonic()
        with pytest.raises((OSError, smtplib.SMTPException)):
            mailer.send(message(1))
        assert time.monotonic() - began < 5  # bounded by the timeout, not forever
        assert silent.accepted == 1
        assert mailer.connections_opened == 0
