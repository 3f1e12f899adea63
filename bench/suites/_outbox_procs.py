"""The processes of the outbox benchmark: fake Slack, SMTP sink, and dispatcher workers.

They live in a module of their own so the ``spawn`` start method can import them by name. Each
runs in its own process for a fair number: the fake Slack API is pure Python, and on the
worker's interpreter its threads would compete with the dispatcher for one GIL.

The fake and the sink count what they receive, and how often each delivery arrived, so the
parent can tell duplicates from the receiving end rather than from the dispatcher's own records.
"""

from __future__ import annotations

import os
import queue
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.demo.fake_slack import FakeSlackApi

#: A DM's context block names the booking: "Booking #123 · ...".
_BOOKING_REF = re.compile(r"Booking #(\d+)")
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
#: Every loop in a child process waits at most this long for the parent.
PATIENCE_SECONDS = 600.0


@dataclass
class Received:
    """What one receiver got since its last report."""

    messages: int = 0
    #: How often each delivery (recipient and booking, or Message-ID) arrived.
    keys: Counter[str] = field(default_factory=Counter)
    #: Distinct client connections (SMTP only).
    connections: int = 0
    pid: int = 0

    @property
    def duplicates(self) -> int:
        return sum(count - 1 for count in self.keys.values() if count > 1)


def _dm_key(params: dict[str, Any]) -> str | None:
    blocks = params.get("blocks")
    if not isinstance(blocks, list):
        return None
    found = _BOOKING_REF.search(str(blocks))
    return f"{params.get('channel')}/{found.group(1)}" if found else None


def _answer(commands: Any, replies: Any, report: Callable[[], Received]) -> None:
    """Answer ``"report"`` commands with ``report()`` until ``"stop"``, or until the parent has
    been quiet for ``PATIENCE_SECONDS`` (it died)."""
    while True:
        try:
            command = commands.get(timeout=PATIENCE_SECONDS)
        except queue.Empty:
            return
        if command == "stop":
            return
        replies.put(("report", report()))


def slack_process(users: list[tuple[str, str]], commands: Any, replies: Any) -> None:
    """Serve a fake Slack Web API knowing ``users`` (id, email) until told to stop.

    Commands on ``commands``: ``"report"`` answers a :class:`Received` for ``chat.postMessage``
    since the last report (and forgets those calls), ``"stop"`` ends the process.
    """
    fake = FakeSlackApi().start()
    try:
        for user, email in users:
            fake.add_user(user, tz="Europe/Berlin", email=email, name=user.lower())
        replies.put(("ready", fake.url, os.getpid()))

        def report() -> Received:
            calls = fake.calls_to("chat.postMessage")
            fake.reset()
            keys = Counter(key for key in (_dm_key(c.params) for c in calls) if key is not None)
            return Received(len(calls), keys, pid=os.getpid())

        _answer(commands, replies, report)
    finally:
        fake.stop()


class _CountingHandler:
    """An aiosmtpd handler that counts messages per Message-ID and client connections; it does
    not parse messages, so the sink spends as little CPU as a mail server's queue would."""

    def __init__(self) -> None:
        self.received = Received()
        self.peers: set[Any] = set()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.messages += 1
        found = _MESSAGE_ID.search(envelope.content or b"")
        self.received.keys[found.group(1).decode() if found else "?"] += 1
        self.peers.add(session.peer)
        return "250 OK"


def smtp_process(commands: Any, replies: Any) -> None:
    """Run an SMTP sink on a port of its own until told to stop, and say the port it listens
    on when ready; ``"report"`` as for the fake Slack."""
    from bot.demo.loopback import LoopbackSmtp

    handler = _CountingHandler()
    controller = LoopbackSmtp(handler, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        replies.put(("ready", controller.port, os.getpid()))

        def report() -> Received:
            received, handler.received = handler.received, Received()
            received.connections, handler.peers = len(handler.peers), set()
            received.pid = os.getpid()
            return received

        _answer(commands, replies, report)
    finally:
        controller.stop()


@dataclass(frozen=True)
class WorkerResult:
    pid: int
    handled: int
    started: float  # time.monotonic(), comparable across processes on one Linux machine
    finished: float
    cpu_seconds: float
    smtp_connections: int
    error: str | None = None


def worker_process(
    url: str,
    search_path: str | None,
    slack_url: str,
    smtp_port: int,
    users: list[str],
    batch_size: int,
    gate: Any,
    release: Any,
    results: Any,
) -> None:
    """One dispatcher, wired as the app wires it (``bootstrap``), draining the outbox.

    Before the gate opens it connects, and looks every recipient up once: a long-running worker
    has its directory cache warm, and 50 ``users.info`` calls are not what is measured.
    """
    from bot.adapters.db import make_engine
    from bot.adapters.slack import make_client
    from bot.bootstrap import bootstrap
    from bot.config import Settings
    from bot.notifications.dispatcher import DispatchSettings
    from bot.notifications.mailer import SmtpMailer

    pid = os.getpid()
    try:
        options = {"connect_args": {"options": f"-csearch_path={search_path}"}}
        engine = make_engine(url, **(options if search_path else {}))
        settings = Settings(
            _env_file=None,
            database_url=url,
            slack_bot_token="xoxb-bench",
            slack_api_url=slack_url,
            approvals_channel="CBENCH",
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            smtp_starttls=False,
            mail_from="roombot@bench.example",
            outbox_batch_size=batch_size,
            # The fake answers every call at once and limits nothing: at Slack's pace (about a
            # post a second per channel, 50 recipients) the drain would measure that pace,
            # not the cost of a delivery. The limiter still reserves every post.
            slack_channel_posts_per_second=10_000.0,
            slack_channel_post_burst=100,
            slack_post_jitter_seconds=0.0,
        )
        mailer = SmtpMailer.from_settings(settings)
        runtime = bootstrap(
            settings,
            engine=engine,
            slack=True,
            receiving=False,
            client=make_client("xoxb-bench", settings.slack_api_url),
            mailer=mailer,
            dispatch=DispatchSettings.from_settings(settings),
        )
        dispatcher = runtime.dispatcher
        directory = runtime.directory
        for user in users:
            directory.profile(user)
        engine.connect().close()
        results.put(("ready", pid))
        if not gate.wait(timeout=PATIENCE_SECONDS):
            raise TimeoutError("the gate never opened")
        cpu = time.process_time()
        started = time.monotonic()
        handled = 0
        for _ in range(1000):  # bounded: each round drains until a batch comes back short
            done = dispatcher.drain()
            handled += done
            if done == 0:
                break
        finished = time.monotonic()
        cpu = time.process_time() - cpu
        result = WorkerResult(pid, handled, started, finished, cpu, mailer.connections_opened)
        results.put(("done", result))
        # Keep the database session open until the parent has read its backend's CPU time.
        release.wait(timeout=PATIENCE_SECONDS)
        runtime.close()
    except Exception as exc:  # reported to the parent, which fails the run on it
        results.put(("done", WorkerResult(pid, 0, 0.0, 0.0, 0.0, 0, error=repr(exc))))
