"""The whole app over HTTP: waitress, Bolt, bus, database; a fake Slack Web API; signed requests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.adapters.http import HttpServer
from bot.adapters.slack import make_client
from bot.bootstrap import Runtime, bootstrap, build_web
from bot.demo.listeners import Listeners
from bot.demo.loopback import Inbox, smtp_server
from bot.domain import commands
from bot.notifications.dispatcher import Dispatcher
from tests.conftest import ADMIN, FixedClock, make_settings
from tests.e2e.mail import DeliveryClock
from tests.e2e.slack_client import SlackSender
from tests.fakes.slack_api import SLACK_LIMITS, TOKEN, Rate, StrictSlackApi

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
APPROVALS = "CAPPROVALS"
GENERAL = "C0GENERAL"  # where the signed helpers' slash commands come from
BOB, AL = "UBOB", "UAL"
BOOKER = "UBOOKER"  # who books in the delivery tests, which drive the dispatcher themselves
ROOMS = (("102", "Small room", 4), ("201", "Board room", 12))


@dataclass
class Stack:
    container: Runtime
    dispatcher: Dispatcher
    server: HttpServer
    fake: StrictSlackApi
    send: SlackSender
    clock: FixedClock
    engine: Engine
    listeners: Listeners

    def until(self, done: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait for a listener's effect: Bolt acks first and runs the listener on its own
        thread (``process_before_response=False``), so a click's reply comes before its work."""
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, "the listener's effect did not show up in time"
            time.sleep(0.01)

    def deliver(self) -> int:
        """Deliver every due outbox row now (what the dispatcher loop does in production), once
        the listeners of the requests sent so far have written theirs."""
        self.listeners.wait_idle()
        return self.dispatcher.drain()

    def delivered(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Any]:
        """Deliver due rows until ``method`` was called ``count`` times. A listener runs after
        its request was acked, and App Home and card refreshes it asks for are outbox rows, so
        they exist only once its thread has committed them."""
        deadline = time.monotonic() + timeout
        while True:
            self.deliver()
            try:
                return self.fake.wait_for(method, count, timeout=0.05)
            except AssertionError:
                if time.monotonic() > deadline:
                    raise

    def last_view(self, method: str = "views.open") -> dict[str, Any]:
        self.listeners.wait_idle()
        return self.fake.calls_to(method)[-1].params["view"]

    def replies(self, count: int = 1) -> list[Any]:
        """Posts to ``response_url``s, at least ``count`` of them: how the app answers in
        whatever channel the user is."""
        return self.fake.wait_for_responses(count)

    def home_of(self, user: str) -> dict[str, Any]:
        calls = [c for c in self.fake.calls_to("views.publish") if c.params["user_id"] == user]
        assert calls, f"no home published for {user}"
        return calls[-1].params["view"]

    def posts_to(self, channel: str, *, tried: bool = False) -> list[Any]:
        """The messages Slack posted to a channel or user (``tried``: every attempt, including
        those Slack refused or answered 429 to, which posted nothing)."""
        return [
            c
            for c in self.fake.calls_to("chat.postMessage")
            if c.params["channel"] == channel and (tried or c.response.get("ok"))
        ]

    def cards(self, *, tried: bool = False) -> list[Any]:
        return self.posts_to(APPROVALS, tried=tried)

    def dms_to(self, user: str, *, tried: bool = False) -> list[Any]:
        return self.posts_to(user, tried=tried)


@pytest.fixture
def fake_slack() -> Iterator[StrictSlackApi]:
    # The bot was invited to the approvals channel only: in #general, where people type /book,
    # it can answer through response_url and ack, not with chat.postEphemeral.
    with StrictSlackApi(token="xoxb-test", channels=(APPROVALS,)) as fake:
        fake.add_channel(GENERAL, "general", member=False)
        fake.add_user(BOB, tz="Asia/Seoul", email="bob@example.com", name="Bob")
        fake.add_user(AL, tz="America/New_York", email="al@example.com", name="Al")
        fake.add_user(ADMIN, tz="Europe/Berlin", email="admin@example.com", name="Ada Admin")
        yield fake


