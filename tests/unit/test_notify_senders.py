"""The DM and email senders, with stand-ins for Slack's directory and the mail server: how each
outcome is reported to the dispatcher, and what an email is made of."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.adapters.directory import UserProfile
from bot.notifications.failures import (
    PERMANENT_SLACK_ERRORS,
    TOKEN_FIXES,
    Misconfigured,
    NoRecipient,
    PermanentFailure,
    RecipientGone,
    RetryLater,
    UpstreamUnavailable,
    slack_failure,
)
from bot.notifications.outbox import OutboxRow
from bot.notifications.senders import DmSender, EmailSender

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


class Profiles:
    def __init__(self, *profiles: UserProfile) -> None:
        self.profiles = {p.user_id: p for p in profiles}

    def profile(self, user_id: str) -> UserProfile:
        return self.profiles.get(user_id) or UserProfile(user_id, ZoneInfo("UTC"), known=False)

    def tz(self, user_id: str) -> ZoneInfo:
        return self.profile(user_id).tz

    def cached(self, user_id: str) -> UserProfile | None:
        return self.profiles.get(user_id)


class Outbox:
    def __init__(self, fail: BaseException | None = None) -> None:
        self.fail = fail
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent.append(message)


BOB = UserProfile("UBOB", ZoneInfo("Asia/Seoul"), "bob@example.com", "Bob")
ADA = UserProfile("UADMIN", ZoneInfo("Europe/Berlin"), "ada@example.com", "Ada Admin")


def row(kind: str, recipient: str = "UBOB", **extra: Any) -> OutboxRow:
    payload = {
        "kind": kind,
        "actor": extra.pop("actor", "UADMIN"),
        "at": "2026-11-30T08:00:00+00:00",
        "booking": {
            "booking_id": 7,
            "room_id": "102",
            "room_name": "Room 102",
            "starts_at": "2026-12-01T00:00:00+00:00",
            "ends_at": "2026-12-01T01:00:00+00:00",
            "booker": "UBOB",
            "title": "Sync",
            "status": "APPROVED",
            "requested_at": "2026-11-30T07:00:00+00:00",
            "reason": None,
        },
        **extra,
    }
    return OutboxRow(
        id=1,
        event_id="e" * 32,
        channel="email",
        recipient=recipient,
        status="sending",
        attempts=1,
        next_attempt_at=NOW,
        last_error=None,
        created_at=NOW,
        sent_at=None,
        payload=payload,
    )


def sender(mailer: Outbox, *profiles: UserProfile) -> EmailSender:
    directory: Any = Profiles(*profiles)
    return EmailSender(mailer, directory, "Roombot <rooms@example.com>", clock=lambda: NOW)


def calendar_parts(message: EmailMessage) -> list[EmailMessage]:
    """The calendar parts, each checked to be where Outlook looks for it: an alternative of the
    body (inside multipart/alternative), not an attachment."""
    if message.get_content_type() != "multipart/alternative":
        return []
    parts = [p for p in message.iter_parts() if p.get_content_type() == "text/calendar"]
    for part in parts:
        assert part.get_content_disposition() is None
        assert part.get_param("method") in ("REQUEST", "CANCEL")
    return parts


def test_an_approval_email_carries_a_request_invite() -> None:
    mailer = Outbox()
    sender(mailer, BOB, ADA)(row("approved"))
    [message] = mailer.sent
    assert message["To"] == "Bob <bob@example.com>"
    assert message["From"] == "Roombot <rooms@example.com>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"] == "Mon, 30 Nov 2026 08:00:00 +0000"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "(Asia/Seoul)" in body.get_content()
    assert "Ada Admin" in body.get_content()
    [part] = calendar_parts(message)
    assert part.get_param("method") == "REQUEST"
    assert b"METHOD:REQUEST" in part.get_payload(decode=True)


@pytest.mark.parametrize(
    ("kind", "extra", "method"),
    [
        ("cancelled", {"was_approved": True, "by_admin": False, "actor": "UBOB"}, "CANCEL"),
        ("cancelled", {"was_approved": False, "by_admin": False, "actor": "UBOB"}, None),
        ("denied", {}, None),
        ("requested", {"actor": "UBOB"}, None),
        ("expired", {"actor": "system"}, None),
    ],
)
def test_only_a_withdrawn_approval_carries_a_cancel(
    kind: str, extra: dict[str, Any], method: str | None
) -> None:
    mailer = Outbox()
    sender(mailer, BOB, ADA)(row(kind, **extra))
    parts = calendar_parts(mailer.sent[0])
    assert [p.get_param("method") for p in parts] == ([method] if method else [])


def test_a_payload_that_cannot_be_rendered_fails_for_good() -> None:
    broken = row("teleported")
    with pytest.raises(PermanentFailure, match="cannot render"):
        sender(Outbox(), BOB)(broken)
    with pytest.raises(PermanentFailure, match="cannot render"):
        DmSender(client=None, directory=Profiles(BOB))(broken)  # type: ignore[arg-type]


def test_a_user_without_email_has_no_recipient() -> None:
    with pytest.raises(NoRecipient) as caught:
        sender(Outbox(), UserProfile("UBOB", ZoneInfo("UTC"), None))(row("approved"))
    assert caught.value.user == "UBOB"


def test_an_unreadable_profile_is_retried_without_blaming_email() -> None:
    with pytest.raises(UpstreamUnavailable):
        sender(Outbox())(row("approved"))


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (smtplib.SMTPRecipientsRefused({"bob@example.com": (550, b"no such user")}), True),
        (smtplib.SMTPDataError(554, b"rejected as spam"), True),
        (smtplib.SMTPDataError(451, b"try again later"), False),
        (smtplib.SMTPServerDisconnected("gone"), False),
        (ConnectionRefusedError(111, "refused"), False),
    ],
)
def test_smtp_errors_are_permanent_only_when_the_server_said_so(
    error: Exception, permanent: bool
) -> None:
    with pytest.raises(Exception) as caught:
        sender(Outbox(fail=error), BOB, ADA)(row("approved"))
    assert isinstance(caught.value, PermanentFailure) == permanent


def test_message_ids_are_stable_per_event_channel_and_recipient() -> None:
    s = sender(Outbox(), BOB)
    assert s.message_id(row("approved")) == s.message_id(row("approved"))
    assert s.message_id(row("approved")) != s.message_id(row("approved", recipient="UAL"))
    assert s.message_id(row("approved")).endswith("@example.com>")


def slack_error(
    status: int, error: str, headers: dict[str, str] | None = None, **data: Any
) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.test/api/chat.postMessage",
        req_args={},
        data={"ok": False, "error": error, **data},
        headers=headers or {},
        status_code=status,
    )
    return SlackApiError(error, response)


def test_slack_errors_map_to_retry_later_permanent_or_transient() -> None:
    limited = slack_failure(slack_error(429, "ratelimited", {"Retry-After": "7"}))
    assert isinstance(limited, RetryLater) and limited.after_seconds == 7
    lowercase = slack_failure(slack_error(429, "ratelimited", {"retry-after": "3"}))
    assert isinstance(lowercase, RetryLater) and lowercase.after_seconds == 3
    assert isinstance(slack_failure(slack_error(200, "user_not_found")), PermanentFailure)
    outage = slack_error(500, "internal_error")
    assert slack_failure(outage) is outage


def test_token_and_scope_errors_are_the_setups_not_the_rows() -> None:
    """``account_inactive`` is the bot token's user or workspace, deleted: not the recipient."""
    assert "account_inactive" in TOKEN_FIXES and "account_inactive" not in PERMANENT_SLACK_ERRORS
    for error in TOKEN_FIXES:
        found = slack_failure(slack_error(200, error))
        assert isinstance(found, Misconfigured) and found.key == error
    scope = slack_failure(slack_error(200, "missing_scope", needed="im:write", provided="x"))
    assert isinstance(scope, Misconfigured)
    assert "im:write" in scope.fix and "chat.postMessage" in str(scope)


