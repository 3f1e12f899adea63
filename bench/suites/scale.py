"""Booking throughput, and latency as the booking history grows (issue parts 2 and 3).

Runs on SQLite (files in ``ctx.work``) and, when ``ctx.postgres_url`` is set, on PostgreSQL, where
every store is a schema of its own in that throwaway database (dropped afterwards).

Throughput: booking requests through the message bus (``RequestBooking``: overlap check, insert,
event log, read model, approval record, outbox rows, one commit) against the floor any booking
store pays, one Core ``INSERT INTO bookings`` + ``COMMIT`` per row, on the same engine. The two
run in alternating rounds so drift on a shared machine hits both alike.

Scale: the same requests, building the heavy user's App Home (``HomePublisher.data`` +
``home_view``; the HTTP publish is not measured), and Find's free/busy query (``free_rooms``: which
rooms are free for an hour tomorrow, where the seeded future lies, and until when), with 100,
10 000 and 100 000 bookings stored.
Each size is a store of its own and the samples are taken round-robin across them, so a noisy
neighbour on the machine slows all sizes alike instead of whichever was being measured. What
should not matter is history: with the right indexes all three stay flat. The statements the
home, the overlap check and Find really send are captured and explained at the largest size; the
plans go to ``ctx.work / "plans.txt"``.

``BENCH_SCALE_PARTS=throughput`` (or ``history``) runs one part only: the throughput alone takes
about a minute, where seeding the history takes several.
"""

from __future__ import annotations

import itertools
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.common import Context, Figure, median, percentile
from bench.suites import _scale_seed as seeding
from bench.suites._scale_plans import Plan, capturing, explain
from bot.adapters import migrate, orm
from bot.adapters.db import make_engine
from bot.adapters.directory import Directory
from bot.adapters.repositories import SqlBookingRepository
from bot.bootstrap import Container, bootstrap
from bot.config import Settings
from bot.domain import commands
from bot.domain.model import ApprovalStatus, BookingStatus
from bot.notifications.publishers import HomePublisher
from bot.views.home import home_view

SUITE = "scale"
ROUNDS = 4
#: Booking throughput against the hand-written Core transaction making the same writes: what the
#: domain, the bus, the unit of work and the ORM may cost on top of the writes themselves.
SAME_WRITES_TARGET = 0.8
#: The outbox rows one booking request writes with one admin: the booker's DM and email, the
#: approval card, and the booker's and the admin's App Home.
OUTBOX_ROWS = (
    ("dm", "USAME"),
    ("email", "USAME"),
    ("card", "CAPPROVALS"),
    ("home", "USAME"),
    ("home", "UADMIN"),
)
WARM_UP = 5
PARTS = ("throughput", "history")
HOME_QUERIES = ("upcoming_for rows", "upcoming_for count", "pending rows", "pending count")


class _FixedZone:
    """Stands in for the Slack directory: the home build is measured, not ``users.info``."""

    def tz(self, user: str) -> ZoneInfo:
        return ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class _Database:
    label: str
    url: str | None  # None: SQLite, one file per store


@dataclass
class _Store:
    """One database (SQLite file or PostgreSQL schema) with the app wired onto it."""

    container: Container
    drop: Callable[[], None]
    layout: seeding.Layout = field(default_factory=lambda: seeding.Layout.at(datetime.now(UTC)))
    probes: Iterator[int] = field(default_factory=itertools.count)

    @property
    def engine(self) -> Engine:
        return self.container.engine

    def close(self) -> None:
        self.container.close()
        self.drop()

    def request(self, by: str = seeding.PROBE_USER) -> None:
        room, start, end = self.layout.probe(next(self.probes))
        self.container.bus.handle(commands.RequestBooking(room, start, end, by=by, title="Bench"))


def run(ctx: Context) -> list[Figure]:
    parts = _parts(os.environ.get("BENCH_SCALE_PARTS", ""))
    figures: list[Figure] = []
    (ctx.work / "plans.txt").unlink(missing_ok=True)  # each database appends its plans
    databases = [_Database("sqlite", None)]
    if ctx.postgres_url:
        databases.append(_Database("postgresql", app_url(ctx.postgres_url)))
    for db in databases:
        if "throughput" in parts:
            figures += _throughput(ctx, db)
        if "history" in parts:
            figures += _history(ctx, db)
    return figures


