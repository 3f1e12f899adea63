"""The one place that wires roombot together: settings, engine, unit of work, message bus, read
side, and (for a running app) the Slack client, the notification wing, the scheduler and Bolt.

Tests call :func:`bootstrap` with their own engine, clock, client or hooks; nothing is created at
import.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal, overload
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from bot.adapters import orm
from bot.adapters.db import is_postgres, make_engine, make_session_factory
from bot.adapters.directory import Directory
from bot.adapters.feeds import FeedStore
from bot.adapters.groups import SlackGroups
from bot.adapters.http import SlackEdge, WebApp, readiness
from bot.adapters.member_changes import MemberChangeFeed
from bot.adapters.replays import ReplayStore
from bot.adapters.scheduler import build_scheduler
from bot.adapters.slack import BotIdentity, delivery_client, make_client
from bot.config import Settings
from bot.domain import commands
from bot.handlers import register
from bot.handlers.deps import Deps
from bot.notifications.dispatcher import Dispatcher, DispatchSettings, Sender
from bot.notifications.failures import ChannelUnusable, Misconfigured, SlackSender
from bot.notifications.ics import uid_domain
from bot.notifications.limits import Limiter, Rate, RateLimiter, SharedRateLimiter
from bot.notifications.mailer import SmtpMailer
from bot.notifications.outbox import OutboxStore
from bot.notifications.publishers import CardPublisher, HomePublisher
from bot.notifications.senders import DmSender, EmailSender, Mailer
from bot.notifications.wakeup import PostgresWakeup, SqliteWakeup
from bot.services.handlers import Context
from bot.services.messagebus import AfterCommit, MessageBus
from bot.services.ports import Channel
from bot.services.queries import Queries
from bot.services.unit_of_work import SqlAlchemyUnitOfWork
from bot.views import i18n

if TYPE_CHECKING:
    from bot.adapters.selfcheck import StartupReport

log = logging.getLogger(__name__)


def _not_the_unused_token_warning(record: logging.LogRecord) -> bool:
    return "`token` will be unused" not in record.getMessage()


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


@dataclass
class Runtime(Container):
    """Everything a running roombot is: the core, the Slack client and directory, the
    notification wing (dispatcher and the card and home publishers), the scheduler, and the Bolt
    app with every listener registered (``None`` in a worker, which only sends)."""

    client: WebClient
    directory: Directory
    cards: CardPublisher
    homes: HomePublisher
    dispatcher: Dispatcher
    scheduler: BackgroundScheduler
    bolt: App | None
    #: The member changes other processes heard, read into ``directory``.
    member_changes: MemberChangeFeed
    identity: BotIdentity | None = None

    @property
    def app(self) -> App:
        """The Bolt app (only a runtime built with ``receiving=True`` has one)."""
        if self.bolt is None:
            raise RuntimeError("this runtime was built without receiving (a worker)")
        return self.bolt

    def start(self) -> None:
        """Deliver notifications and run the periodic jobs in background threads."""
        self.dispatcher.start()
        self.scheduler.start()

    def close(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.dispatcher.close()
        self.member_changes.wait(timeout=5)
        super().close()


@overload
def bootstrap(
    settings: Settings,
    *,
    engine: Engine | None = ...,
    clock: Callable[[], datetime] = ...,
    after_commit: Sequence[AfterCommit] = ...,
    slack: Literal[False] = ...,
) -> Container: ...


@overload
def bootstrap(
    settings: Settings,
    *,
    engine: Engine | None = ...,
    clock: Callable[[], datetime] = ...,
    after_commit: Sequence[AfterCommit] = ...,
    slack: Literal[True],
    receiving: bool = ...,
    client: WebClient | None = ...,
    mailer: Mailer | None = ...,
    dispatch: DispatchSettings | None = ...,
    extra_senders: Mapping[str, Sender] = ...,
    delivery_clock: Callable[[], datetime] | None = ...,
    delivery_monotonic: Callable[[], float] | None = ...,
    listener_executor: Executor | None = ...,
) -> Runtime: ...


def bootstrap(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = _utcnow,
    after_commit: Sequence[AfterCommit] = (),
    slack: bool = False,
    receiving: bool = True,
    client: WebClient | None = None,
    mailer: Mailer | None = None,
    dispatch: DispatchSettings | None = None,
    extra_senders: Mapping[str, Sender] = {},
    delivery_clock: Callable[[], datetime] | None = None,
    delivery_monotonic: Callable[[], float] | None = None,
    listener_executor: Executor | None = None,
) -> Container | Runtime:
    """Build roombot in one call.

    ``slack=False`` (the shell's commands, tests of the core): engine, unit of work, message bus
    and read side. ``slack=True``: the whole runtime on top, not started: the Web API client
    (``client`` to use another), the directory, the notification wing with DM, email, card and
    home senders (``extra_senders`` added or replacing them), the scheduler, and, with
    ``receiving=True``, the Bolt app; ``receiving=False`` (the worker) needs no signing secret.
    ``delivery_clock`` is the dispatcher's, when a test moves it apart from the bus's clock
    (``delivery_monotonic`` its breakers', pacing's, rate limits' and users.info
    cache's, so a test can let an outage last);
    ``listener_executor`` runs Bolt's listeners (tests watch it to know they finished).
    """
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
        offer_for=timedelta(minutes=settings.waitlist_offer_minutes),
        series_release_limit=settings.series_release_limit,
        auto_approve_groups=settings.auto_approve_groups,
        quota=settings.quota,
        week_zone=ZoneInfo(settings.default_timezone),
    )
    bus = MessageBus(
        lambda: SqlAlchemyUnitOfWork(session_factory), context, after_commit=after_commit
    )
    core = Container(settings=settings, engine=engine, bus=bus, queries=Queries(engine))
    if not slack:
        return core
    return _runtime(
        core,
        receiving,
        client,
        mailer,
        dispatch,
        extra_senders,
        delivery_clock or clock,
        delivery_monotonic,
        listener_executor,
    )


def make_directory(
    client: WebClient, settings: Settings, monotonic: Callable[[], float] = time.monotonic
) -> Directory:
    """The users.info cache, with the settings' fallback zone and languages."""
    return Directory(
        client,
        ZoneInfo(settings.default_timezone),
        ttl_seconds=settings.user_cache_ttl_seconds,
        monotonic=monotonic,
        default_locale=settings.default_locale,
        enabled_locales=settings.enabled_locales,
    )


def make_limiter(
    settings: Settings, engine: Engine, clock: Callable[[], float] | None = None
) -> Limiter:
    """Slack's rate limits as the settings give them: in the database on PostgreSQL, where
    several workers may deliver at once and must spend one allowance; in memory on SQLite (one
    process delivers). ``clock``: a test's; by default the database's or this process's."""
    tiers = {
        2: Rate.per_minute(settings.slack_tier2_per_minute),
        3: Rate.per_minute(settings.slack_tier3_per_minute),
        4: Rate.per_minute(settings.slack_tier4_per_minute),
    }
    per_channel = Rate(
        settings.slack_channel_posts_per_second, settings.slack_channel_post_burst
    ).arriving_late(settings.slack_post_jitter_seconds)
    if is_postgres(engine):
        return SharedRateLimiter(engine, tiers, per_channel, clock=clock)
    return RateLimiter(tiers, per_channel, monotonic=clock or time.monotonic)


def _runtime(
    core: Container,
    receiving: bool,
    client: WebClient | None,
    mailer: Mailer | None,
    dispatch: DispatchSettings | None,
    extra_senders: Mapping[str, Sender],
    delivery_clock: Callable[[], datetime],
    delivery_monotonic: Callable[[], float] | None,
    listener_executor: Executor | None,
) -> Runtime:
    settings = core.settings
    settings.require_slack(receiving=receiving)
    assert settings.slack_bot_token is not None and settings.approvals_channel is not None
    clock = core.bus.context.clock
    monotonic = delivery_monotonic or time.monotonic
    client = client or make_client(settings.slack_bot_token, settings.slack_api_url)
    # One cache of users.info answers for the process: the listeners' and the senders'.
    directory = make_directory(client, settings, monotonic)
    # Policies ask Slack who is in a user group; before Slack is wired nobody is in any.
    core.bus.context = dataclasses.replace(
        core.bus.context,
        groups=SlackGroups(client, ttl_seconds=settings.group_cache_ttl_seconds),
        readers=directory,
    )
    # The dispatcher's own client sleeps out nothing: a 429 or an outage goes back to the
    # dispatcher, which defers that row and throttles that method without holding up others.
    sending = delivery_client(client)
    sending_directory = directory.through(sending)
    store = OutboxStore(core.engine)
    cards = CardPublisher(
        sending,
        settings.approvals_channel,
        core.queries,
        core.engine,
        settings.card_locale,
        install=store.install_id,
    )
    homes = HomePublisher(
        sending,
        core.queries,
        sending_directory,
        is_admin=lambda user: user in settings.admin_user_ids,
        dead_count=store.dead_count,
        clock=clock,
        feeds=bool(settings.public_base_url),
    )
    senders: dict[str, Sender] = {
        Channel.DM: DmSender(sending, sending_directory),
        Channel.CARD: SlackSender(cards, cards.calls),
        Channel.HOME: SlackSender(homes, homes.calls),
    }
    if mailer is None and settings.email_enabled:
        mailer = SmtpMailer.from_settings(settings)
    if mailer is not None:
        senders[Channel.EMAIL] = EmailSender(
            mailer, sending_directory, settings.sender, clock=clock, install_id=store.install_id
        )
    else:
        log.info("email off: SMTP_HOST is not set, so notifications go to Slack only")
    senders.update(extra_senders)
    dispatcher = Dispatcher(
        store,
        senders,
        dispatch or DispatchSettings.from_settings(settings),
        delivery_clock,
        limiter=make_limiter(settings, core.engine, delivery_monotonic),
        monotonic=monotonic,
    )
    if isinstance(mailer, SmtpMailer):
        dispatcher.closers.append(mailer.close)
    if core.engine.dialect.name == "postgresql":
        dispatcher.listener = PostgresWakeup(core.engine, dispatcher.wake)
    elif not receiving and core.engine.url.database not in (None, "", ":memory:"):
        # A worker beside SQLite web processes: their commits wake it (in a web process the
        # bus's own after-commit hook does).
        dispatcher.listener = SqliteWakeup(core.engine, dispatcher.wake)
    core.bus.after_commit.append(dispatcher.after_commit)
    dispatcher.on_departed = _releaser(core.bus)
    dispatcher.on_misconfigured = _reporter(core.bus)
    # Read before each claim, and by the listeners after a request (every few seconds at most).
    member_changes = MemberChangeFeed(core.engine, directory, monotonic=monotonic)
    dispatcher.before_claim = member_changes.catch_up
    bolt = None
    identity = None
    if receiving:
        identity = BotIdentity(
            WebClient(token=settings.slack_bot_token, base_url=client.base_url, timeout=5),
            settings.slack_bot_token,
        )
        # Bolt reads SLACK_BOT_TOKEN from the environment by itself and warns that the client's
        # token wins; that is what we want, so the warning would only mislead an operator.
        bolt_log = logging.getLogger("slack_bolt.App")
        if _not_the_unused_token_warning not in bolt_log.filters:
            bolt_log.addFilter(_not_the_unused_token_warning)
        bolt = App(
            # Bolt copies this client for each request, with the token ``authorize`` gives it;
            # a client without a token keeps Bolt from calling auth.test itself (BotIdentity).
            client=WebClient(
                base_url=client.base_url,
                timeout=client.timeout,
                retry_handlers=client.retry_handlers,
            ),
            authorize=identity.authorizer(),
            signing_secret=settings.slack_signing_secret or "",
            process_before_response=False,
            token_verification_enabled=False,
            request_verification_enabled=False,  # handlers.verify_first checks, strictly
            listener_executor=listener_executor,  # None: Bolt's own pool
        )
        register(
            bolt,
            Deps(
                settings=settings,
                bus=core.bus,
                queries=core.queries,
                directory=directory,
                clock=clock,
                feeds=feed_store(core.engine, settings, clock, directory),
                release_departed=_releaser(core.bus, quiet=True),
                member_changes=member_changes,
            ),
        )
    return Runtime(
        settings=settings,
        engine=core.engine,
        bus=core.bus,
        queries=core.queries,
        client=client,
        directory=directory,
        cards=cards,
        homes=homes,
        dispatcher=dispatcher,
        scheduler=build_scheduler(core.bus, dispatcher),
        bolt=bolt,
        member_changes=member_changes,
        identity=identity,
    )


def feed_store(
    engine: Engine,
    settings: Settings,
    clock: Callable[[], datetime] | None = None,
    directory: Directory | None = None,
) -> FeedStore:
    """Calendar feeds whose events carry the UIDs of the bookings' email invites, and name the
    bookers whose display names ``directory``'s users.info cache holds (Slack is not asked:
    a feed poll must not spend the lookups the listeners wait for)."""

    def name(user: str) -> str | None:
        found = None if directory is None else directory.cached(user)
        return found.name if found is not None and found.known else None

    install_id = OutboxStore(engine).install_id
    return FeedStore(
        engine, clock, install_id=install_id, domain=uid_domain(settings.sender), names=name
    )


def _releaser(bus: MessageBus, *, quiet: bool = False) -> Callable[[str], None]:
    """What the dispatcher does when a sender finds someone left the workspace, and the
    ``user_change`` listener when Slack says an admin deactivated someone (``quiet``: the
    admins are told only if it concerns them, see :class:`commands.ReleaseDeparted`)."""

    def release(user: str) -> None:
        try:
            released = bus.handle(commands.ReleaseDeparted(user, quiet=quiet))
        except IntegrityError:
            return  # another worker recorded the departure first, and did what it takes
        log.info("%s left the workspace: %d upcoming bookings released", user, released)

    return release


def _reporter(bus: MessageBus) -> Callable[[Misconfigured], None]:
    """What the dispatcher does when a send meets a setup problem: for the approvals channel,
    the admins are told what to do (once; a token problem is the operator's, in the log)."""

    def report(problem: Misconfigured) -> None:
        if not isinstance(problem, ChannelUnusable):
            return
        with contextlib.suppress(IntegrityError):  # another worker told them first
            bus.handle(commands.ReportApprovalsChannel(problem.channel, problem.error))

    return report


def build_web(runtime: Runtime, startup: StartupReport | None = None) -> WebApp:
    """The WSGI app: the Slack endpoint behind its edge checks, and the health checks (with the
    start-up checks' results, when given).

    Replays are remembered in the database, so several web processes refuse them alike."""
    edge = SlackEdge(runtime.settings.slack_signing_secret or "", ReplayStore(runtime.engine))
    feeds = feed_store(runtime.engine, runtime.settings, directory=runtime.directory)
    return WebApp(runtime.app, readiness(runtime.engine, startup), edge, feeds)
