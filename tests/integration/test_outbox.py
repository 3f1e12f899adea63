"""The outbox on a real database: claims, leases, retries, and workers racing or dying.

Each test runs on SQLite and on PostgreSQL. Time is a clock the test moves, never a sleep.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import threading
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from bot.adapters import orm
from bot.notifications.dispatcher import Dispatcher, DispatchSettings
from bot.notifications.failures import NoRecipient, PermanentFailure, RetryLater
from bot.notifications.outbox import OutboxRow, OutboxStore
from tests.conftest import FixedClock
from tests.integration.helpers import outbox, rows
from tests.integration.outbox_workers import drain_in_process, hang_after

LEASE = 60.0


def add_rows(
    engine: Engine,
    count: int,
    at: datetime,
    *,
    channel: str = "dm",
    kind: str = "approved",
    payload: dict[str, Any] | None = None,
) -> list[int]:
    """``count`` pending rows due at ``at``, one event each way the policies would write them."""
    event_id = uuid.uuid4().hex
    with engine.begin() as conn:
        conn.execute(
            insert(orm.event_log).values(
                event_id=event_id,
                type="BookingApproved",
                booking_id=1,
                actor="U1",
                at=at,
                payload={},
            )
        )
        conn.execute(
            insert(orm.outbox),
            [
                {
                    "event_id": event_id,
                    "channel": channel,
                    "recipient": f"U{i:04d}",
                    "payload": payload or {"kind": kind},
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": at,
                    "created_at": at,
                }
                for i in range(count)
            ],
        )
    return [r["id"] for r in outbox(engine) if r["event_id"] == event_id]


def by_id(engine: Engine) -> dict[int, dict[str, Any]]:
    return {r["id"]: r for r in outbox(engine)}


def log_of(engine: Engine) -> list[dict[str, Any]]:
    return rows(engine, orm.deliveries, orm.deliveries.c.id)


class Recorder:
    """A sender that records what it delivered, and fails as told."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.fail = fail
        self.sent: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, row: OutboxRow) -> None:
        if self.fail is not None:
            raise self.fail
        with self.lock:
            self.sent.append(row.id)


def dispatcher(
    engine: Engine, clock: FixedClock, senders: dict[str, Any], **params: Any
) -> Dispatcher:
    import random

    settings = DispatchSettings(**{"lease_seconds": LEASE, **params})
    return Dispatcher(OutboxStore(engine), senders, settings, clock, rng=random.Random(7))


# --- claims and marks ----------------------------------------------------------------------------


def test_claim_takes_due_rows_in_order_and_leases_them(engine: Engine, clock: FixedClock) -> None:
    ids = add_rows(engine, 3, clock.now)
    later = add_rows(engine, 1, clock.now + timedelta(minutes=5))
    store = OutboxStore(engine)

    first = store.claim(clock.now, 2, LEASE)
    assert [r.id for r in first] == ids[:2]
    assert all(r.status == "sending" and r.attempts == 1 for r in first)
    assert first[0].next_attempt_at == clock.now + timedelta(seconds=LEASE)
    assert first[0].payload == {"kind": "approved"}
    assert [r.id for r in store.claim(clock.now, 10, LEASE)] == ids[2:]
    assert store.claim(clock.now, 10, LEASE) == []  # leased rows are not due, the later one neither

    # the worker holding them died: once the lease ran out they are due again, attempt 2
    clock.advance(timedelta(seconds=LEASE))
    again = store.claim(clock.now, 10, LEASE)
    assert [r.id for r in again] == ids
    assert [r.attempts for r in again] == [2, 2, 2]
    clock.advance(timedelta(minutes=5))  # their leases ran out again, and the later row is due
    assert [r.id for r in store.claim(clock.now, 10, LEASE)] == [*ids, *later]


def test_refreshes_of_one_home_or_one_card_in_a_batch_are_sent_once(
    engine: Engine, clock: FixedClock
) -> None:
    """A home tab or an approval card is rendered when sent, so the newest refresh in a batch
    answers the older ones; every DM is still its own message."""
    homes = [add_rows(engine, 1, clock.now, channel="home")[0] for _ in range(3)]  # all U0000
    newest, other_home = add_rows(engine, 2, clock.now, channel="home")  # U0000, U0001
    cards = [
        add_rows(engine, 1, clock.now, channel="card", payload={"booking_id": n})[0]
        for n in (7, 8, 7)
    ]
    dms = [add_rows(engine, 1, clock.now, channel="dm")[0] for _ in range(2)]
    published = Recorder()
    dm = Recorder()
    d = dispatcher(engine, clock, {"home": published, "card": published, "dm": dm})

    assert d.run_once() == 10
    # one publish per home and per card, of the newest row (different homes and cards go out
    # concurrently, so in no set order); the DMs to one person in order
    assert sorted(published.sent) == sorted([newest, other_home, cards[2], cards[1]])
    assert dm.sent == dms
    assert {r["status"] for r in outbox(engine)} == {"sent"}
    outcome = {d["outbox_id"]: d["outcome"] for d in log_of(engine)}
    assert [outcome[i] for i in [*homes, newest]] == ["coalesced"] * 3 + ["sent"]
    assert [outcome[i] for i in cards] == ["coalesced", "sent", "sent"]


