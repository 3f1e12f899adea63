"""Senders for the booker's own notifications: a Slack DM and an email per booking event.

Each sender turns one outbox row into one delivery and reports failures in the dispatcher's terms
(:mod:`bot.notifications.failures`): :class:`PermanentFailure` when retrying cannot help,
:class:`NoRecipient` when there is nobody to send to (:class:`RecipientGone`: they left the
workspace), anything else when a retry might work.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import smtplib
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.adapters.directory import Directory, UserProfile
from bot.notifications import ics
from bot.notifications.failures import (
    Misconfigured,
    NoRecipient,
    PermanentFailure,
    RateLimited,
    RecipientGone,
    UpstreamUnavailable,
    slack_failure,
    with_text_fallback,
)
from bot.notifications.limits import Call
from bot.notifications.notice import (
    NON_PERSON_ACTORS,
    BadPayload,
    ChannelProblem,
    Departure,
    Notice,
)
from bot.notifications.outbox import OutboxRow
from bot.services.ports import Reader
from bot.views.i18n import use_locale
from bot.views.notifications import (
    approvals_channel_message,
    calendar_text,
    departure_message,
    dm_message,
    email_content,
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def notice_of(row: OutboxRow) -> Notice:
    """The row's notice; a payload no version of the texts can render is a permanent failure."""
    try:
        return Notice.from_payload(row.payload)
    except BadPayload as exc:
        raise PermanentFailure(f"cannot render {row.channel} row {row.id}: {exc!r}") from exc


class DmSender:
    """The booker's DM: ``chat.postMessage`` to their user id (Slack opens the app's DM)."""

    def __init__(self, client: WebClient, directory: Directory) -> None:
        self.client = client
        self.directory = directory

    def calls(self, row: OutboxRow) -> list[Call]:
        return [("chat.postMessage", row.recipient)]

    def __call__(self, row: OutboxRow) -> None:
        known = self.directory.cached(row.recipient)
        if known is not None and known.gone:  # deactivated since the notice was written
            raise RecipientGone(row.recipient)
        render, reader = _renderer(row)
        tz, locale = self._reader(row, reader)
        with use_locale(locale):
            message = render(tz)
        try:
            with_text_fallback(
                lambda m: self.client.chat_postMessage(
                    channel=row.recipient, unfurl_links=False, unfurl_media=False, **m
                ),
                {"text": message["text"], "blocks": message["blocks"]},
                f"the DM of row {row.id}",
            )
        except SlackApiError as exc:
            failure = slack_failure(exc)
            if isinstance(failure, PermanentFailure) and self._left(row.recipient):
                raise RecipientGone(row.recipient) from exc
            raise failure from exc

    def _reader(self, row: OutboxRow, carried: Reader | None) -> tuple[ZoneInfo, str]:
        """The recipient's zone and language: as a booking notice carries them for its booker
        (the listener that served the booker knew them), else from the directory: not in a
        guessed language and zone, so while users.info cannot be asked the DM waits. Someone who
        left since the notice was written is found when Slack refuses the DM (:meth:`_left`)."""
        if carried is not None and carried.locale in self.directory.enabled_locales:
            with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
                return ZoneInfo(carried.tz), carried.locale
        profile = reachable(self.directory.profile(row.recipient))
        return profile.tz, profile.locale

    def _left(self, user: str) -> bool:
        """Slack refused a DM to someone whose cached profile said they were here: they may
        have left since it was cached, so ask again."""
        self.directory.forget(user)
        return self.directory.profile(user).gone


def reachable(profile: UserProfile) -> UserProfile:
    """The profile of someone still in the workspace, read from Slack. Otherwise what a send
    cannot go on without: :class:`RecipientGone` when they left; when Slack could not be asked,
    a token or scope Slack refuses (:class:`Misconfigured`, which holds the channel), its rate
    limit on ``users.info``, or :class:`UpstreamUnavailable` (the row waits, uncounted)."""
    if profile.gone:
        raise RecipientGone(profile.user_id)
    if profile.known:
        return profile
    if isinstance(profile.problem, SlackApiError):
        failure = slack_failure(profile.problem)
        if isinstance(failure, Misconfigured | RateLimited):
            raise failure from profile.problem
    raise UpstreamUnavailable(f"cannot read the Slack profile of {profile.user_id}")


