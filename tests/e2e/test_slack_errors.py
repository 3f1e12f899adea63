"""Slack's errors handled the way Slack documents them, each produced by the strict fake: token
and scope errors hold every Slack row back (no attempt spent) and say once what to fix; an
approvals channel refusing cards has the admins told once what to do while the cards wait; the
rows go out once it is fixed."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.bootstrap import Runtime
from bot.domain import commands as c
from bot.notifications import publishers, senders
from bot.notifications.failures import APPROVALS_CHANNEL_FIXES, TOKEN_FIXES
from bot.notifications.notice import ChannelProblem
from bot.notifications.publishers import CARD_EVENT, CardPublisher
from tests.conftest import ADMIN, FixedClock
from tests.e2e.conftest import APPROVALS, BOOKER, booker_slack, slack_runtime
from tests.e2e.mail import DeliveryClock
from tests.fakes.slack_api import TOKEN, StrictSlackApi
from tests.integration.helpers import outbox

SLACK = ("dm", "card", "home")


@pytest.fixture
def fake() -> Iterator[StrictSlackApi]:
    with booker_slack() as api:
        yield api


@pytest.fixture
def runtime(
    database_url: str, engine: Engine, clock: FixedClock, fake: StrictSlackApi, later: DeliveryClock
) -> Iterator[Runtime]:
    with slack_runtime(
        database_url,
        engine,
        clock,
        fake,
        later=later,
        outbox_backoff_base_seconds=1,
        outbox_backoff_max_seconds=1,
    ) as container:
        yield container


def request(runtime: Runtime, clock: FixedClock, hours: int = 1) -> int:
    start = clock.now + timedelta(hours=hours)
    booking: int = runtime.bus.handle(
        c.RequestBooking("102", start, start + timedelta(hours=1), BOOKER, title="Sync")
    )
    return booking


def skip(later: DeliveryClock, fake: StrictSlackApi, seconds: float = 31) -> None:
    """Let time pass for the dispatcher (backoffs, breaker timeouts) and for Slack (its rate
    limit windows), without sleeping."""
    later.advance(timedelta(seconds=seconds))
    fake.advance(seconds)


def deliver(runtime: Runtime, later: DeliveryClock, fake: StrictSlackApi, rounds: int = 20) -> None:
    """Drain, letting every backoff and breaker timeout pass, until nothing waits."""
    for _ in range(rounds):
        runtime.dispatcher.drain()
        if not {r["status"] for r in outbox(runtime.engine)} & {"pending", "sending"}:
            return
        skip(later, fake)
    raise AssertionError([(r["channel"], r["status"]) for r in outbox(runtime.engine)])


def told(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    """What the notification wing logged that mentions ``text``."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("bot.notifications") and text in r.getMessage()
    ]


def delivered_dms(fake: StrictSlackApi, to: str = BOOKER) -> Counter[str]:
    return Counter(
        x.params["text"]
        for x in fake.calls_to("chat.postMessage")
        if x.params["channel"] == to and x.status == 200 and x.response.get("ok")
    )