def _parts(chosen: str) -> tuple[str, ...]:
    """The parts named (comma-separated), or all of them."""
    named = tuple(p.strip() for p in chosen.split(",") if p.strip())
    unknown = sorted(set(named) - set(PARTS))
    if unknown:
        raise ValueError(f"BENCH_SCALE_PARTS: unknown {', '.join(unknown)}; choose from {PARTS}")
    return named or PARTS


def app_url(url: str) -> str:
    """The URL as the app reads it (``postgresql://`` becomes ``postgresql+psycopg://``)."""
    return Settings(_env_file=None, database_url=url).database_url


def _open(ctx: Context, db: _Database, name: str) -> _Store:
    """A migrated, empty store with 50 rooms: a fresh SQLite file, or a fresh PostgreSQL schema
    (``search_path`` puts the tables, and Alembic's version table, there)."""
    if db.url is None:
        path = ctx.work / f"scale-{name}.db"
        _remove_sqlite(path)
        url = f"sqlite:///{path}"
        engine = make_engine(url)

        def drop() -> None:
            _remove_sqlite(path)

    else:
        schema = f"bench_scale_{name}"
        admin = create_engine(make_url(db.url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = db.url
        engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            admin.dispose()

    migrate.upgrade(engine)
    settings = Settings(
        _env_file=None,
        database_url=url,
        admin_user_ids=frozenset({seeding.ADMIN}),
    )
    seeding.add_rooms(engine)
    return _Store(bootstrap(settings, engine=engine), drop)


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


# --- part 2: throughput --------------------------------------------------------------------------


def _throughput(ctx: Context, db: _Database) -> list[Figure]:
    count = ctx.size(2_000, 60)
    store = _open(ctx, db, "throughput")
    engine = store.engine
    try:
        layout = store.layout
        # The baseline's rows lie a month after the bus's, so neither ever blocks the other.
        later = timedelta(days=30)
        statement = insert(orm.bookings)
        baseline_slots = itertools.count()

        def insert_one() -> None:
            room, start, end = layout.probe(next(baseline_slots))
            with engine.begin() as conn:
                conn.execute(
                    statement,
                    {
                        "room_id": room,
                        "starts_at": start + later,
                        "ends_at": end + later,
                        "booker": "UBASE",
                        "title": "Bench",
                        "status": BookingStatus.PENDING,
                        "requested_at": layout.now,
                    },
                )

        # The floor for any design with a transactional outbox: one Core transaction making the
        # writes a booking request makes (the overlap check, the booking, its event, its
        # read-model row, its approval record and its five outbox rows), with none of the
        # domain, bus or ORM around them.
        same_slots = itertools.count()
        rooms = {r.id: r.name for r in store.container.queries.rooms()}
        b, holding = orm.bookings.c, [BookingStatus.PENDING, BookingStatus.APPROVED]

        def same_writes() -> None:
            room, start, end = layout.probe(next(same_slots))
            start, end = start + 2 * later, end + 2 * later
            event_id = uuid.uuid4().hex
            with engine.begin() as conn:
                clash = conn.execute(
                    select(b.id)
                    .where(
                        b.room_id == room,
                        b.status.in_(holding),
                        b.ends_at > start,
                        b.starts_at < end,
                    )
                    .limit(1)
                ).first()
                assert clash is None
                values = {
                    "room_id": room,
                    "starts_at": start,
                    "ends_at": end,
                    "booker": "USAME",
                    "title": "Bench",
                    "status": BookingStatus.PENDING,
                    "requested_at": layout.now,
                }
                booking_id = conn.execute(insert(orm.bookings).returning(b.id), values).scalar()
                conn.execute(
                    insert(orm.event_log),
                    {
                        "event_id": event_id,
                        "type": "BookingRequested",
                        "booking_id": booking_id,
                        "actor": "USAME",
                        "at": layout.now,
                        "payload": {"room_id": room},
                    },
                )
                conn.execute(
                    insert(orm.booking_list),
                    {**values, "booking_id": booking_id, "room_name": rooms[room]},
                )
                conn.execute(
                    insert(orm.approvals),
                    {"booking_id": booking_id, "status": ApprovalStatus.REQUESTED},
                )
                conn.execute(
                    insert(orm.outbox),
                    [
                        {
                            "event_id": event_id,
                            "channel": channel,
                            "recipient": recipient,
                            "payload": {"kind": "requested", "booking_id": booking_id},
                            "status": "pending",
                            "attempts": 0,
                            "next_attempt_at": layout.now,
                            "created_at": layout.now,
                        }
                        for channel, recipient in OUTBOX_ROWS
                    ],
                )

        for _ in range(20):
            insert_one()
            same_writes()
            store.request()
        base_seconds = same_seconds = bus_seconds = 0.0
        per_round = count // ROUNDS
        for _ in range(ROUNDS):
            base_seconds += _timed(insert_one, per_round)
            same_seconds += _timed(same_writes, per_round)
            bus_seconds += _timed(store.request, per_round)
        done = per_round * ROUNDS
        bus_rate, base_rate = done / bus_seconds, done / base_seconds
        same_rate = done / same_seconds
    finally:
        store.close()
    return [
        Figure(
            SUITE,
            f"booking throughput, {db.label}",
            bus_rate,
            base_rate,
            "ops/s",
            0.5,
            ">=",
            note=(
                f"{done} RequestBooking via bus.handle (1 thread, free slots in 50 rooms) vs "
                f"{done} Core INSERT+COMMIT, alternating rounds; "
                f"{1000 / bus_rate:.2f} vs {1000 / base_rate:.2f} ms each"
            ),
        ),
        Figure(
            SUITE,
            f"booking throughput vs a Core transaction making the same writes, {db.label}",
            bus_rate,
            same_rate,
            "ops/s",
            SAME_WRITES_TARGET,
            ">=",
            note=(
                f"the same writes (overlap check; booking, event, read-model row, approval, "
                f"{len(OUTBOX_ROWS)} outbox rows) in one hand-written Core transaction: "
                f"{1000 / same_rate:.2f} ms each, {same_rate / base_rate:.2f}x of the single "
                "INSERT+COMMIT: the ceiling for any design that keeps the transactional outbox"
            ),
        ),
    ]


def _timed(action: Callable[[], None], times: int) -> float:
    started = time.perf_counter()
    for _ in range(times):
        action()
    return time.perf_counter() - started


# --- part 3: latency with history ----------------------------------------------------------------


@dataclass
class _Step:
    size: int
    store: _Store
    homes: HomePublisher
    seed_seconds: float = 0.0
    request_ms: list[float] = field(default_factory=list)
    home_ms: list[float] = field(default_factory=list)
    free_ms: list[float] = field(default_factory=list)

    def request(self) -> float:
        started = time.perf_counter()
        self.store.request()
        return (time.perf_counter() - started) * 1000

    def home(self) -> float:
        started = time.perf_counter()
        home_view(self.homes.data(seeding.HEAVY))
        return (time.perf_counter() - started) * 1000

    def free(self) -> float:
        started = time.perf_counter()
        _find(self.store)
        return (time.perf_counter() - started) * 1000


def _find(store: _Store) -> None:
    """Find's query: rooms for 4 free for the first hour of the seeded future (tomorrow)."""
    start = store.layout.future_base
    store.container.queries.free_rooms(start, start + timedelta(hours=1), people=4)


def _homes(container: Container, *, admin: bool) -> HomePublisher:
    return HomePublisher(
        client=None,  # type: ignore[arg-type]  # data() never publishes
        queries=container.queries,
        directory=cast(Directory, _FixedZone()),
        is_admin=lambda user: admin,
        dead_count=lambda: 0,
        clock=container.bus.context.clock,
    )


def _history(ctx: Context, db: _Database) -> list[Figure]:
    sizes = (100, ctx.size(10_000, 1_000), ctx.size(100_000, 2_000))
    samples = ctx.size(50, 8)
    steps: list[_Step] = []
    try:
        for size in sizes:
            store = _open(ctx, db, f"h{size}")
            step = _Step(size, store, _homes(store.container, admin=False))
            steps.append(step)
            started = time.perf_counter()
            seeding.seed(store.engine, store.layout, 0, size)
            step.seed_seconds = time.perf_counter() - started
        for _ in range(WARM_UP):
            for step in steps:
                step.request()
                step.home()
                step.free()
        for _ in range(samples):
            for step in steps:
                step.request_ms.append(step.request())
                step.home_ms.append(step.home())
                step.free_ms.append(step.free())
        plans = _plans(steps[-1].store)
    finally:
        for step in steps:
            step.store.close()
    return _history_figures(ctx, db, steps, plans)


def _plans(store: _Store) -> list[Plan]:
    """Capture and explain the home's queries (as an admin sees it, so the pending queue is
    included), the overlap check of a booking request and Find's free/busy query."""
    engine = store.engine
    with capturing(engine) as seen:
        _homes(store.container, admin=True).data(seeding.HEAVY)
    if len(seen) != len(HOME_QUERIES) + 1:
        raise RuntimeError(f"expected {len(HOME_QUERIES) + 1} home queries, saw {len(seen)}")
    labelled = [*zip(HOME_QUERIES, seen[:4], strict=True), ("history_for rows", seen[4])]
    room, start, end = store.layout.probe(next(store.probes))
    with capturing(engine) as seen, Session(engine) as session:
        SqlBookingRepository(session).conflicts(room, start, end)
        session.rollback()
    labelled.append(("conflicts (overlap check)", seen[-1]))
    with capturing(engine) as seen:
        _find(store)
    labelled.append(("free_rooms (Find's free/busy)", seen[-1]))
    return [explain(engine, label, captured) for label, captured in labelled]


def _history_figures(
    ctx: Context, db: _Database, steps: list[_Step], plans: list[Plan]
) -> list[Figure]:
    small, large = steps[0], steps[-1]
    figures = []
    measured: tuple[tuple[str, Callable[[_Step], list[float]]], ...] = (
        ("booking request", lambda s: s.request_ms),
        ("App Home build (heavy user)", lambda s: s.home_ms),
        ("Find free/busy query", lambda s: s.free_ms),
    )
    for what, pick in measured:
        detail = "; ".join(
            f"{s.size}: median {median(pick(s)):.2f} p95 {percentile(pick(s), 95):.2f}"
            for s in steps
        )
        figures.append(
            Figure(
                SUITE,
                f"{what} at {large.size} vs {small.size} bookings, {db.label}",
                median(pick(large)),
                median(pick(small)),
                "ms",
                1.3,
                "<=",
                note=f"{len(large.request_ms)} samples per size, round-robin; ms: {detail}",
            )
        )
    seeds = ", ".join(f"{s.size}: {s.seed_seconds:.1f}s" for s in steps)
    ctx.notes.append(f"scale/{db.label}: history seeded with Core bulk inserts ({seeds})")
    path = ctx.work / "plans.txt"
    with path.open("a", encoding="utf-8") as out:
        for plan in plans:
            out.write(f"=== {db.label} @ {large.size} bookings: {plan.label}\n")
            out.write(plan.statement + "\n--- plan\n" + plan.text + "\n\n")
    ctx.notes.append(f"scale/{db.label}: query plans at {large.size} bookings in {path}")
    for plan in plans:
        warning = f"; SEQ SCAN on {', '.join(plan.seq_scans)}" if plan.seq_scans else ""
        if plan.filtered > 10 * (plan.returned + 10):
            warning += (
                f"; but the scan reads {plan.filtered} rows it then throws away, "
                "which grows with the history"
            )
        figures.append(
            Figure(
                SUITE,
                f"plan uses an index: {plan.label}, {db.label}",
                1.0 if plan.indexed else 0.0,
                None,
                "bool",
                1.0,
                ">=",
                target_on="value",
                note=plan.summary() + warning,
            )
        )
    return figures