@contextmanager
def booker_slack(
    limits: Mapping[str, Rate] = SLACK_LIMITS, booker_locale: str = "en-US"
) -> Iterator[StrictSlackApi]:
    """The fake Slack of the delivery tests: the bot is in the approvals channel, and
    ``users.info`` knows the booker (in Seoul, speaking ``booker_locale``) and an admin."""
    with StrictSlackApi(channels=(APPROVALS,), limits=limits) as api:
        api.add_user(BOOKER, tz="Asia/Seoul", email="booker@example.com", locale=booker_locale)
        api.add_user(ADMIN, tz="Europe/Berlin", email="admin@example.com")
        yield api


@pytest.fixture
def later(clock: FixedClock) -> DeliveryClock:
    return DeliveryClock(clock)


@contextmanager
def slack_runtime(
    database_url: str,
    engine: Engine,
    clock: FixedClock,
    fake: StrictSlackApi,
    *,
    receiving: bool = False,
    listener_executor: Executor | None = None,
    later: DeliveryClock | None = None,
    **overrides: object,
) -> Iterator[Runtime]:
    """roombot on the fake Slack with two rooms, not started, with its settings changed by
    ``overrides``: the worker's side (``receiving=False``: the test drives the dispatcher), or
    with Bolt's listeners too. With ``later`` the dispatcher's time (backoffs, breakers, its
    users.info cache) is that clock, which the test moves instead of sleeping."""
    settings = make_settings(
        database_url,
        **{
            "slack_bot_token": TOKEN,
            "slack_signing_secret": SECRET,
            "slack_api_url": fake.url,
            "approvals_channel": APPROVALS,
            **overrides,
        },
    )
    container = bootstrap(
        settings,
        engine=engine,
        clock=clock,
        slack=True,
        receiving=receiving,
        client=make_client(TOKEN, fake.url, timeout=5),
        listener_executor=listener_executor,
        delivery_clock=later,
        delivery_monotonic=None if later is None else lambda: later().timestamp(),
    )
    for room, name, capacity in ROOMS:
        container.bus.handle(commands.AddRoom(room, name, capacity, by="cli"))
    try:
        yield container
    finally:
        container.close()


@contextmanager
def running_stack(
    database_url: str,
    engine: Engine,
    clock: FixedClock,
    fake_slack: StrictSlackApi,
    **overrides: object,
) -> Iterator[Stack]:
    """The app serving HTTP on a free port, with its settings changed by ``overrides``."""
    listeners = Listeners()
    with slack_runtime(
        database_url,
        engine,
        clock,
        fake_slack,
        receiving=True,
        listener_executor=listeners,
        **overrides,
    ) as container:
        server = HttpServer(build_web(container), host="127.0.0.1", port=0, threads=8).start()
        try:
            yield Stack(
                container=container,
                dispatcher=container.dispatcher,
                server=server,
                fake=fake_slack,
                send=SlackSender(server.url, SECRET, fake_slack),
                clock=clock,
                engine=engine,
                listeners=listeners,
            )
        finally:
            server.stop()
            container.dispatcher.stop()
            listeners.shutdown(wait=True)


@contextmanager
def mailing_stack(
    database_url: str,
    engine: Engine,
    clock: FixedClock,
    fake_slack: StrictSlackApi,
    **overrides: object,
) -> Iterator[tuple[Stack, Inbox]]:
    """:func:`running_stack` with email on, sent to a real SMTP server on loopback, and that
    server's inbox."""
    with (
        smtp_server() as (inbox, port),
        running_stack(
            database_url,
            engine,
            clock,
            fake_slack,
            **{
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "smtp_starttls": False,
                "smtp_timeout_seconds": 5,
                "mail_from": "Roombot <rooms@example.com>",
                **overrides,
            },
        ) as stack,
    ):
        yield stack, inbox


@pytest.fixture
def stack(
    database_url: str, engine: Engine, clock: FixedClock, fake_slack: StrictSlackApi
) -> Iterator[Stack]:
    with running_stack(database_url, engine, clock, fake_slack) as running:
        yield running


@pytest.fixture
def mailed(
    database_url: str, engine: Engine, clock: FixedClock, fake_slack: StrictSlackApi
) -> Iterator[tuple[Stack, Inbox]]:
    """A running stack with email on, and its SMTP server's inbox."""
    with mailing_stack(database_url, engine, clock, fake_slack) as running:
        yield running
