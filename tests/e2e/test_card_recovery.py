"""At most one live approval card per booking: a card someone deleted is posted afresh, and a
card posted by an attempt that never recorded it (the worker died after Slack took the post, or
its answer was lost) is found by its message metadata and updated, not posted twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine, delete

from bot.adapters import orm
from bot.bootstrap import Runtime, bootstrap
from bot.domain import commands as c
from bot.notifications.outbox import OutboxRow, OutboxStore
from bot.notifications.publishers import CARD_EVENT
from bot.services.ports import Channel
from bot.views import ids
from tests.conftest import ADMIN, FixedClock, make_settings
from tests.e2e.conftest import APPROVALS, BOOKER, booker_slack, slack_runtime
from tests.fakes.slack_api import TOKEN, Rate, StrictSlackApi
from tests.integration.helpers import add_rooms, outbox, rows

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake() -> Iterator[StrictSlackApi]:
    with booker_slack() as api:
        yield api


@pytest.fixture
def runtime(
    database_url: str, engine: Engine, clock: FixedClock, fake: StrictSlackApi
) -> Iterator[Runtime]:
    with slack_runtime(database_url, engine, clock, fake) as container:
        yield container


#: The installation id on a card another installation posted in the same channel.
STRANGER = "another-install"


def cards_of(fake: StrictSlackApi, booking_id: int) -> list[dict[str, Any]]:
    """The messages in the approvals channel that are this booking's card (this installation's)."""
    return [
        m
        for m in fake.messages(APPROVALS)
        if (m.get("metadata") or {}).get("event_type") == CARD_EVENT
        and m["metadata"]["event_payload"].get("booking_id") == booking_id
        and m["metadata"]["event_payload"].get("install") != STRANGER
    ]


def live(message: dict[str, Any]) -> bool:
    """Whether a card still asks for a decision (a decided card keeps only *Change*)."""
    return any(
        element.get("action_id") == ids.APPROVE
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block.get("elements") or []
    )


def request(runtime: Runtime, clock: FixedClock) -> int:
    start = clock.now + timedelta(hours=1)
    booking: int = runtime.bus.handle(
        c.RequestBooking("102", start, start + timedelta(hours=1), BOOKER, title="Sync")
    )
    return booking


def forget_recorded_card(engine: Engine, booking_id: int) -> None:
    """What a worker killed after ``chat.postMessage`` leaves: the card in Slack, and the post
    begun, but no ts recorded."""
    with engine.begin() as conn:
        conn.execute(
            delete(orm.approval_cards).where(orm.approval_cards.c.booking_id == booking_id)
        )


def test_a_card_deleted_in_slack_is_posted_afresh_and_recorded(
    runtime: Runtime, engine: Engine, clock: FixedClock, fake: StrictSlackApi
) -> None:
    booking = request(runtime, clock)
    runtime.dispatcher.drain()
    (first,) = cards_of(fake, booking)
    WebClient(token=TOKEN, base_url=fake.url).chat_delete(channel=APPROVALS, ts=first["ts"])

    runtime.bus.handle(c.ApproveBooking(booking, by=ADMIN))
    runtime.dispatcher.drain()

    assert [x.response["error"] for x in fake.calls_to("chat.update")] == ["message_not_found"]
    (fresh,) = cards_of(fake, booking)
    assert fresh["ts"] != first["ts"] and "approved" in fresh["text"] and not live(fresh)
    (recorded,) = rows(engine, orm.approval_cards)
    assert recorded["ts"] == fresh["ts"]
    assert {r["status"] for r in outbox(engine) if r["channel"] == "card"} == {"sent"}
    # the next change updates the fresh card in place
    runtime.bus.handle(c.CancelBooking(booking, by=BOOKER))
    runtime.dispatcher.drain()
    assert fake.calls_to("chat.update")[-1].params["ts"] == fresh["ts"]
    assert len(fake.messages(APPROVALS)) == 1


def test_a_card_posted_but_never_recorded_is_found_and_updated_not_posted_again(
    runtime: Runtime, engine: Engine, clock: FixedClock, fake: StrictSlackApi
) -> None:
    booking = request(runtime, clock)
    runtime.dispatcher.drain()
    (posted,) = cards_of(fake, booking)
    assert posted["metadata"] == {
        "event_type": CARD_EVENT,
        "event_payload": {"booking_id": booking, "install": OutboxStore(engine).install_id()},
    }
    forget_recorded_card(engine, booking)

    runtime.bus.handle(c.ApproveBooking(booking, by=ADMIN))
    runtime.dispatcher.drain()

    (history,) = fake.calls_to("conversations.history")
    assert history.params["include_all_metadata"] in (True, "1", "true")
    posts = fake.calls_to("chat.postMessage")
    assert len([x for x in posts if x.params["channel"] == APPROVALS]) == 1
    (card,) = cards_of(fake, booking)
    assert card["ts"] == posted["ts"] and "approved" in card["text"] and not live(card)
    assert rows(engine, orm.approval_cards)[0]["ts"] == posted["ts"]


def test_a_card_post_slack_refused_leaves_no_attempt_and_its_retry_is_paced_as_a_post(
    runtime: Runtime, engine: Engine, clock: FixedClock, fake: StrictSlackApi
) -> None:
    """A 429 is Slack's answer that nothing was posted: there is no card to look for, so the
    row waits for the channel's posting allowance like any first post (an attempt left behind
    would have it reserve a card update, and post unpaced into the limit again)."""
    fake.set_limit("chat.postMessage", Rate(1, 3600.0, burst=1))  # one post per channel an hour
    first = request(runtime, clock)
    later = clock.now + timedelta(hours=3)
    second = runtime.bus.handle(
        c.RequestBooking("102", later, later + timedelta(hours=1), BOOKER, title="Retro")
    )
    runtime.dispatcher.drain()

    assert sorted(len(cards_of(fake, b)) for b in (first, second)) == [0, 1]
    refused = [x for x in fake.calls_to("chat.postMessage") if x.params["channel"] == APPROVALS]
    assert [x.response.get("error") for x in refused] == [None, "ratelimited"]
    (waiting,) = [r for r in outbox(engine) if r["channel"] == "card" and r["status"] != "sent"]
    assert waiting["status"] == "pending" and waiting["attempts"] == 0
    card = runtime.dispatcher.senders[Channel.CARD]
    assert card.calls(OutboxRow(**waiting)) == [("chat.postMessage", APPROVALS)]  # type: ignore[attr-defined]
    assert fake.calls_to("conversations.history") == []


def test_a_card_of_another_installation_for_the_same_booking_id_is_not_adopted(
    runtime: Runtime, engine: Engine, clock: FixedClock, fake: StrictSlackApi
) -> None:
    """A second installation sharing the channel (or this one before its database was reset)
    has a booking with the same id: its card stays theirs, and this booking gets its own."""
    booking = request(runtime, clock)
    runtime.dispatcher.drain()
    (ours,) = cards_of(fake, booking)
    forget_recorded_card(engine, booking)
    WebClient(token=TOKEN, base_url=fake.url).chat_delete(channel=APPROVALS, ts=ours["ts"])
    stranger = {
        "event_type": CARD_EVENT,
        "event_payload": {"booking_id": booking, "install": STRANGER},
    }
    theirs = WebClient(token=TOKEN, base_url=fake.url).chat_postMessage(
        channel=APPROVALS, text="their card", metadata=stranger
    )

    runtime.bus.handle(c.ApproveBooking(booking, by=ADMIN))
    runtime.dispatcher.drain()

    assert len(fake.calls_to("conversations.history")) == 1
    texts = {m["ts"]: m["text"] for m in fake.messages(APPROVALS)}
    assert texts[theirs["ts"]] == "their card"  # neither updated nor deleted
    (card,) = cards_of(fake, booking)
    assert card["ts"] != theirs["ts"] and "approved" in card["text"]
    assert rows(engine, orm.approval_cards)[0]["ts"] == card["ts"]


def test_copies_of_a_card_found_in_the_channel_are_deleted_but_the_first(
    runtime: Runtime, engine: Engine, clock: FixedClock, fake: StrictSlackApi
) -> None:
    """Two attempts that both posted before either recorded its card: the first card is kept
    and brought up to date, the copy deleted, so no stale buttons stay in the channel."""
    booking = request(runtime, clock)
    runtime.dispatcher.drain()
    (first,) = cards_of(fake, booking)
    forget_recorded_card(engine, booking)
    WebClient(token=TOKEN, base_url=fake.url).chat_postMessage(
        channel=APPROVALS, text=first["text"], blocks=first["blocks"], metadata=first["metadata"]
    )
    assert len(cards_of(fake, booking)) == 2

    runtime.bus.handle(c.DenyBooking(booking, by=ADMIN, reason="cleaning"))
    runtime.dispatcher.drain()

    (card,) = cards_of(fake, booking)
    assert card["ts"] == first["ts"] and "denied" in card["text"] and not live(card)
    assert rows(engine, orm.approval_cards)[0]["ts"] == first["ts"]


def _worker(
    fake: StrictSlackApi, database_url: str, cwd: Path, name: str
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_URL": fake.url,
        "APPROVALS_CHANNEL": APPROVALS,
        "ADMIN_USER_IDS": ADMIN,
        "OUTBOX_POLL_SECONDS": "0.2",
        # short, so the second worker takes over the killed one's rows soon
        "OUTBOX_LEASE_SECONDS": "4",
    }
    env.pop("SMTP_HOST", None)
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "worker"],
        cwd=cwd,  # no developer .env
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(cwd / f"{name}.log").open("wb"),
    )


def _until(done: Any, what: str, seen: Any = str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"no {what} within {timeout}s: {seen()}"
        time.sleep(0.05)


@pytest.mark.parametrize("meanwhile", ["nothing", "approved"])
def test_a_worker_killed_between_posting_a_card_and_recording_it_leaves_one_card(
    meanwhile: str, database_url: str, tmp_path: Path, fake: StrictSlackApi
) -> None:
    """A real ``kill -9`` of ``python -m bot worker`` while Slack's answer to the card's
    ``chat.postMessage`` is on its way (Slack has the card; the worker never learns its ts),
    then a second worker: one card in the channel for the booking, live only while it waits.
    With ``approved``, the approval's card row comes before the killed row's lease is over."""
    container = bootstrap(make_settings(database_url))
    add_rooms(container.bus, "102")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    booking = container.bus.handle(
        c.RequestBooking("102", start, start + timedelta(hours=1), BOOKER, title="Sync")
    )
    fake.delay("chat.postMessage", 30)  # Slack keeps the message; its answer takes its time
    first = _worker(fake, database_url, tmp_path, "first")
    try:
        _until(lambda: cards_of(fake, booking), "card posted")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        first.kill()
    assert first.returncode == -signal.SIGKILL
    fake.delay("chat.postMessage", 0)
    assert rows(container.engine, orm.approval_cards) == []  # the ts was never recorded
    if meanwhile == "approved":
        container.bus.handle(c.ApproveBooking(booking, by=ADMIN))

    second = _worker(fake, database_url, tmp_path, "second")
    try:
        _until(
            lambda: {r["status"] for r in outbox(container.engine)} <= {"sent", "skipped"},
            "every row sent by the second worker",
            lambda: f"{outbox(container.engine)}\n{(tmp_path / 'second.log').read_text()}",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    container.close()

    (card,) = cards_of(fake, booking)
    assert rows(container.engine, orm.approval_cards)[0]["ts"] == card["ts"]
    assert live(card) == (meanwhile == "nothing")
    assert ("approved" in card["text"]) == (meanwhile == "approved")
    assert fake.calls_to("conversations.history")  # found by its metadata, not posted again
    # a DM the killed worker had handed to Slack may come twice, never more
    dms = [m["text"] for m in fake.messages(BOOKER)]
    assert all(dms.count(text) <= 2 for text in dms)