def test_notes_to_the_approvals_channel_are_each_their_own_message(
    engine: Engine, clock: FixedClock
) -> None:
    """A note (about no one booking) rides the card rows, but says what happened once: two
    notes in one batch are two posts."""
    notes = [
        add_rows(engine, 1, clock.now, channel="card", payload={"kind": "unattended_rooms"})[0]
        for _ in range(2)
    ]
    posted = Recorder()
    assert dispatcher(engine, clock, {"card": posted}).run_once() == 2
    assert sorted(posted.sent) == notes


def test_a_failed_refresh_is_one_failed_send_of_every_row_it_stood_for(
    engine: Engine, clock: FixedClock
) -> None:
    """Coalesced rows are one send: a failure spends one attempt (the newest row's, which stood
    for them); the others wait with it, and when it is dead they are dead with it."""
    homes = [add_rows(engine, 1, clock.now, channel="home")[0] for _ in range(3)]
    sender = Recorder(fail=RuntimeError("slack is down"))
    d = dispatcher(
        engine,
        clock,
        {"home": sender},
        max_attempts=3,
        backoff_base_seconds=10,
        backoff_max_seconds=10,
        breaker_fail_max=100,
    )
    assert d.run_once() == 3
    stored = by_id(engine)
    assert [(stored[i]["status"], stored[i]["attempts"]) for i in homes] == [
        ("pending", 0),
        ("pending", 0),
        ("pending", 1),
    ]
    assert len({stored[i]["next_attempt_at"] for i in homes}) == 1  # due again together
    assert {e["outbox_id"]: e["outcome"] for e in log_of(engine)} == dict(
        zip(homes, ["deferred", "deferred", "failed"], strict=True)
    )

    tries = 1
    while {r["status"] for r in outbox(engine)} == {"pending"}:
        clock.advance(timedelta(seconds=10))
        assert d.run_once() == 3  # the three come back as one unit
        tries += 1
    assert tries == 3  # max_attempts sends in all, not three per row
    stored = by_id(engine)
    assert [(stored[i]["status"], stored[i]["attempts"]) for i in homes] == [
        ("dead", 0),
        ("dead", 0),
        ("dead", 3),
    ]
    assert all("slack is down" in stored[i]["last_error"] for i in homes)


def test_a_claim_for_some_channels_takes_only_their_rows(engine: Engine, clock: FixedClock) -> None:
    emails = add_rows(engine, 3, clock.now, channel="email")
    dms = add_rows(engine, 2, clock.now, channel="dm")
    cards = add_rows(engine, 1, clock.now, channel="card")
    store = OutboxStore(engine)

    assert [r.id for r in store.claim(clock.now, 10, LEASE, channels=["dm"])] == dms
    assert [r.id for r in store.claim(clock.now, 10, LEASE, channels=("card", "dm"))] == cards
    assert {
        r["id"]: r["status"] for r in outbox(engine) if r["channel"] == "email"
    } == dict.fromkeys(emails, "pending")
    assert [r.id for r in store.claim(clock.now, 10, LEASE)] == emails


def test_marks_move_rows_on_and_write_the_delivery_log(engine: Engine, clock: FixedClock) -> None:
    ids = add_rows(engine, 4, clock.now)
    store = OutboxStore(engine)
    store.claim(clock.now, 10, LEASE)
    retry_at = clock.now + timedelta(seconds=30)

    assert store.mark_sent(ids[0], clock.now, duration_ms=12)
    assert store.mark_failed(ids[1], "boom", clock.now, retry_at)
    assert store.mark_failed(ids[2], "refused", clock.now, None)
    assert store.mark_skipped(ids[3], "U0003 has no email address", now=clock.now)

    stored = by_id(engine)
    assert [stored[i]["status"] for i in ids] == ["sent", "pending", "dead", "skipped"]
    assert stored[ids[0]]["sent_at"] == clock.now
    assert stored[ids[1]]["next_attempt_at"] == retry_at
    assert stored[ids[1]]["last_error"] == "boom"
    assert [(d["outbox_id"], d["outcome"], d["attempt"]) for d in log_of(engine)] == [
        (ids[0], "sent", 1),
        (ids[1], "failed", 1),
        (ids[2], "dead", 1),
        (ids[3], "skipped", 1),
    ]
    # a late mark from a worker whose lease expired cannot undo a final state
    assert not store.mark_failed(ids[0], "late", clock.now, retry_at)
    assert by_id(engine)[ids[0]]["status"] == "sent"

    recent = store.recent(10)
    assert recent[0].outbox_id == ids[0] and recent[0].error == "late"  # newest first
    assert {d.kind for d in recent} == {"approved"}
    assert {d.channel for d in recent} == {"dm"}
    assert store.counts() == {"sent": 1, "pending": 1, "dead": 1, "skipped": 1}
    assert store.dead_count() == 1
    assert [d.id for d in store.dead()] == [ids[2]]