@pytest.mark.parametrize("error", [*sorted(TOKEN_FIXES), "missing_scope"])
def test_a_token_error_holds_slack_rows_back_says_once_what_to_fix_and_they_resume(
    error: str,
    runtime: Runtime,
    clock: FixedClock,
    later: DeliveryClock,
    fake: StrictSlackApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if error == "missing_scope":
        fake.require_scope("chat.postMessage", "chat:write")
        held, key = ("dm", "card"), "chat:write"
    else:
        fake.break_token(error)
        held, key = SLACK, error
    for hours in (1, 3, 5):
        request(runtime, clock, hours)
    with caplog.at_level(logging.INFO):
        runtime.dispatcher.drain()
        for _ in range(3):  # the breakers' trials meet the same error: still one line
            skip(later, fake)
            runtime.dispatcher.drain()

    waiting = [r for r in outbox(runtime.engine) if r["channel"] in held]
    assert len({r["channel"] for r in waiting}) == len(held)
    assert {(r["status"], r["attempts"]) for r in waiting} == {("pending", 0)}
    (line,) = told(caplog, key)
    assert "SLACK_BOT_TOKEN" in line or "workspace has been disabled" in line
    for channel in held:
        assert runtime.dispatcher.breaker(channel).current_state != "closed"

    if error == "missing_scope":
        fake.require_scope("chat.postMessage", None)
    else:
        fake.break_token(None)
    deliver(runtime, later, fake)
    assert {r["status"] for r in outbox(runtime.engine) if r["channel"] in SLACK} == {"sent"}
    assert sorted(delivered_dms(fake).values()) == [1, 1, 1]  # each DM once
    for channel in held:
        assert runtime.dispatcher.breaker(channel).current_state == "closed"


BREAK_CHANNEL = {
    "not_in_channel": lambda fake: fake.leave(APPROVALS),
    "channel_not_found": lambda fake: fake.add_channel(APPROVALS, private=True, member=False),
    "is_archived": lambda fake: fake.archive(APPROVALS),
}
FIX_CHANNEL = {
    "not_in_channel": lambda fake: fake.join(APPROVALS),
    "channel_not_found": lambda fake: fake.join(APPROVALS),
    "is_archived": lambda fake: fake.unarchive(APPROVALS),
}


@pytest.mark.parametrize("error", sorted(APPROVALS_CHANNEL_FIXES))
def test_an_approvals_channel_refusing_cards_tells_the_admins_once_and_the_cards_wait(
    error: str,
    runtime: Runtime,
    clock: FixedClock,
    later: DeliveryClock,
    fake: StrictSlackApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    BREAK_CHANNEL[error](fake)
    bookings = [request(runtime, clock, hours) for hours in (1, 3)]
    with caplog.at_level(logging.INFO):
        runtime.dispatcher.drain()
        for _ in range(3):  # the card breaker's trials meet it again: nothing more is said
            skip(later, fake)
            runtime.dispatcher.drain()

    cards = [r for r in outbox(runtime.engine) if r["channel"] == "card"]
    assert len(cards) == 2 and {(r["status"], r["attempts"]) for r in cards} == {("pending", 0)}
    posts = [x for x in fake.calls_to("chat.postMessage") if x.params["channel"] == APPROVALS]
    assert posts and {x.response.get("error") for x in posts} == {error}
    (dm,) = delivered_dms(fake, ADMIN)  # one DM saying exactly what to do
    assert "/invite @roombot" in dm or "APPROVALS_CHANNEL" in dm
    (line,) = told(caplog, f"cards in {APPROVALS}: {error}")
    assert "APPROVALS_CHANNEL" in line or "/invite" in line
    # told once for good: asked again (another worker, a restart), nothing more is written
    assert runtime.bus.handle(c.ReportApprovalsChannel(APPROVALS, error)) is False
    notes = [r for r in outbox(runtime.engine) if ChannelProblem.is_one(r["payload"])]
    assert [(r["recipient"], r["status"]) for r in notes] == [(ADMIN, "sent")]

    FIX_CHANNEL[error](fake)
    deliver(runtime, later, fake)
    assert {r["status"] for r in outbox(runtime.engine) if r["channel"] in SLACK} == {"sent"}
    posted = [
        m["metadata"]["event_payload"]["booking_id"]
        for m in fake.messages(APPROVALS)
        if (m.get("metadata") or {}).get("event_type") == CARD_EVENT
    ]
    assert sorted(posted) == sorted(bookings)  # each card once
    assert len(delivered_dms(fake, ADMIN)) == 1


def test_a_card_left_in_a_former_approvals_channel_that_refuses_it_goes_to_the_new_one(
    runtime: Runtime, clock: FixedClock, fake: StrictSlackApi
) -> None:
    """APPROVALS_CHANNEL moved to a new channel and the old one was archived: the old card
    cannot be updated, so the booking's card is posted afresh where cards go now."""
    booking = request(runtime, clock)
    runtime.dispatcher.drain()
    fake.archive(APPROVALS)
    fake.add_channel("CNEW")
    cards = CardPublisher(
        WebClient(token=TOKEN, base_url=fake.url), "CNEW", runtime.queries, runtime.engine
    )
    cards.publish(booking)
    assert cards.location(booking) == ("CNEW", fake.messages("CNEW")[0]["ts"])
    assert fake.messages("CNEW")[0]["metadata"]["event_payload"]["booking_id"] == booking


def oversized(render: Callable[..., dict[str, Any]], text: str | None = None) -> Callable[..., Any]:
    """``render`` with a section Slack refuses (over 3000 characters) added to its blocks, and
    its fallback text replaced when ``text`` is given."""

    def bad(*args: Any, **kwargs: Any) -> dict[str, Any]:
        message = render(*args, **kwargs)
        section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
        message["blocks"] = [*message["blocks"], section]
        if text is not None:
            message["text"] = text
        return message

    return bad


def test_refused_dm_blocks_are_logged_clipped_and_the_dm_goes_out_as_its_text_alone(
    runtime: Runtime,
    clock: FixedClock,
    fake: StrictSlackApi,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(senders, "dm_message", oversized(senders.dm_message))
    request(runtime, clock)
    with caplog.at_level(logging.INFO):
        runtime.dispatcher.drain()
    posts = [x for x in fake.calls_to("chat.postMessage") if x.params["channel"] == BOOKER]
    assert [x.response.get("error") for x in posts] == ["invalid_blocks", None]
    assert "blocks" not in posts[1].params and posts[1].params["text"] == posts[0].params["text"]
    (dm,) = fake.messages(f"D{BOOKER}")
    assert dm["text"] == posts[0].params["text"] and "blocks" not in dm
    (line,) = told(caplog, "invalid_blocks")
    assert "xxxxxxxx" in line and len(line) < 3000  # the payload, clipped
    assert "json-pointer:/blocks/" in line  # and Slack's reason
    (row,) = [r for r in outbox(runtime.engine) if r["channel"] == "dm"]
    assert (row["status"], row["attempts"]) == ("sent", 1)


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_a_dm_whose_text_alone_is_refused_too_is_dead_after_that_one_retry(
    runtime: Runtime, clock: FixedClock, fake: StrictSlackApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(senders, "dm_message", oversized(senders.dm_message, text=""))
    request(runtime, clock)
    runtime.dispatcher.drain()
    posts = [x for x in fake.calls_to("chat.postMessage") if x.params["channel"] == BOOKER]
    assert [x.response.get("error") for x in posts] == ["invalid_blocks", "no_text"]
    (row,) = [r for r in outbox(runtime.engine) if r["channel"] == "dm"]
    assert (row["status"], row["attempts"]) == ("dead", 1)


def test_a_refused_card_is_posted_as_its_text_alone(
    runtime: Runtime,
    clock: FixedClock,
    fake: StrictSlackApi,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(publishers, "card", oversized(publishers.card))
    booking = request(runtime, clock)
    with caplog.at_level(logging.INFO):
        runtime.dispatcher.drain()
    (posted,) = fake.messages(APPROVALS)
    assert "blocks" not in posted and f"#{booking}" in posted["text"]
    assert posted["metadata"]["event_payload"]["booking_id"] == booking  # still found again
    assert told(caplog, f"the card of booking #{booking}")
    assert {r["status"] for r in outbox(runtime.engine) if r["channel"] == "card"} == {"sent"}


def test_a_refused_home_tab_is_logged_and_dead_at_once(
    runtime: Runtime,
    clock: FixedClock,
    fake: StrictSlackApi,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A view has no text to fall back to: retrying the same rendering cannot help."""
    monkeypatch.setattr(publishers, "home_view", oversized(publishers.home_view))
    request(runtime, clock)
    with caplog.at_level(logging.INFO):
        runtime.dispatcher.drain()
    homes = [r for r in outbox(runtime.engine) if r["channel"] == "home"]
    assert homes and {(r["status"], r["attempts"]) for r in homes} == {("dead", 1)}
    assert (
        told(caplog, "invalid_arguments")
        and "json-pointer:/view/blocks/" in told(caplog, "invalid_arguments")[0]
    )
