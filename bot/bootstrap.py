"""The one place that wires settings, engine, unit of work, message bus and read side together.

Tests call :func:`bootstrap` with their own engine, clock or hooks; nothing is created at import.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.adapters import orm
from bot.adapters.db import make_engine, make_session_factory
from bot.adapters.directory import Directory
from bot.adapters.dispatcher import Dispatcher, DispatchSettings, Sender
from bot.adapters.mailer import SmtpMailer
from bot.adapters.notify import DmSender, EmailSender, Mailer, slack_sender
from bot.adapters.outbox import OutboxStore
from bot.adapters.slack import CardPublisher, HomePublisher, make_client
from bot.adapters.wakeup import PostgresWakeup
from bot.config import Settings
from bot.handlers import register
from bot.handlers.deps import Deps
from bot.services.handlers import Context
from bot.services.messagebus import AfterCommit, MessageBus
from bot.services.ports import Channel
from bot.services.queries import Queries
from bot.services.unit_of_work import SqlAlchemyUnitOfWork
from bot.views import i18n

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Container:
    settings: Settings
    engine: Engine
    bus: MessageBus
    queries: Queries

    def close(self) -> None:
        self.engine.dispose()


def bootstrap(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = _utcnow,
    after_commit: Sequence[AfterCommit] = (),
) -> Container:
    orm.start_mappers()
    i18n.set_default_locale(settings.default_locale)
    engine = engine or make_engine(settings.database_url)
    session_factory = make_session_factory(engine)
    context = Context(
        admins=settings.admin_user_ids,
        limits=settings.limits,
        clock=clock,
        reminder_lead=timedelta(minutes=settings.reminder_minutes),
        nudge_after=timedelta(minutes=settings.admin_nudge_minutes),
    )
    bus = MessageBus(
        lambda: SqlAlchemyUnitOfWork(session_factory), context, after_commit=after_commit
    )
    return Container(settings=settings, engine=engine, bus=bus, queries=Queries(engine))


def make_directory(client: WebClient, settings: Settings) -> Directory:
    """The users.info cache, with the settings' fallback zone and languages."""
    return Directory(
        client,
        ZoneInfo(settings.default_timezone),
        ttl_seconds=settings.user_cache_ttl_seconds,
        default_locale=settings.default_locale,
        enabled_locales=settings.enabled_locales,
    )


@dataclass
class SlackParts:
    """The Slack side of the app, built on a :class:`Container`."""

    client: WebClient
    directory: Directory
    cards: CardPublisher
    homes: HomePublisher
    bolt: App

    @property
    def senders(self) -> dict[str, Callable[[Any], None]]:
        """Outbox senders for the channels that render current state (cards, home tabs), with
        Slack's errors translated for the dispatcher as for DMs."""
        return {Channel.CARD: slack_sender(self.cards), Channel.HOME: slack_sender(self.homes)}


def build_slack(
    container: Container, *, client: WebClient | None = None, receiving: bool = True
) -> SlackParts:
    """Web API client, directory, publishers and the Bolt app with every listener registered.

    ``receiving=False`` (the worker) needs no signing secret: it only sends.
    """
    settings = container.settings
    settings.require_slack(receiving=receiving)
    assert settings.slack_bot_token is not None and settings.approvals_channel is not None
    client = client or make_client(settings.slack_bot_token, settings.slack_api_url)
    directory = make_directory(client, settings)
    queries = container.queries
    cards = CardPublisher(
        client, settings.approvals_channel, queries, container.engine, settings.card_locale
    )
    dead = OutboxStore(container.engine)
    homes = HomePublisher(
        client,
        queries,
        directory,
        is_admin=lambda user: user in settings.admin_user_ids,
        dead_count=dead.dead_count,
        clock=container.bus.context.clock,
    )
    bolt = App(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        process_before_response=False,
        token_verification_enabled=False,
        request_verification_enabled=not settings.socket_mode,
    )
    register(
        bolt,
        Deps(
            settings=settings,
            bus=container.bus,
            queries=queries,
            directory=directory,
            homes=homes,
            cards=cards,
            clock=container.bus.context.clock,
        ),
    )
    return SlackParts(client=client, directory=directory, cards=cards, homes=homes, bolt=bolt)


def build_notifications(
    container: Container,
    client: WebClient | None,
    *,
    extra_senders: Mapping[str, Sender] = {},
    directory: Directory | None = None,
    mailer: Mailer | None = None,
    params: DispatchSettings | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Dispatcher:
    """Wire the outbox dispatcher: DM and email senders (plus ``extra_senders``, such as the
    approval card and App Home), and a wake-up after every commit so rows go out at once.

    Email is on when SMTP_HOST is set; otherwise email rows are skipped as "not configured",
    which is said once here. Without a Slack client there is no DM and no way to find email
    addresses, so only ``extra_senders`` deliver.
    """
    settings = container.settings
    senders: dict[str, Sender] = {}
    if client is not None:
        directory = directory or make_directory(client, settings)
        senders[Channel.DM] = DmSender(client, directory)
    else:
        log.warning("no Slack client: DMs and email are not sent")
    if mailer is None and settings.email_enabled:
        mailer = SmtpMailer.from_settings(settings)
    if mailer is not None and directory is not None:
        mail_from = settings.mail_from or f"roombot@{settings.smtp_host or 'localhost'}"
        senders[Channel.EMAIL] = EmailSender(mailer, directory, mail_from)
    elif not settings.email_enabled:
        log.info("email off: SMTP_HOST is not set, so notifications go to Slack only")
    senders.update(extra_senders)
    dispatcher = Dispatcher(
        OutboxStore(container.engine),
        senders,
        params or DispatchSettings.from_settings(settings),
        clock or container.bus.context.clock,
    )
    if isinstance(mailer, SmtpMailer):
        dispatcher.closers.append(mailer.close)
    if container.engine.dialect.name == "postgresql":
        dispatcher.listener = PostgresWakeup(container.engine, dispatcher.wake)
    container.bus.after_commit.append(dispatcher.after_commit)
    return dispatcher
