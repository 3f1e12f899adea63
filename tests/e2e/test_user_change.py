"""Slack's ``user_change`` event through the signed Events API endpoint: a member deactivated is
released at once (the admins told once, whichever of the event and a DM finding them gone comes
first), and a new time zone shows in the next DM. The listeners and the senders of one process
share one users.info cache; a worker running apart from the web process that received the event
hears it before its next claim, and a second web process after a request, a few seconds at most
after the last time it looked."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bot.adapters.http import HttpServer
from bot.adapters.member_changes import CATCH_UP_EVERY
from bot.adapters.slack import make_client
from bot.bootstrap import Runtime, bootstrap, build_web
from bot.demo.listeners import Listeners
from bot.demo.loopback import Inbox
from bot.domain import commands as c
from bot.domain.model import BookingStatus
from bot.views import ids
from tests.conftest import ADMIN, FixedClock
from tests.e2e.conftest import APPROVALS, BOB, SECRET, Stack
from tests.e2e.slack_client import SlackSender
from tests.e2e.test_change_booking import _status_becomes
from tests.e2e.test_slack_app import _card_update, _texts
from tests.integration.helpers import bookings, outbox


def _bob_books_two(stack: Stack) -> None:
    assert "booking #1" in stack.send.command(BOB, "102 2026-12-02 10:00-11:00 Planning").text
    assert "booking #2" in stack.send.command(BOB, "201 2026-12-03 10:00-11:00 Review").text
    stack.deliver()  # the cards and Bob's "received" DMs: his profile is cached now
    assert len(stack.cards()) == 2 and len(stack.dms_to(BOB)) == 2


def test_a_member_deactivated_is_released_at_once_and_the_admins_told_once(stack: Stack) -> None:
    _bob_books_two(stack)
    updates = len(stack.fake.calls_to("chat.update"))

    stack.fake.delete_user(BOB)  # an admin deactivates Bob's account; Slack says so
    assert stack.send.event(stack.fake.user_change(BOB)).status == 200
    _status_becomes(stack, 1, BookingStatus.CANCELLED)
    stack.deliver()  # what the release wrote: the cards, the admins' DM

    assert {b["id"]: b["status"] for b in bookings(stack.engine)} == {
        1: BookingStatus.CANCELLED,
        2: BookingStatus.CANCELLED,
    }
    assert len(stack.fake.calls_to("chat.update")) == updates + 2
    assert "left the workspace" in _texts(_card_update(stack)["blocks"])
    [told] = stack.dms_to(ADMIN)
    assert f"<@{BOB}>" in told.params["text"]
    assert "#1" in _texts(told.params["blocks"]) and "#2" in _texts(told.params["blocks"])
    assert len(stack.dms_to(BOB, tried=True)) == 2  # nothing more was tried

    # Later a message for Bob finds him gone, and Slack repeats the event: nothing is repeated
    stack.container.dispatcher.on_departed(BOB)  # type: ignore[misc]
    assert stack.send.event(stack.fake.user_change(BOB)).status == 200
    stack.deliver()
    assert len(stack.dms_to(ADMIN)) == 1


def test_the_event_after_a_dm_found_the_member_gone_tells_no_one_again(stack: Stack) -> None:
    _bob_books_two(stack)
    stack.fake.delete_user(BOB)
    stack.send.click(ADMIN, ids.APPROVE, "1", channel=APPROVALS, message_ts="1")
    _status_becomes(stack, 1, BookingStatus.APPROVED)
    stack.deliver()  # the approval DM is refused: Bob left, and his bookings are released
    stack.deliver()
    assert len(stack.dms_to(ADMIN)) == 1

    assert stack.send.event(stack.fake.user_change(BOB)).status == 200  # Slack's event, late
    stack.deliver()
    assert len(stack.dms_to(ADMIN)) == 1


def test_a_new_time_zone_shows_in_the_next_dm(stack: Stack) -> None:
    assert "booking #1" in stack.send.command(BOB, "102 2026-12-02 10:00-11:00 Planning").text
    stack.deliver()
    [received] = stack.dms_to(BOB)
    assert "10:00–11:00 (Asia/Seoul)" in _texts(received.params["blocks"])

    stack.fake.add_user(BOB, tz="Europe/London", email="bob@example.com", name="Bob")
    assert stack.send.event(stack.fake.user_change(BOB)).status == 200
    stack.listeners.wait_idle()
    stack.send.click(ADMIN, ids.APPROVE, "1", channel=APPROVALS, message_ts="1")
    _status_becomes(stack, 1, BookingStatus.APPROVED)
    stack.deliver()

    [_, approved] = stack.dms_to(BOB)
    assert "01:00–02:00 (Europe/London)" in _texts(approved.params["blocks"])


def test_a_member_nobody_knows_here_deactivated_tells_no_one(stack: Stack) -> None:
    stack.fake.add_user("USTRANGER", tz="UTC")
    stack.fake.delete_user("USTRANGER")
    assert stack.send.event(stack.fake.user_change("USTRANGER")).status == 200
    stack.deliver()
    assert stack.dms_to(ADMIN) == []


def test_one_process_asks_slack_for_a_profile_once(mailed: tuple[Stack, Inbox]) -> None:
    """The listener that served Bob's command looked him up; his email (which needs his
    address) and App Home use that answer instead of asking Slack again."""
    stack, inbox = mailed
    assert "booking #1" in stack.send.command(BOB, "102 2026-12-02 10:00-11:00 Planning").text
    stack.deliver()
    inbox.wait_for(1)
    asked = [c for c in stack.fake.calls_to("users.info") if c.params.get("user") == BOB]
    assert len(asked) == 1


# --- a web process (RUN_SCHEDULER=false) and a worker (python -m bot worker) ---------------------


@pytest.fixture
def worker(mailed: tuple[Stack, Inbox]) -> Iterator[Runtime]:
    """The worker beside the mailing stack's web process, which delivers nothing itself: same
    settings and database (an engine of its own), its own users.info cache."""
    stack, _ = mailed
    runtime = bootstrap(
        stack.container.settings,
        clock=stack.clock,
        slack=True,
        receiving=False,
        client=make_client("xoxb-test", stack.fake.url, timeout=5),
    )
    yield runtime
    runtime.close()


def _emails_to(inbox: Inbox, address: str) -> int:
    return len([m for m in inbox.received if address in m.rcpt_tos])


def _bob_books_and_the_worker_delivers(stack: Stack, inbox: Inbox, worker: Runtime) -> None:
    assert "booking #1" in stack.send.command(BOB, "102 2026-12-02 10:00-11:00 Planning").text
    stack.listeners.wait_idle()
    worker.dispatcher.drain()
    inbox.wait_for(1)  # Bob's email: the worker looked his profile up and keeps it cached
    assert len(stack.dms_to(BOB)) == 1 and _emails_to(inbox, "bob@example.com") == 1
    assert worker.directory.cached(BOB) is not None


def test_a_worker_sends_nothing_more_to_a_member_the_web_process_heard_was_deactivated(
    mailed: tuple[Stack, Inbox], worker: Runtime
) -> None:
    stack, inbox = mailed
    _bob_books_and_the_worker_delivers(stack, inbox, worker)

    stack.fake.delete_user(BOB)
    assert stack.send.event(stack.fake.user_change(BOB)).status == 200
    _status_becomes(stack, 1, BookingStatus.CANCELLED)
    stack.listeners.wait_idle()
    # A request Bob sent just before, committed after his release: its DM and email wait
    start = stack.clock.now + timedelta(days=1)
    late = stack.container.bus.handle(
        c.RequestBooking("201", start, start + timedelta(hours=1), BOB, title="Late")
    )
    worker.dispatcher.drain()
    worker.dispatcher.drain()  # what its release wrote

    assert len(stack.dms_to(BOB, tried=True)) == 1  # nothing more was even tried
    assert _emails_to(inbox, "bob@example.com") == 1
    mine = [r for r in outbox(stack.engine) if r["recipient"] == BOB and r["channel"] != "home"]
    assert {r["status"] for r in mine[2:]} == {"skipped"}
    assert "dead" not in {r["status"] for r in outbox(stack.engine)}  # no home refused either
    assert {b["id"]: b["status"] for b in bookings(stack.engine)}[late] == BookingStatus.CANCELLED


def test_a_new_time_zone_the_web_process_heard_shows_in_the_workers_next_dm(
    mailed: tuple[Stack, Inbox], worker: Runtime
) -> None:
    stack, inbox = mailed
    _bob_books_and_the_worker_delivers(stack, inbox, worker)
    assert "10:00–11:00 (Asia/Seoul)" in _texts(stack.dms_to(BOB)[0].params["blocks"])

    stack.fake.add_user(BOB, tz="Europe/London", email="bob@example.com", name="Bob")
    assert stack.send.event(stack.fake.user_change(BOB)).status == 200
    stack.listeners.wait_idle()
    stack.container.bus.handle(c.ApproveBooking(1, by=ADMIN))
    worker.dispatcher.drain()

    [_, approved] = stack.dms_to(BOB)
    assert "01:00–02:00 (Europe/London)" in _texts(approved.params["blocks"])


# --- two web processes (RUN_SCHEDULER=false) on one database -------------------------------------


@dataclass
class OtherWeb:
    runtime: Runtime
    send: SlackSender
    listeners: Listeners
    #: This process's monotonic time (its users.info cache and when it last looked for changes).
    ticks: FixedClock

    def served(self) -> None:
        """The listeners of the requests sent so far are done, and so is the look for member
        changes a request may have started."""
        self.listeners.wait_idle()
        self.runtime.member_changes.wait(timeout=10)


@pytest.fixture
def other_web(stack: Stack) -> Iterator[OtherWeb]:
    """A second web process beside the stack's: same settings and database (an engine of its
    own), its own users.info cache, and a monotonic clock the test moves."""
    listeners = Listeners()
    ticks = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    runtime = bootstrap(
        stack.container.settings,
        clock=stack.clock,
        slack=True,
        client=make_client("xoxb-test", stack.fake.url, timeout=5),
        listener_executor=listeners,
        delivery_monotonic=lambda: ticks().timestamp(),
    )
    server = HttpServer(build_web(runtime), host="127.0.0.1", port=0, threads=4).start()
    try:
        yield OtherWeb(runtime, SlackSender(server.url, SECRET, stack.fake), listeners, ticks)
    finally:
        server.stop()
        listeners.shutdown(wait=True)
        runtime.close()


def _book(web: SlackSender | OtherWeb, number: int, day: int) -> None:
    send = web.send if isinstance(web, OtherWeb) else web
    reply = send.command(BOB, f"102 2026-12-{day:02d} 10:00-11:00 Planning")
    assert f"booking #{number}" in reply.text


def test_a_new_time_zone_one_web_process_heard_counts_in_the_other_a_few_seconds_later(
    stack: Stack, other_web: OtherWeb
) -> None:
    _book(other_web, 1, 2)  # the other process looks Bob up (Seoul) and keeps him cached
    other_web.served()

    stack.fake.add_user(BOB, tz="Europe/London", email="bob@example.com", name="Bob")
    assert stack.send.event(stack.fake.user_change(BOB)).status == 200  # to the first process
    stack.listeners.wait_idle()
    _book(stack.send, 2, 3)  # which reads the new zone at once
    _book(other_web, 3, 4)  # the other looked a moment ago: it still reads Seoul
    other_web.served()

    other_web.ticks.advance(timedelta(seconds=CATCH_UP_EVERY))
    assert "/book" in other_web.send.command(BOB, "help").text  # any request: it looks again
    other_web.served()
    _book(other_web, 4, 5)

    typed_in = {b["id"]: b["starts_at"].replace(tzinfo=None).hour for b in bookings(stack.engine)}
    assert typed_in == {1: 1, 2: 10, 3: 1, 4: 10}  # 10:00 in Seoul is 01:00 UTC; London's is 10:00
    assert other_web.runtime.directory.cached(BOB) is not None  # asked Slack once more, then kept
