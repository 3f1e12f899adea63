"""An SMTP mailer that keeps one connection open between messages.

Opening a connection (TCP, EHLO, STARTTLS, AUTH) costs several round trips; a burst of
notifications after an approval queue is cleared should not pay them per message. So the
connection is reused, checked with NOOP when it sat idle (servers drop idle clients), and
reopened when it turns out to be gone. Every socket operation has a timeout, so a server that
accepts and then never answers costs one timeout, not a stuck worker. One lock serialises use of
the connection, since the dispatcher loop and scheduler jobs run in different threads.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import TYPE_CHECKING, Self

from bot.config import Settings

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

log = logging.getLogger(__name__)

#: Port of SMTP over implicit TLS ("SMTPS"); every other port speaks plain SMTP first.
IMPLICIT_TLS_PORT = 465


class _Smtp(smtplib.SMTP):
    """Notes when a message's DATA command went out: from then on the server may have taken
    the message even if the connection drops before its answer."""

    data_began = False

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        self.data_began = True
        return super().data(msg)


class _SmtpSsl(_Smtp, smtplib.SMTP_SSL):
    pass


class SmtpMailer:
    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        timeout: float = 10.0,
        idle_check_seconds: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout
        self.idle_check_seconds = idle_check_seconds
        self._ssl_context = ssl_context
        self._now = monotonic
        self._lock = threading.Lock()
        self._smtp: _Smtp | None = None
        self._last_used = 0.0
        self.connections_opened = 0  # for operators' curiosity and for tests

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        if not settings.smtp_host:
            raise ValueError("SMTP_HOST is not set")
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )

    def send(self, message: EmailMessage) -> None:
        """Send one message; raise ``smtplib.SMTPException`` or ``OSError`` if it was not taken.

        A reused connection that turns out to be closed before the message's DATA began is
        reopened and the message sent once more: the server cannot have taken it on a
        connection it had already dropped. Once DATA began, a dropped connection may have lost
        only the server's 250, so the failure is raised (the dispatcher retries later, with the
        same Message-ID) instead of sending the message again at once.
        """
        with self._lock:
            reused = self._smtp is not None and self._alive()
            smtp = self._connection()
            smtp.data_began = False
            try:
                smtp.send_message(message)
            except smtplib.SMTPServerDisconnected:
                self._discard()
                if not reused or smtp.data_began:
                    raise
                log.info("SMTP connection to %s was closed; reconnecting", self.host)
                smtp = self._connection()
                try:
                    smtp.send_message(message)
                except BaseException:
                    self._discard()
                    raise
            except (
                smtplib.SMTPRecipientsRefused,
                smtplib.SMTPSenderRefused,
                smtplib.SMTPDataError,
            ):
                # The server refused this message, not the connection: keep it for the next one.
                try:
                    smtp.rset()
                    self._last_used = self._now()
                except (smtplib.SMTPException, OSError):
                    self._discard()
                raise
            except BaseException:
                self._discard()
                raise
            self._last_used = self._now()

    def verify(self) -> None:
        """Connect and log in once, as sending would (``python -m bot check``); raise what
        sending would raise."""
        with self._lock:
            self._connection()
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._smtp is not None:
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    self._smtp.quit()
                self._discard()

    def _alive(self) -> bool:
        """True if the open connection is usable; NOOP only after it sat idle for a while."""
        assert self._smtp is not None
        if self._now() - self._last_used < self.idle_check_seconds:
            return True
        try:
            code, _ = self._smtp.noop()
        except (smtplib.SMTPException, OSError):
            code = 0
        if code == 250:
            return True
        self._discard()
        return False

    def _connection(self) -> _Smtp:
        if self._smtp is not None:
            return self._smtp
        context = self._ssl_context or ssl.create_default_context()
        smtp: _Smtp
        if self.port == IMPLICIT_TLS_PORT:
            smtp = _SmtpSsl(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = _Smtp(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.starttls and self.port != IMPLICIT_TLS_PORT:
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            smtp.close()
            raise
        self.connections_opened += 1
        self._smtp = smtp
        self._last_used = self._now()
        return smtp

    def _discard(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(OSError):
                self._smtp.close()
        self._smtp = None
