"""A Monday-morning burst against a realistic Slack (issue #9, "Benchmarks").

Slack here is the strict fake of the tests as a workspace behaves (``bench.stack.serve_peers
--realistic``): every Web API call takes 150 ms, ``chat.postMessage`` allows about one message a
second per channel after a burst of 4, the other methods their tier's quota per minute, and past
that it answers 429 with ``Retry-After``. The mail server is the healthy aiosmtpd sink.

24 people (quick: 6) submit the booking modal within one second, over 4 rooms (quick: 2), each
their own slot, having opened it with ``/book`` shortly before (so the web process has read their
zone and language, as when people spend half a minute on the form). The admin approves each
card as soon as it appears in the approvals channel (the runner watches the fake's messages and
clicks Approve on the card's button). Measured, from the fake's and the sink's side
(``time.monotonic()``, one clock for every process on the machine):

- **approval DM p95 / one Slack call**: from the Approve click to the booker's "approved" DM
  being answered by Slack, over the 150 ms one ``chat.postMessage`` takes (target <= 3x);
- **approval email p95**: from the click to the sink receiving the "Approved" email (target
  <= 1 s: SMTP is local and healthy, whatever Slack does);
- **card p95 / Slack's bound**: from the submission to the card being answered, over the same
  percentile of the earliest each card could be posted under the channel's limit (a token bucket
  of 4, refilled at 1/s, fed the submissions as they came; plus one call) (target <= 1.15x);
- **lost** (a card, a requested or approved DM or email that never came within the patience)
  and **duplicated** (any of those more than once): target 0.

Arrangements: the in-process default (``python app.py``: web and dispatcher in one process) on
SQLite and PostgreSQL; the production split (web with ``RUN_SCHEDULER=false`` plus ``python -m
bot worker``) on both; and two worker processes on PostgreSQL. Each gets a fresh database, a
fresh app, and full rate-limit windows.

DMs and emails are told apart by their text: a booking's title is ``Burst NN`` (NN the person),
and an approval says "approved" as a word (the request's "waiting for approval" does not).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import loadgen, stack
from bench.common import Context, Figure, percentile
from bot.demo.signed import booking_values
from bot.views import ids
from tests.fakes.slack_api import SLACK_LIMITS, Rate

SUITE = "burst"
DM_TARGET = 3.0  # x one Slack call
EMAIL_TARGET = 1.0  # seconds
CARD_TARGET = 1.15  # x the bound the channel limit sets
WINDOW = 1.0  # every submission within this second
FORM_SECONDS = 2.0  # from the last /book to the burst: the forms' users.info and views calls
_TITLE = re.compile(r"Burst (\d{2})\b")
_APPROVED = re.compile(r"\bapproved\b", re.IGNORECASE)


@dataclass(frozen=True)
class Arrangement:
    label: str
    store: str  # "sqlite" or "postgresql"
    workers: int  # 0: the dispatcher runs in the web process (the default)


def arrangements(ctx: Context) -> list[Arrangement]:
    found = [Arrangement("in-process, sqlite", "sqlite", 0)]
    if ctx.postgres_url:
        found.append(Arrangement("in-process, postgresql", "postgresql", 0))
    found.append(Arrangement("web + worker, sqlite", "sqlite", 1))
    if ctx.postgres_url:
        found.append(Arrangement("web + worker, postgresql", "postgresql", 1))
        found.append(Arrangement("web + 2 workers, postgresql", "postgresql", 2))
    if ctx.quick:  # the smoke test: one of each kind of process layout
        found = [a for a in found if a.store == "sqlite"]
    return found


@dataclass
class Booking:
    """What happened to one person's request, as Slack and the mail server saw it."""

    submitted: float = 0.0
    answer: str = "not sent"  # "" once the modal answer said the booking was committed
    clicked: float | None = None
    cards: list[float] = field(default_factory=list)
    dms: list[tuple[float, bool]] = field(default_factory=list)  # (answered at, approval?)
    emails: list[tuple[float, bool]] = field(default_factory=list)

    def approval_dms(self) -> list[float]:
        return [at for at, approval in self.dms if approval]

    def approval_emails(self) -> list[float]:
        return [at for at, approval in self.emails if approval]

    def complete(self) -> bool:
        return bool(self.cards) and len(self.dms) >= 2 and len(self.emails) >= 2

    def lost(self) -> int:
        expected = {
            "card": len(self.cards),
            "requested dm": len(self.dms) - len(self.approval_dms()),
            "approved dm": len(self.approval_dms()),
            "requested email": len(self.emails) - len(self.approval_emails()),
            "approved email": len(self.approval_emails()),
        }
        return sum(1 for count in expected.values() if count == 0)

    def duplicated(self) -> int:
        counts = (
            len(self.cards),
            len(self.dms) - len(self.approval_dms()),
            len(self.approval_dms()),
            len(self.emails) - len(self.approval_emails()),
            len(self.approval_emails()),
        )
        return sum(max(0, count - 1) for count in counts)


