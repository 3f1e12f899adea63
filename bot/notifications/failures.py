"""The failure vocabulary senders speak to the dispatcher.

A sender raises :class:`PermanentFailure` when retrying cannot help (the row goes dead at once),
:class:`NoRecipient` when there is nobody to send to (skipped, not an error; its
:class:`RecipientGone` when the person left the workspace),
:class:`UpstreamUnavailable` when something it needs besides its own channel is down,
:class:`Misconfigured` when the setup is wrong (a token, a scope) rather than the row, and
:class:`RetryLater` when the server said when to come back; anything else is retried with backoff.
:func:`slack_failure` translates Slack's errors into these terms.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from slack_sdk.errors import SlackApiError

from bot.views.mrkdwn import clip

if TYPE_CHECKING:
    from bot.notifications.outbox import OutboxRow

log = logging.getLogger(__name__)
T = TypeVar("T")


class PermanentFailure(Exception):
    """Retrying will not help (unknown user, address refused): the row goes dead at once."""


class NoRecipient(PermanentFailure):
    """There is nobody to deliver to (the user has no email): the row is skipped, not an error."""

    def __init__(self, message: str, user: str | None = None) -> None:
        super().__init__(message)
        self.user = user


class RecipientGone(NoRecipient):
    """The recipient left the workspace (Slack says their account is deleted, or knows no such
    user): the row is skipped, and the dispatcher has their bookings released."""

    def __init__(self, user: str) -> None:
        super().__init__(f"{user} left the workspace", user)
        self.user: str = user


class UpstreamUnavailable(Exception):
    """A transient failure of something the sender needs that is not the channel itself (Slack's
    ``users.info`` for an email address): retried with backoff, but not held against the channel's
    circuit breaker, which would otherwise stop email because Slack hiccuped."""


class RetryLater(Exception):
    """A transient failure whose sender knows when to try again (Slack's ``Retry-After``)."""

    def __init__(self, message: str, after_seconds: float) -> None:
        super().__init__(message)
        self.after_seconds = after_seconds


class RateLimited(RetryLater):
    """Slack answered 429 for ``method`` (in ``channel``, for per-channel methods): the row is
    put back without spending an attempt, and that method or channel waits ``Retry-After``."""

    def __init__(
        self, message: str, after_seconds: float, method: str, channel: str | None
    ) -> None:
        super().__init__(message, after_seconds)
        self.method = method
        self.channel = channel


class Misconfigured(Exception):
    """Slack refused because of how roombot is set up (its token, a scope it lacks), not
    because of the row: every row of the channel fails the same way until someone fixes it.
    The dispatcher opens the channel's breaker, puts the row back without spending an attempt,
    and logs ``fix`` once (``key`` tells one problem from another)."""

    def __init__(self, message: str, key: str, fix: str) -> None:
        super().__init__(message)
        self.key = key
        self.fix = fix


#: Slack's token-level errors (the "Errors" of every Web API method), and what the operator
#: does about each. ``account_inactive`` is about the bot's own token (its user or workspace was
#: deleted), not about the recipient.
TOKEN_FIXES: dict[str, str] = {
    "not_authed": "no token reached Slack: set SLACK_BOT_TOKEN to the app's bot token (xoxb-)",
    "invalid_auth": (
        "Slack does not accept SLACK_BOT_TOKEN (or this address): set it to the bot token "
        "(xoxb-) on the app's OAuth & Permissions page"
    ),
    "token_revoked": (
        "the bot token was revoked or the app was removed from the workspace: reinstall the app "
        "and set SLACK_BOT_TOKEN to its new bot token"
    ),
    "token_expired": (
        "the bot token has expired (token rotation is on): turn rotation off for the app, or "
        "set SLACK_BOT_TOKEN to a fresh token"
    ),
    "account_inactive": (
        "the bot token belongs to a deleted bot user or workspace: reinstall the app and set "
        "SLACK_BOT_TOKEN to its new bot token"
    ),
    "team_disabled": "the workspace has been disabled: nothing can be sent until it is enabled",
}


def missing_scope_fix(needed: str) -> str:
    return (
        f"the app lacks the {needed} scope: add it to the bot scopes (OAuth & Permissions, or "
        "manifest.yml), reinstall the app and set SLACK_BOT_TOKEN to its new bot token"
    )


#: What Slack answers when roombot cannot post in the approvals channel, and what fixes it
#: (a private channel the bot is not in is ``channel_not_found`` too).
APPROVALS_CHANNEL_FIXES: dict[str, str] = {
    "not_in_channel": "invite the bot there (/invite @roombot), or set APPROVALS_CHANNEL",
    "channel_not_found": (
        "set APPROVALS_CHANNEL to the channel's id (C...), or invite the bot there if it is a "
        "private channel (/invite @roombot)"
    ),
    "is_archived": "unarchive the channel, or set APPROVALS_CHANNEL to another one",
}


class ChannelUnusable(Misconfigured):
    """The approvals channel refuses roombot's cards (``error``): every card would meet it, so
    card rows wait, and the admins are told what to do."""

    def __init__(self, channel: str, error: str) -> None:
        super().__init__(
            f"Slack refused approval cards in {channel}: {error}",
            f"approvals:{error}:{channel}",
            APPROVALS_CHANNEL_FIXES[error],
        )
        self.channel = channel
        self.error = error


#: Slack errors about the recipient itself: retrying the same row cannot succeed.
PERMANENT_SLACK_ERRORS = frozenset(
    {
        "user_not_found",
        "channel_not_found",
        "user_disabled",
        "is_archived",
        "cannot_dm_bot",
        "invalid_blocks",
        "invalid_arguments",
        "msg_too_long",
        "no_text",
        "too_many_attachments",
    }
)


#: Slack refusing what a message's blocks (or a view) say: a bug in a view, or a limit missed.
REFUSED_PAYLOAD_ERRORS = frozenset({"invalid_blocks", "invalid_arguments"})
#: How much of a refused payload the log shows.
PAYLOAD_LOG_MAX = 2000


def refused_payload(exc: SlackApiError) -> str | None:
    """``invalid_blocks`` or ``invalid_arguments`` when Slack answered that, else None."""
    error = exc.response.get("error")
    return str(error) if error in REFUSED_PAYLOAD_ERRORS else None


def log_refused(what: str, exc: SlackApiError, payload: Any) -> None:
    """Log what Slack refused and why (its ``response_metadata.messages``), the payload clipped."""
    reasons = (exc.response.get("response_metadata") or {}).get("messages") or []
    shown = json.dumps(payload, ensure_ascii=False, default=str)
    log.error(
        "Slack refused %s (%s%s): %s",
        what,
        exc.response.get("error"),
        "".join(f"; {r}" for r in reasons),
        clip(shown, PAYLOAD_LOG_MAX),
    )


def with_text_fallback(
    send: Callable[[dict[str, Any]], T], message: dict[str, Any], what: str
) -> T:
    """Send ``message``; when Slack refuses its blocks, log them and send its fallback text
    alone, once. A text Slack refuses as well is a permanent failure (other errors of that
    second send are the caller's to translate, as the first's are)."""
    try:
        return send(message)
    except SlackApiError as exc:
        if refused_payload(exc) is None:
            raise
        log_refused(f"the blocks of {what}; sending its text alone", exc, message.get("blocks"))
    text_only = {k: v for k, v in message.items() if k != "blocks"}
    try:
        return send(text_only)
    except SlackApiError as exc:
        error = refused_payload(exc)
        if error is None:
            raise
        log_refused(f"the text of {what}", exc, text_only.get("text"))
        raise PermanentFailure(f"Slack refused {what}, blocks and text alone: {error}") from exc


def slack_failure(exc: SlackApiError) -> Exception:
    """Translate a Slack error for the dispatcher: rate limits wait as long as Slack asks,
    token and scope errors are the setup's, errors about the recipient are permanent, the rest
    (5xx, timeouts) are retried."""
    response = exc.response
    status = getattr(response, "status_code", None)
    error = response.get("error") if hasattr(response, "get") else None
    if status == 429 or error == "ratelimited":
        headers = {k.lower(): v for k, v in (getattr(response, "headers", None) or {}).items()}
        value = headers.get("retry-after")
        if isinstance(value, list):
            value = value[0] if value else None
        try:
            after = float(value) if value is not None else 1.0
        except ValueError:
            after = 1.0
        method = _method_of(response)
        return RateLimited(
            f"Slack rate limit on {method or 'a method'}, retry after {after:g}s",
            after,
            method,
            _channel_of(response),
        )
    if error in TOKEN_FIXES:
        return Misconfigured(f"Slack refused the token: {error}", error, TOKEN_FIXES[error])
    if error == "missing_scope":
        needed = str(response.get("needed") or "a scope")
        return Misconfigured(
            f"Slack refused {_method_of(response) or 'a method'}: missing_scope {needed}",
            f"missing_scope:{needed}",
            missing_scope_fix(needed),
        )
    if error in PERMANENT_SLACK_ERRORS:
        return PermanentFailure(f"Slack refused: {error}")
    return exc


def _method_of(response: Any) -> str:
    """The Web API method a response answers (``chat.postMessage``), from its URL."""
    return str(getattr(response, "api_url", "") or "").rstrip("/").rpartition("/")[2]


def _channel_of(response: Any) -> str | None:
    """The channel a request went to, from the arguments slack_sdk keeps with its response."""
    args = getattr(response, "req_args", None) or {}
    for part in ("params", "json", "data"):
        values = args.get(part) or {}
        if isinstance(values, dict) and values.get("channel"):
            return str(values["channel"])
    return None


class SlackSender:
    """Wraps a sender that calls Slack (approval cards, App Home) so the dispatcher sees its
    errors translated (rate limits wait, refusals are permanent, outages are retried) and knows
    which calls a row costs (``calls``)."""

    def __init__(self, send: Callable[[OutboxRow], None], calls: Callable[[OutboxRow], Any]):
        self.send = send
        self.calls = calls

    def __call__(self, row: OutboxRow) -> None:
        try:
            self.send(row)
        except SlackApiError as exc:
            raise slack_failure(exc) from exc