def test_a_display_name_with_line_breaks_still_gets_its_email() -> None:
    mailer = Outbox()
    crlf = UserProfile("UBOB", BOB.tz, "bob@example.com", "Bob\r\nBcc: eve@example.com\x00")
    sender(mailer, crlf, ADA)(row("approved"))
    [message] = mailer.sent
    assert message["To"] == '"Bob Bcc: eve@example.com" <bob@example.com>'
    assert message["Bcc"] is None
    assert "\r" not in message.as_string().split("\n\n")[0].replace("\r\n", "\n")


class Posts:
    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []

    def chat_postMessage(self, **kwargs: Any) -> None:  # noqa: N802 (WebClient's name)
        self.posted.append(kwargs)


class NoLookups(Profiles):
    enabled_locales = ("en", "ko")

    def profile(self, user_id: str) -> UserProfile:
        raise AssertionError(f"users.info asked for {user_id}")


def test_a_dm_to_the_booker_uses_the_zone_and_language_the_notice_carries() -> None:
    slack = Posts()
    seoul = {"tz": "Asia/Seoul", "locale": "ko"}
    DmSender(slack, NoLookups())(row("approved", reader=seoul))  # type: ignore[arg-type]
    [dm] = slack.posted
    assert "승인" in dm["text"] and "Asia/Seoul" in str(dm["blocks"])


def test_no_dm_to_the_booker_the_cache_knows_left_though_the_notice_carries_a_reader() -> None:
    """Slack said they were deactivated after the notice was written: nothing is posted."""
    slack = Posts()
    gone = UserProfile("UBOB", ZoneInfo("UTC"), gone=True)
    with pytest.raises(RecipientGone):
        DmSender(slack, NoLookups(gone))(row("approved", reader={"tz": "UTC", "locale": "en"}))  # type: ignore[arg-type]
    assert slack.posted == []


@pytest.mark.parametrize(
    ("recipient", "reader"),
    [
        ("UADMIN", {"tz": "Asia/Seoul", "locale": "ko"}),  # not the booker's row
        ("UBOB", {"tz": "Asia/Seoul", "locale": "fr"}),  # a language no longer enabled
        ("UBOB", {"tz": "Mars/Olympus", "locale": "ko"}),  # a zone this machine lacks
    ],
)
def test_otherwise_the_dm_asks_the_directory(recipient: str, reader: dict[str, str]) -> None:
    slack, asked = Posts(), []

    class Asking(NoLookups):
        def profile(self, user_id: str) -> UserProfile:
            asked.append(user_id)
            return ADA if user_id == "UADMIN" else BOB

    DmSender(slack, Asking())(row("approved", recipient, reader=reader))  # type: ignore[arg-type]
    assert asked == [recipient] and len(slack.posted) == 1