def card_bound(submitted: list[float], rate: Rate, call: float) -> list[float]:
    """The least delay each card could have: posted the moment its submission arrived or, past
    the channel's burst, the moment the limit allows, and then one call."""
    tokens, last, delays = rate.capacity, None, []
    for at in sorted(submitted):
        if last is not None:
            tokens = min(rate.capacity, tokens + (at - last) * rate.refill)
        posted = at
        if tokens < 1:
            posted += (1 - tokens) / rate.refill
            tokens = 1.0
        tokens -= 1
        last = posted
        delays.append(posted + call - at)
    return delays


@dataclass
class Burst:
    arrangement: Arrangement
    bookings: list[Booking]
    rate_limited: int
    seconds: float

    def card_delays(self) -> list[float]:
        return [b.cards[0] - b.submitted for b in self.bookings if b.cards]

    def dm_delays(self) -> list[float]:
        return [
            b.approval_dms()[0] - b.clicked
            for b in self.bookings
            if b.clicked is not None and b.approval_dms()
        ]

    def email_delays(self) -> list[float]:
        return [
            b.approval_emails()[0] - b.clicked
            for b in self.bookings
            if b.clicked is not None and b.approval_emails()
        ]

    def figures(self) -> list[Figure]:
        label = self.arrangement.label
        call = stack.SLACK_CALL_SECONDS
        bound = card_bound([b.submitted for b in self.bookings], SLACK_LIMITS[_POST], call)
        lost = sum(b.lost() for b in self.bookings)
        duplicated = sum(b.duplicated() for b in self.bookings)
        refused = [b.answer for b in self.bookings if b.answer]
        note = (
            f"{len(self.bookings)} submissions, {len(refused)} not committed"
            + (f" (first: {refused[0][:120]})" if refused else "")
            + f"; Slack answered 429 {self.rate_limited} times; burst took {self.seconds:.0f} s"
        )
        return [
            Figure(
                SUITE,
                f"approval DM p95 / one Slack call, {label}",
                percentile(self.dm_delays(), 95),
                call,
                "s",
                DM_TARGET,
                note=note,
            ),
            Figure(
                SUITE,
                f"approval email p95, {label}",
                percentile(self.email_delays(), 95),
                None,
                "s",
                EMAIL_TARGET,
                target_on="value",
            ),
            Figure(
                SUITE,
                f"card p95 / the channel limit's bound, {label}",
                percentile(self.card_delays(), 95),
                percentile(bound, 95),
                "s",
                CARD_TARGET,
            ),
            Figure(SUITE, f"lost, {label}", lost, None, "", 0, target_on="value"),
            Figure(SUITE, f"duplicated, {label}", duplicated, None, "", 0, target_on="value"),
        ]


_POST = "chat.postMessage"


def run(ctx: Context) -> list[Figure]:
    people = ctx.size(24, 4)
    rooms = stack.ROOM_IDS[: ctx.size(4, 2)]
    users = tuple(f"UBURST{n:02d}" for n in range(people))
    patience = ctx.size(240, 60)
    figures: list[Figure] = []
    with stack.Peers(ctx.work, realistic_users=users) as peers:
        for arrangement in arrangements(ctx):
            with _database(ctx, arrangement) as url:
                stack.seed(url)
                with _running(ctx, arrangement, url, peers.ports) as port:
                    peers.refill()
                    peers.clear()
                    peers.events()  # whatever starting up posted is not part of the burst
                    burst = _burst(arrangement, peers, port, users, rooms, patience)
            figures += burst.figures()
    return figures


@contextlib.contextmanager
def _database(ctx: Context, arrangement: Arrangement) -> Iterator[str]:
    slug = re.sub(r"\W+", "-", arrangement.label)
    if arrangement.store == "sqlite":
        path = ctx.work / f"burst-{slug}.db"
        path.unlink(missing_ok=True)
        yield stack.migrated(stack.sqlite_url(path))
        return
    assert ctx.postgres_url is not None
    with stack.throwaway_postgres(ctx.postgres_url, prefix="roombot_burst_") as url:
        yield url


@contextlib.contextmanager
def _running(
    ctx: Context, arrangement: Arrangement, url: str, peers: stack.PeerPorts
) -> Iterator[int]:
    """The app (and its workers) for one arrangement; yields the web port."""
    slug = re.sub(r"\W+", "-", arrangement.label)
    split = ["--no-scheduler"] if arrangement.workers else []
    app = stack.start_app(ctx.work, f"burst-{slug}", database_url=url, peers=peers, extra=split)
    workers: list[stack.Worker] = []
    try:
        for n in range(arrangement.workers):
            workers.append(
                stack.Worker(ctx.work, f"burst-{slug}-worker{n}", database_url=url, peers=peers)
            )
        for worker in workers:
            worker.wait_ready()
        yield app.port
    finally:
        for worker in workers:
            worker.stop()
        app.stop()


