"""``python -m bot check``: is this installation set up right? Also run at start, as warnings.

Each check asks the real thing (the database, Slack's Web API, the mail server) the question the
app will ask later, and turns a failure into one line saying what to do. A mistyped bot token
otherwise shows up only as bookings that never reach the approvals channel.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.adapters import migrate
from bot.adapters.db import DatabaseUnusable, database_problem, make_engine
from bot.adapters.slack import BotIdentity
from bot.config import Settings
from bot.notifications.failures import TOKEN_FIXES
from bot.notifications.mailer import SmtpMailer

log = logging.getLogger(__name__)

BOT_TOKEN_PREFIX = "xoxb-"  # noqa: S105 - a prefix, not a secret
APP_TOKEN_PREFIX = "xapp-"  # noqa: S105
#: Slack's answers meaning "this token is not (or no longer) good", whatever the method.
REFUSED = frozenset(TOKEN_FIXES)


@dataclass(frozen=True)
class Finding:
    """The result of one check: ``problem`` is None when all is well, else one line to act on."""

    check: str
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def run_checks(settings: Settings, client: WebClient | None = None) -> list[Finding]:
    """Every check, in the order a person fixes them; Slack checks that need a working bot token
    are left out while it does not work (their answers would only repeat that)."""
    try:
        engine = make_engine(settings.database_url)
    except DatabaseUnusable as exc:
        findings = [Finding("database", str(exc))]
    else:
        findings = [check_database(engine)]
        engine.dispose()
    findings += list(check_slack(settings, client))
    findings += list(check_email(settings))
    return findings


def problems(findings: list[Finding]) -> list[str]:
    return [f.problem for f in findings if f.problem is not None]


def check_database(engine: Engine) -> Finding:
    try:
        state = migrate.schema_state(engine)
    except SQLAlchemyError as exc:
        return Finding("database", database_problem(exc, engine.url))
    return Finding("database", state.problem())


def check_slack(settings: Settings, client: WebClient | None = None) -> Iterator[Finding]:
    token = settings.slack_bot_token
    if not token:
        yield Finding("bot token", "SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token")
        return
    if not token.startswith(BOT_TOKEN_PREFIX):
        yield Finding(
            "bot token",
            f"SLACK_BOT_TOKEN starts with {token[:5]!r}, not {BOT_TOKEN_PREFIX!r}: use the Bot "
            "User OAuth Token (OAuth & Permissions), not a user or app-level token",
        )
        return
    client = client or WebClient(token=token, base_url=settings.slack_api_url, timeout=10)
    answer = _ask(client.auth_test)
    if isinstance(answer, str):
        yield Finding("bot token", _slack_problem("SLACK_BOT_TOKEN", answer, settings))
        return
    yield Finding("bot token")
    if settings.slack_app_token is not None:
        yield check_app_token(settings, client)
    yield check_approvals_channel(settings, client)
    yield from check_admins(settings, client)


def check_app_token(settings: Settings, client: WebClient) -> Finding:
    app_token = settings.slack_app_token or ""
    if not app_token.startswith(APP_TOKEN_PREFIX):
        return Finding(
            "app token",
            f"SLACK_APP_TOKEN starts with {app_token[:5]!r}, not {APP_TOKEN_PREFIX!r}: create an "
            "app-level token with connections:write (Basic Information -> App-Level Tokens)",
        )
    answer = _ask(lambda: client.apps_connections_open(app_token=app_token))
    if answer == "missing_scope":
        return Finding(
            "app token",
            "SLACK_APP_TOKEN lacks the connections:write scope: add it to the app-level token "
            "(Basic Information -> App-Level Tokens)",
        )
    if isinstance(answer, str):
        return Finding("app token", _slack_problem("SLACK_APP_TOKEN", answer, settings))
    return Finding("app token")


def check_approvals_channel(settings: Settings, client: WebClient) -> Finding:
    channel = settings.approvals_channel
    if not channel:
        return Finding(
            "approvals channel",
            "APPROVALS_CHANNEL is not set: put the approvals channel's id (C...) there",
        )
    answer = _ask(lambda: client.conversations_info(channel=channel))
    if answer == "channel_not_found":
        return Finding(
            "approvals channel",
            f"APPROVALS_CHANNEL {channel} was not found: use the channel id (channel name -> "
            "About -> Channel ID), and for a private channel invite the bot first",
        )
    if answer == "missing_scope":
        return Finding(
            "approvals channel",
            "the bot token lacks channels:read or groups:read: update the app from manifest.yml "
            "(or manifest.socket.yml) and reinstall it",
        )
    if isinstance(answer, str):
        return Finding("approvals channel", _slack_problem("APPROVALS_CHANNEL", answer, settings))
    info = answer.get("channel") or {}
    name = f"#{info['name']}" if info.get("name") else channel
    if info.get("is_archived"):
        return Finding(
            "approvals channel",
            f"the approvals channel {name} is archived: unarchive it or set APPROVALS_CHANNEL",
        )
    if not info.get("is_member"):
        return Finding(
            "approvals channel",
            f"the bot is not in the approvals channel {name}: type /invite @roombot there",
        )
    return Finding("approvals channel")


def check_admins(settings: Settings, client: WebClient) -> Iterator[Finding]:
    if not settings.admin_user_ids:
        yield Finding(
            "admins",
            "ADMIN_USER_IDS is empty, so nobody can approve bookings: add the admins' member ids "
            "(profile -> ... -> Copy member ID), comma-separated",
        )
        return
    for user_id in sorted(settings.admin_user_ids):
        answer = _ask(lambda user_id=user_id: client.users_info(user=user_id))  # type: ignore[misc]
        if answer == "user_not_found":
            problem: str | None = (
                f"ADMIN_USER_IDS: {user_id} is not a member of this workspace: use member ids "
                "(profile -> ... -> Copy member ID), not names"
            )
        elif isinstance(answer, str):
            problem = _slack_problem(f"ADMIN_USER_IDS ({user_id})", answer, settings)
        elif (answer.get("user") or {}).get("deleted"):
            problem = f"ADMIN_USER_IDS: {user_id} is deactivated: remove them or name another"
        elif (answer.get("user") or {}).get("is_bot"):
            problem = f"ADMIN_USER_IDS: {user_id} is a bot, not a person who can approve"
        else:
            problem = None
        yield Finding(f"admin {user_id}", problem)


def check_email(settings: Settings) -> Iterator[Finding]:
    if not settings.email_enabled:
        return
    assert settings.smtp_host is not None
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    mailer = SmtpMailer.from_settings(settings)
    try:
        mailer.verify()
    except smtplib.SMTPAuthenticationError as exc:
        yield Finding(
            "email",
            f"the mail server {where} refused the login ({exc.smtp_code}): check SMTP_USERNAME "
            "and SMTP_PASSWORD",
        )
    except smtplib.SMTPNotSupportedError:
        yield Finding(
            "email",
            f"the mail server {where} does not offer what is configured (STARTTLS or login): "
            "set SMTP_STARTTLS=false, or check SMTP_PORT (465 is implicit TLS)",
        )
    except (smtplib.SMTPException, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        yield Finding(
            "email",
            f"cannot reach the mail server {where} ({reason}): check SMTP_HOST and SMTP_PORT, "
            "or leave SMTP_HOST unset to turn email off",
        )
    else:
        yield Finding("email")


def _ask(call: Callable[[], Any]) -> Any:
    """A Slack answer, or the error as a string: Slack's error code, or ``unreachable: why``."""
    try:
        return call()
    except SlackApiError as exc:
        return str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
    except OSError as exc:  # URLError, timeouts, refused connections
        reason = getattr(exc, "reason", None) or exc
        return f"unreachable: {reason}"