def test_transient_failures_back_off_then_the_row_is_dead(
    engine: Engine, clock: FixedClock
) -> None:
    [row] = add_rows(engine, 1, clock.now)
    sender = Recorder(fail=ConnectionError("smtp down"))
    d = dispatcher(
        engine,
        clock,
        {"dm": sender},
        max_attempts=4,
        backoff_base_seconds=10,
        backoff_max_seconds=25,
        breaker_fail_max=100,
    )
    caps = [10, 20, 25]  # base * 2**(attempt-1), capped at the maximum
    for attempt, cap in enumerate(caps, start=1):
        assert d.run_once() == 1
        stored = by_id(engine)[row]
        assert (stored["status"], stored["attempts"]) == ("pending", attempt)
        delay = stored["next_attempt_at"] - clock.now
        assert timedelta(0) <= delay <= timedelta(seconds=cap)
        assert d.run_once() == 0  # not due before its time
        clock.advance(timedelta(seconds=cap))
    assert d.run_once() == 1
    stored = by_id(engine)[row]
    assert (stored["status"], stored["attempts"]) == ("dead", 4)
    assert "smtp down" in stored["last_error"]
    assert [e["outcome"] for e in log_of(engine)] == ["failed", "failed", "failed", "dead"]

    # the operator fixed the cause: dead rows start over and go out
    assert OutboxStore(engine).retry_dead(clock.now) == 1
    assert (by_id(engine)[row]["status"], by_id(engine)[row]["attempts"]) == ("pending", 0)
    sender.fail = None
    assert d.run_once() == 1
    assert by_id(engine)[row]["status"] == "sent" and sender.sent == [row]


def test_full_jitter_stays_within_the_cap_and_respects_retry_after(
    engine: Engine, clock: FixedClock
) -> None:
    d = dispatcher(engine, clock, {}, backoff_base_seconds=2, backoff_max_seconds=900)
    for attempts in (1, 2, 5, 20):
        cap = min(900, 2 * 2 ** (attempts - 1))
        delays = [d.backoff(attempts) for _ in range(200)]
        assert all(0 <= x <= cap for x in delays)
        assert max(delays) > cap / 2  # spread over the range, not a fixed delay
    assert d.backoff(1, RetryLater("429", after_seconds=30)) >= 30