def _submission(user: str, room: str, start: datetime, title: str) -> loadgen.Request:
    end = start + timedelta(minutes=30)
    values = booking_values(room, f"{start:%Y-%m-%d}", f"{start:%H:%M}", f"{end:%H:%M}", title)
    request = loadgen.submit_body(user, stack.BOOK_VIEW, values)
    return loadgen.Request(request.body, request.content_type, '"update"')


def _burst(
    arrangement: Arrangement,
    peers: stack.Peers,
    port: int,
    users: tuple[str, ...],
    rooms: tuple[str, ...],
    patience: float,
) -> Burst:
    day = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0) + timedelta(days=3)
    bookings = [Booking() for _ in users]
    requests = [
        _submission(
            user,
            rooms[n % len(rooms)],
            day + timedelta(minutes=30 * (n // len(rooms))),
            f"Burst {n:02d}",
        )
        for n, user in enumerate(users)
    ]
    _open_forms(peers, port, users)
    before = peers.stats().get("slack", {}).get("429", 0)
    began = time.monotonic() + 0.2
    senders = []

    def submit(n: int) -> None:
        time.sleep(max(0.0, began + WINDOW * n / len(users) - time.monotonic()))
        bookings[n].submitted = time.monotonic()
        bookings[n].answer = loadgen.send_one(port, stack.SECRET, requests[n])

    def approve(n: int, booking_id: str) -> None:
        bookings[n].clicked = time.monotonic()
        click = stack.approve_click(int(booking_id), peers.ports.slack_url)
        loadgen.send_one(port, stack.SECRET, click)

    for n in range(len(users)):
        senders.append(threading.Thread(target=submit, args=(n,), daemon=True))
        senders[-1].start()
    by_user = {user: n for n, user in enumerate(users)}
    deadline = began + patience
    while time.monotonic() < deadline and not all(b.complete() for b in bookings):
        for event in peers.events():
            clicked = _record(event, bookings, by_user)
            if clicked is not None:
                senders.append(threading.Thread(target=approve, args=clicked, daemon=True))
                senders[-1].start()
        time.sleep(0.02)
    time.sleep(1.0)  # a duplicate right behind the last delivery still counts
    for event in peers.events():
        _record(event, bookings, by_user)
    for thread in senders:
        thread.join(timeout=30)
    rate_limited = peers.stats().get("slack", {}).get("429", 0) - before
    return Burst(arrangement, bookings, rate_limited, time.monotonic() - began)


def _open_forms(peers: stack.Peers, port: int, users: tuple[str, ...]) -> None:
    """Each person types ``/book`` first, as they must to have a form to submit: the web
    process then knows their zone and language, as it does in a workspace where people fill in
    the form for half a minute. Its Web API calls are done before the burst starts."""
    for user in users:
        body = loadgen.command_body(
            user, response_base=peers.ports.slack_url, trigger_id=peers.trigger_id()
        )
        loadgen.send_one(port, stack.SECRET, body)
    time.sleep(FORM_SECONDS)
    peers.refill()
    peers.events()


def _record(
    event: dict[str, Any], bookings: list[Booking], by_user: dict[str, int]
) -> tuple[int, str] | None:
    """File one event under its booking; for a new card, return (person, booking id) to click."""
    text = f"{event.get('text', '')} {event.get('blocks', '')}"
    found = _TITLE.search(text)
    if found is None or not event.get("ok", True):
        return None
    n = int(found.group(1))
    if n >= len(bookings):
        return None
    booking = bookings[n]
    approval = bool(_APPROVED.search(str(event.get("text", ""))))
    if event["kind"] == "email":
        booking.emails.append((event["at"], approval))
        return None
    if event["kind"] != _POST:
        return None  # card updates are not measured
    if event["channel"] == stack.APPROVALS:
        booking.cards.append(event["at"])
        if len(booking.cards) == 1:
            value = _approve_value(event["blocks"])
            return (n, value) if value is not None else None
        return None
    if event["channel"] in by_user:
        booking.dms.append((event["at"], approval))
    return None


def _approve_value(blocks_json: str) -> str | None:
    """The value of the card's Approve button (the booking id)."""
    for block in json.loads(blocks_json or "[]"):
        elements = block.get("elements", []) if block.get("type") == "actions" else []
        for element in [*elements, block.get("accessory") or {}]:
            if isinstance(element, dict) and element.get("action_id") == ids.APPROVE:
                return str(element.get("value"))
    return None