def _slack_problem(setting: str, error: str, settings: Settings) -> str:
    if error.startswith("unreachable"):
        return (
            f"cannot reach Slack at {settings.slack_api_url} ({error.split(': ', 1)[-1]}): "
            "check the network, a proxy, or SLACK_API_URL"
        )
    if error in REFUSED:
        return (
            f"{setting} was refused by Slack ({error}): copy it again from the app's settings "
            "(reinstall the app if it was revoked)"
        )
    return f"{setting}: Slack answered {error}"


class StartupReport:
    """The checks above, run once when the app starts, logged as warnings and shown by
    ``/readyz``. They wait for :class:`~bot.adapters.slack.BotIdentity` to hear from Slack, so a
    Slack outage at start delays the report, never the serving."""

    def __init__(
        self, settings: Settings, engine: Engine, identity: BotIdentity, client: WebClient
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.identity = identity
        self.client = client
        self.findings: list[Finding] | None = None
        self.done = threading.Event()

    def run(self) -> None:
        """Run every check but the database's (``/readyz`` asks that one live) and log problems."""
        findings = list(check_slack(self.settings, self.client)) + list(check_email(self.settings))
        for finding in findings:
            if finding.problem is not None:
                log.warning("check: %s", finding.problem)
        self.findings = findings
        self.done.set()

    def details(self) -> dict[str, str]:
        if self.findings is None:
            waiting = self.identity.error or "checking"
            return {"slack": f"waiting for Slack ({waiting})"}
        return {f.check: f.problem or "ok" for f in self.findings}

    def blocking(self) -> str | None:
        """A problem that stops the app working at all: Slack refused the bot token."""
        if self.identity.refused:
            return f"Slack refused SLACK_BOT_TOKEN ({self.identity.error})"
        return None