def test_permanent_failures_and_missing_recipients_are_not_retried(
    engine: Engine, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    dead = add_rows(engine, 1, clock.now, channel="dm")
    no_email = add_rows(engine, 3, clock.now, channel="email")

    def email(row: OutboxRow) -> None:
        raise NoRecipient("no email address in Slack", user="USAME")

    d = dispatcher(
        engine, clock, {"dm": Recorder(fail=PermanentFailure("user_not_found")), "email": email}
    )
    with caplog.at_level(logging.INFO, logger="bot.notifications.dispatcher"):
        assert d.run_once() == 4
    stored = by_id(engine)
    assert stored[dead[0]]["status"] == "dead" and stored[dead[0]]["attempts"] == 1
    assert {stored[i]["status"] for i in no_email} == {"skipped"}
    told = [r for r in caplog.records if "no email address" in r.getMessage()]
    assert len(told) == 1 and told[0].levelno == logging.INFO  # once per user, not per row
    # neither counts against the channel: one bad address must not stop everyone's email
    assert d.breaker("email").fail_counter == 0
    clock.advance(timedelta(days=1))
    assert d.run_once() == 0


def test_a_channel_without_a_sender_is_skipped_as_not_configured(
    engine: Engine, clock: FixedClock
) -> None:
    emails = add_rows(engine, 2, clock.now, channel="email")
    dms = add_rows(engine, 1, clock.now, channel="dm")
    d = dispatcher(engine, clock, {"dm": Recorder()})
    assert d.run_once() == 3
    stored = by_id(engine)
    assert [stored[i]["last_error"] for i in emails] == ["email is not configured"] * 2
    assert {stored[i]["status"] for i in emails} == {"skipped"}
    assert stored[dms[0]]["status"] == "sent"


def test_an_open_breaker_defers_its_channel_without_counting_and_others_flow(
    engine: Engine, clock: FixedClock
) -> None:
    emails = add_rows(engine, 5, clock.now, channel="email")
    dms = add_rows(engine, 5, clock.now, channel="dm")
    dm = Recorder()
    d = dispatcher(
        engine,
        clock,
        {"email": Recorder(fail=OSError("connection refused")), "dm": dm},
        breaker_fail_max=2,
        breaker_reset_seconds=30,
        channel_in_flight=1,  # one email at a time, so the breaker opens before the third
    )
    assert d.run_once() == 10
    stored = by_id(engine)
    # the failure that opened the breaker is the channel's, not its row's: that row waits
    # uncounted with the three never tried
    assert [stored[i]["attempts"] for i in emails] == [1, 0, 0, 0, 0]
    assert {stored[i]["status"] for i in emails} == {"pending"}
    for i in emails[1:]:  # not claimable again before the breaker may close
        assert stored[i]["next_attempt_at"] > clock.now + timedelta(seconds=25)
    assert sorted(dm.sent) == dms
    outcomes = Counter((e["outcome"]) for e in log_of(engine))
    assert outcomes == {"failed": 1, "deferred": 4, "sent": 5}
    assert d.breaker("email").current_state == "open"


def test_a_row_failing_alone_is_dead_once_past_the_max_age(
    engine: Engine, clock: FixedClock
) -> None:
    """Alone in its channel, a row's own failures keep the breaker open, so none of them counts:
    without an age limit it would be tried every reset interval forever."""
    [row] = add_rows(engine, 1, clock.now, channel="email")
    now = [0.0]
    d = Dispatcher(
        OutboxStore(engine),
        {"email": Recorder(fail=OSError("452 mailbox full"))},
        DispatchSettings(
            lease_seconds=LEASE, breaker_fail_max=1, breaker_reset_seconds=30, max_age_seconds=3600
        ),
        clock,
        monotonic=lambda: now[0],
    )
    for _ in range(3):  # the breaker's trials, each failing: the row waits, uncounted
        assert d.run_once() == 1
        assert by_id(engine)[row]["status"] == "pending"
        assert by_id(engine)[row]["attempts"] == 0
        clock.advance(timedelta(minutes=10))
        now[0] += 600
    clock.advance(timedelta(minutes=31))  # failing for 61 minutes with its channel paused
    now[0] += 1860
    assert d.run_once() == 1
    stored = by_id(engine)[row]
    assert stored["status"] == "dead" and "mailbox full" in stored["last_error"]


def test_a_slow_batch_hands_its_rest_back_before_the_lease_runs_out(
    engine: Engine, clock: FixedClock
) -> None:
    ids = add_rows(engine, 3, clock.now)
    d = dispatcher(engine, clock, {}, lease_seconds=0.000001)  # every row is "too late"
    d.senders["dm"] = Recorder()
    assert d.run_once() == 3
    stored = by_id(engine)
    # every row waited past half its lease before a thread took it: all go back unattempted
    assert [stored[i]["status"] for i in ids] == ["pending"] * 3
    assert [stored[i]["attempts"] for i in ids] == [0, 0, 0]


def test_a_row_whose_worker_keeps_dying_is_dead_after_the_last_attempt(
    engine: Engine, clock: FixedClock
) -> None:
    [row] = add_rows(engine, 1, clock.now)
    store = OutboxStore(engine)
    for _ in range(3):
        assert len(store.claim(clock.now, 10, LEASE, max_attempts=3)) == 1
        clock.advance(timedelta(seconds=LEASE))  # ... and the worker died each time
    assert store.claim(clock.now, 10, LEASE, max_attempts=3) == []
    assert by_id(engine)[row]["status"] == "dead"


# --- concurrency and crashes ---------------------------------------------------------------------


def test_two_threads_draining_one_outbox_send_every_row_exactly_once(
    engine: Engine, clock: FixedClock
) -> None:
    ids = add_rows(engine, 200, clock.now)
    sent = Recorder()
    workers = [dispatcher(engine, clock, {"dm": sent}, batch_size=7) for _ in range(2)]
    gate = threading.Barrier(2)
    errors: list[BaseException] = []

    def drain(worker: Dispatcher) -> None:
        try:
            gate.wait(timeout=30)
            worker.drain()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert Counter(sent.sent) == Counter(ids)  # each once, none missing
    assert {r["status"] for r in outbox(engine)} == {"sent"}


def test_a_stuck_channel_holds_up_only_its_own_rows(engine: Engine, clock: FixedClock) -> None:
    """Each channel is its own lane in the background: while one email send hangs, DMs and
    cards committed after it still go out, and the email rows wait their turn untouched."""
    emails = add_rows(engine, 3, clock.now, channel="email")
    dms = add_rows(engine, 3, clock.now, channel="dm")
    cards = add_rows(engine, 2, clock.now, channel="card")
    release, entered = threading.Event(), threading.Event()
    delivered = Recorder()

    def stuck_email(row: OutboxRow) -> None:
        entered.set()
        assert release.wait(30)
        delivered(row)

    def status_of(ids: list[int]) -> set[str]:
        stored = by_id(engine)
        return {stored[i]["status"] for i in ids}

    def wait_for(ids: list[int], status: str) -> bool:
        for _ in range(200):
            if status_of(ids) == {status}:
                return True
            threading.Event().wait(0.05)
        return False

    d = dispatcher(
        engine, clock, {"email": stuck_email, "dm": delivered, "card": delivered}, poll_seconds=30
    )
    d.start()
    try:
        assert entered.wait(10), "the email lane never started"
        assert wait_for(dms + cards, "sent"), "DMs and cards waited behind a stuck email"
        assert status_of(emails) == {"sending"}  # leased by the email lane, which is stuck
        assert not set(emails) & set(delivered.sent)
        release.set()
        assert wait_for(emails, "sent")
    finally:
        release.set()
        d.stop()
    assert Counter(delivered.sent) == Counter(emails + dms + cards)  # each once
    assert {r["status"] for r in outbox(engine)} == {"sent"}
    assert {t.name for t in threading.enumerate()}.isdisjoint({"outbox-email", "outbox-dm"})


def _collect(results: Any, until: int, timeout: float = 60) -> list[tuple[str, Any]]:
    """Read messages from child processes until ``until`` of them said "done"."""
    got: list[tuple[str, Any]] = []
    done = 0
    while done < until:
        try:
            message = results.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"workers went quiet; got {got}")
        got.append(message)
        done += message[0] == "done"
    return got