def _renderer(row: OutboxRow) -> tuple[Callable[[ZoneInfo], dict[str, Any]], Reader | None]:
    """The row's DM for a reader's zone: an admins' departure note, an admins' note about the
    approvals channel, or a booking notice; and the reader a booking notice to its booker
    carries. An unreadable payload fails for good here, before anything is asked of Slack."""
    try:
        if Departure.is_one(row.payload):
            departure = Departure.from_payload(row.payload)
            return (lambda tz: departure_message(departure, tz)), None
        if ChannelProblem.is_one(row.payload):
            problem = ChannelProblem.from_payload(row.payload)
            return (lambda tz: approvals_channel_message(problem)), None
    except BadPayload as exc:
        raise PermanentFailure(f"cannot render {row.channel} row {row.id}: {exc!r}") from exc
    notice = notice_of(row)
    reader = notice.reader if row.recipient == notice.booker else None
    return (lambda tz: dm_message(notice, tz)), reader


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


def _header_text(value: str | None) -> str:
    """``value`` on one line without control characters, fit for an email header."""
    return "".join(c for c in " ".join((value or "").split()) if c.isprintable())


class EmailSender:
    """The booker's email, to their Slack profile address, with an .ics when a calendar changes."""

    def __init__(
        self,
        mailer: Mailer,
        directory: Directory,
        mail_from: str,
        *,
        clock: Callable[[], datetime] = _utcnow,
        install_id: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.mailer = mailer
        self.install_id = install_id
        self.directory = directory
        self.mail_from = mail_from
        self.from_address = email.utils.parseaddr(mail_from)[1] or mail_from
        self.domain = ics.uid_domain(mail_from)
        self.clock = clock

    def __call__(self, row: OutboxRow) -> None:
        profile = reachable(self.directory.profile(row.recipient))
        if not profile.email:
            raise NoRecipient(f"{row.recipient} has no email address in Slack", row.recipient)
        # an unreadable row fails for good (in build) before anything is sent
        message = self.build(row, profile.email, profile.tz, profile.name, profile.locale)
        try:
            self.mailer.send(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(f"mail server refused {profile.email}: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(f"mail server refused the message: {exc}") from exc
            raise

    def build(
        self,
        row: OutboxRow,
        to: str,
        tz: ZoneInfo,
        name: str | None = None,
        locale: str | None = None,
    ) -> EmailMessage:
        """The whole message for one row, in the recipient's language (``None``: the default)
        and zone, the calendar entry included."""
        notice = notice_of(row)
        actor = self._actor_name(notice)
        booker = self._name(notice.booker) if notice.to_admins else None
        with use_locale(locale):
            content = email_content(
                notice, tz, recipient_name=name, actor_name=actor, booker_name=booker
            )
            summary, description = calendar_text(notice)
        message = EmailMessage()
        message["From"] = self.mail_from
        # A display name is whatever the user typed into Slack: no line break may reach a header
        message["To"] = email.utils.formataddr((_header_text(name), to))
        message["Subject"] = content.subject
        message["Date"] = email.utils.format_datetime(self.clock())
        message["Message-ID"] = self.message_id(row)
        message["Auto-Submitted"] = "auto-generated"  # no vacation replies to a robot
        message["X-Auto-Response-Suppress"] = "All"
        message.set_content(content.text)
        message.add_alternative(content.html, subtype="html")
        calendar = self._calendar(notice, to, summary, description)
        if calendar is not None:
            method, data = calendar
            # The iTIP part is an alternative of the body, not an attachment: Outlook acts on a
            # text/calendar part with a method inside multipart/alternative and ignores one sent
            # as Content-Disposition: attachment (MS-STANOICAL 2.2.174).
            message.add_alternative(
                data.decode("utf-8"), subtype="calendar", params={"method": method}
            )
        return message

    def message_id(self, row: OutboxRow) -> str:
        """The same for every attempt at one (event, channel, recipient), so a retry that the
        server had in fact accepted is recognisable as a duplicate by mail clients."""
        key = f"{row.event_id}/{row.channel}/{row.recipient}".encode()
        return f"<{hashlib.sha256(key).hexdigest()[:32]}@{self.domain}>"

    def _actor_name(self, notice: Notice) -> str | None:
        if not notice.actor or notice.actor in NON_PERSON_ACTORS or notice.actor == notice.booker:
            return None
        return self._name(notice.actor)

    def _name(self, user: str) -> str | None:
        profile = self.directory.profile(user)
        return profile.name if profile.known else None

    def _calendar(
        self, notice: Notice, attendee: str, summary: str, description: str
    ) -> tuple[str, bytes] | None:
        method = notice.calendar_method
        if method is None:
            return None
        # SEQUENCE is the booking's, which every change raises: calendars move the event.
        # The event's time as DTSTAMP: a retried email carries a byte-identical attachment.
        event_uid = ics.uid_of(notice, self.install_id(), self.domain)
        data = ics.calendar(
            notice,
            self.from_address,
            attendee,
            event_uid=event_uid,
            summary=summary,
            description=description,
        )
        return method, data