def test_two_processes_draining_one_outbox_send_every_row_exactly_once(
    engine: Engine, clock: FixedClock, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SKIP LOCKED across processes is a PostgreSQL matter; SQLite is covered above")
    ids = add_rows(engine, 200, clock.now)
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    gate = spawn.Barrier(2)
    procs = [
        spawn.Process(
            target=drain_in_process, args=(database_url, clock.now.isoformat(), results, gate)
        )
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    got = _collect(results, until=2)
    for p in procs:
        p.join(timeout=30)
    assert [m for m in got if m[0] == "error"] == []
    sent = [row for kind, row in got if kind == "sent"]
    assert Counter(sent) == Counter(ids)
    assert {r["status"] for r in outbox(engine)} == {"sent"}


def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_only_the_row_in_flight(
    engine: Engine, clock: FixedClock, database_url: str
) -> None:
    ids = add_rows(engine, 25, clock.now)
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    worker = spawn.Process(
        target=hang_after, args=(database_url, clock.now.isoformat(), 4, results)
    )
    worker.start()
    before: list[tuple[str, int]] = []
    while not before or before[-1][0] != "hanging":
        try:
            before.append(results.get(timeout=60))
        except queue.Empty:
            worker.kill()
            pytest.fail(f"the worker never reached its fifth send; got {before}")
    assert worker.pid is not None
    os.kill(worker.pid, signal.SIGKILL)
    worker.join(timeout=30)
    assert worker.exitcode == -signal.SIGKILL

    sent_before = [row for kind, row in before if kind == "sent"]
    in_flight = before[-1][1]
    assert sent_before == ids[:4] and in_flight == ids[4]
    stored = by_id(engine)
    assert {stored[i]["status"] for i in ids[4:10]} == {"sending"}  # its batch, leased

    # a new worker: nothing of that batch is due until the lease runs out
    after = Recorder()
    d = dispatcher(engine, clock, {"dm": after})
    d.drain()
    assert after.sent == ids[10:]
    clock.advance(timedelta(seconds=LEASE + 1))
    d.drain()
    assert sorted(after.sent) == ids[4:]  # nothing lost
    assert set(after.sent) & (set(sent_before) | {in_flight}) == {in_flight}  # one repeat at most
    assert {r["status"] for r in outbox(engine)} == {"sent"}
