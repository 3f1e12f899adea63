"""Draining the outbox: deliveries per second for one worker and for two (issue part 4).

10 000 deliveries (5 000 Slack DMs, 5 000 emails, one of each per booking event, as the ``notify``
policy writes them) are drained into the fake Slack Web API and an aiosmtpd sink, each in a
process of its own, by dispatchers wired with ``bootstrap`` and also each in a process
of its own, so one worker and two workers are measured alike.

- one worker, on SQLite and on PostgreSQL: rows sent per second of wall time (target 200/s);
  for context, the bare rate of ``chat.postMessage`` against the same fake with the same client;
- two workers on PostgreSQL (``FOR UPDATE SKIP LOCKED`` claims) on a fresh outbox: their rate
  against one worker's (target 1.6x), and duplicates counted where they land: a DM per recipient
  and booking at the fake, a Message-ID at the sink (target 0);
- SMTP connection reuse: the sink counts client connections.

The CPU time of every process involved (workers, fake, sink, PostgreSQL backends) is read from
``/proc`` around each run: on a small machine those processes share the cores, and the note
says so with numbers instead of leaving a missed ratio unexplained.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import smtplib
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, delete, func, insert, select, text
from sqlalchemy.engine import make_url

from bench.common import Context, Figure
from bench.suites import _outbox_procs as procs
from bench.suites.scale import app_url
from bot.adapters import migrate, orm
from bot.adapters.db import make_engine
from bot.adapters.slack import make_client
from bot.domain import events
from bot.domain.model import BookingStatus
from bot.notifications.notice import Notice
from bot.services.ports import BookingRow

SUITE = "outbox"
USERS = [(f"UB{n:02d}", f"ub{n:02d}@bench.example") for n in range(50)]
ADMIN = ("UADMIN", "admin@bench.example")  # named in approval and denial emails
BATCH = 200
SCHEMA = "bench_outbox"
#: Notice kinds in the mix, with how many of every ten events have them; approved ones and
#: cancellations of approved ones carry an .ics attachment.
KINDS = ["requested"] * 4 + ["approved"] * 3 + ["denied"] + ["cancelled"] * 2
SPAWN = multiprocessing.get_context("spawn")
WAIT_SECONDS = 300.0


def run(ctx: Context) -> list[Figure]:
    total = ctx.size(10_000, 200)
    with _receivers() as (slack, smtp):
        raw_rate = _raw_slack_rate(slack, ctx.size(1_000, 50))
        smtp_rate = _raw_smtp_rate(smtp, ctx.size(500, 20))
        context = (
            f"bare chat.postMessage {raw_rate:.0f}/s, bare SMTP send (one connection) "
            f"{smtp_rate:.0f}/s"
        )
        figures = [
            Figure(
                SUITE,
                "fake Slack: bare chat.postMessage rate (context)",
                raw_rate,
                None,
                "calls/s",
                None,
                note="the same WebClient set-up as the dispatcher's, from the parent process",
            )
        ]
        stores = [_Store("sqlite", f"sqlite:///{ctx.work / 'outbox.db'}", None)]
        if ctx.postgres_url:
            stores.append(_Store("postgresql", app_url(ctx.postgres_url), SCHEMA))
        batch = ctx.size(BATCH, 50)  # smoke mode: small batches, so both workers get rows
        one: dict[str, Run] = {}
        try:
            for store in stores:
                store.prepare()
                one[store.label] = result = _drain(store, 1, total, batch, slack, smtp)
                figures.append(
                    Figure(
                        SUITE,
                        f"one worker: deliveries/s, {store.label}",
                        result.rate,
                        raw_rate,
                        "rows/s",
                        200.0,
                        ">=",
                        target_on="value",
                        note=f"{result.describe()}; context: {context}",
                    )
                )
                ctx.notes.append(f"outbox/{store.label} one worker: {result.describe()}")
            if ctx.postgres_url:
                store = stores[-1]
                two = _drain(store, 2, total, batch, slack, smtp)
                base = one[store.label]
                figures += [
                    Figure(
                        SUITE,
                        "two workers vs one: deliveries/s, postgresql",
                        two.rate,
                        base.rate,
                        "rows/s",
                        1.6,
                        ">=",
                        note=f"{two.describe()}; {os.cpu_count()} CPUs",
                    ),
                    Figure(
                        SUITE,
                        "two workers: duplicate deliveries, postgresql",
                        float(two.duplicates),
                        None,
                        "deliveries",
                        0.0,
                        "<=",
                        target_on="value",
                        note=(
                            f"{two.dm_received} DMs and {two.mail_received} emails received for "
                            f"{total} rows; counted at the fake (recipient, booking) and the "
                            "sink (Message-ID)"
                        ),
                    ),
                ]
                ctx.notes.append(f"outbox/postgresql two workers: {two.describe()}")
        finally:
            for store in stores:
                store.drop()
    return figures


# --- receivers -----------------------------------------------------------------------------------


@dataclass
class _Receiver:
    """A child process the parent talks to through two queues."""

    process: Any
    commands: Any
    replies: Any
    address: Any
    pid: int

    def report(self) -> procs.Received:
        self.commands.put("report")
        kind, received = self.replies.get(timeout=WAIT_SECONDS)
        assert kind == "report"
        return received  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.commands.put("stop")
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)


def _start(target: Any, *args: Any) -> _Receiver:
    commands, replies = SPAWN.Queue(), SPAWN.Queue()
    process = SPAWN.Process(target=target, args=(*args, commands, replies), daemon=True)
    process.start()
    kind, address, pid = replies.get(timeout=60)
    assert kind == "ready"
    return _Receiver(process, commands, replies, address, pid)


@contextmanager
def _receivers() -> Iterator[tuple[_Receiver, _Receiver]]:
    slack = _start(procs.slack_process, [*USERS, ADMIN])
    try:
        smtp = _start(procs.smtp_process)
        try:
            yield slack, smtp
        finally:
            smtp.stop()
    finally:
        slack.stop()


def _raw_slack_rate(slack: _Receiver, count: int) -> float:
    client = make_client("xoxb-bench", slack.address)
    started = time.perf_counter()
    for n in range(count):
        client.chat_postMessage(channel=USERS[n % len(USERS)][0], text="ping")
    rate = count / (time.perf_counter() - started)
    slack.report()  # forget these calls
    return rate


def _raw_smtp_rate(smtp: _Receiver, count: int) -> float:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@bench.example", USERS[0][1], "ping"
    message.set_content("ping")
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", smtp.address, timeout=10) as client:
        for _ in range(count):
            client.send_message(message)
    rate = count / (time.perf_counter() - started)
    smtp.report()
    return rate


# --- the outbox ----------------------------------------------------------------------------------


@dataclass
class _Store:
    """The database the dispatchers drain: a SQLite file, or a schema of the PostgreSQL one."""

    label: str
    url: str
    schema: str | None

    def engine(self) -> Engine:
        if self.schema is None:
            return make_engine(self.url)
        return make_engine(self.url, connect_args={"options": f"-csearch_path={self.schema}"})

    def _admin(self) -> Engine:
        return create_engine(make_url(self.url), isolation_level="AUTOCOMMIT")

    def prepare(self) -> None:
        """A fresh, migrated store."""
        self.drop()
        if self.schema is not None:
            admin = self._admin()
            with admin.connect() as conn:
                conn.execute(text(f"CREATE SCHEMA {self.schema}"))
            admin.dispose()
        engine = self.engine()
        migrate.upgrade(engine)
        engine.dispose()

    def drop(self) -> None:
        if self.schema is None:
            path = Path(self.url.removeprefix("sqlite:///"))
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
            return
        admin = self._admin()
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))
        admin.dispose()


def _notice(n: int, at: datetime) -> dict[str, Any]:
    """The payload ``notify`` writes for event ``n``: the notice and the booking as it was."""
    kind = KINDS[n % len(KINDS)]
    user = USERS[n % len(USERS)][0]
    starts = at + timedelta(days=1 + n % 30, hours=n % 9)
    status = {
        "requested": BookingStatus.PENDING,
        "approved": BookingStatus.APPROVED,
        "denied": BookingStatus.DENIED,
        "cancelled": BookingStatus.CANCELLED,
    }[kind]
    row = BookingRow(
        booking_id=n + 1,
        room_id=f"S{n % 50:02d}",
        room_name=f"Room {n % 50:02d}",
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        booker=user,
        title=f"Team sync {n}",
        status=status,
        requested_at=at - timedelta(hours=1),
        decided_by=ADMIN[0] if kind in ("approved", "denied") else None,
        decided_at=at if kind in ("approved", "denied") else None,
        reason="The room is being repainted" if kind == "denied" else None,
        cancelled_by=user if kind == "cancelled" else None,
    )
    extra = {"was_approved": n % 2 == 0} if kind == "cancelled" else {}
    actor = ADMIN[0] if kind in ("approved", "denied") else user
    event = events.BookingApproved(booking_id=n + 1, actor=actor, at=at)
    return Notice.of(kind, event, row, **extra).to_payload()


def _seed(engine: Engine, total: int) -> None:
    """Empty the outbox and write ``total`` due rows: a DM and an email per event."""
    at = datetime.now(UTC) - timedelta(minutes=1)
    events = total // 2
    with engine.begin() as conn:
        for table in (orm.deliveries, orm.outbox, orm.event_log):
            conn.execute(delete(table))
    for first in range(0, events, 2_500):
        numbers = range(first, min(first + 2_500, events))
        ids = {n: uuid.uuid4().hex for n in numbers}
        notices = {n: _notice(n, at) for n in numbers}
        with engine.begin() as conn:
            conn.execute(
                insert(orm.event_log),
                [
                    {
                        "event_id": ids[n],
                        "type": "Booking" + notices[n]["kind"].capitalize(),
                        "booking_id": n + 1,
                        "actor": notices[n]["actor"],
                        "at": at,
                        "payload": {},
                    }
                    for n in numbers
                ],
            )
            conn.execute(
                insert(orm.outbox),
                [
                    {
                        "event_id": ids[n],
                        "channel": channel,
                        "recipient": notices[n]["booking"]["booker"],
                        "payload": notices[n],
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": at,
                        "created_at": at,
                    }
                    for n in numbers
                    for channel in ("dm", "email")
                ],
            )


def _statuses(engine: Engine) -> dict[str, int]:
    o = orm.outbox.c
    with engine.connect() as conn:
        return {s: c for s, c in conn.execute(select(o.status, func.count()).group_by(o.status))}


# --- a run ---------------------------------------------------------------------------------------


@dataclass
class Run:
    workers: list[procs.WorkerResult]
    dm: procs.Received
    mail: procs.Received
    statuses: dict[str, int]
    cpu: dict[str, float]
    machine_busy: float  # share of all CPUs busy during the run, 0..1

    @property
    def wall(self) -> float:
        return max(w.finished for w in self.workers) - min(w.started for w in self.workers)

    @property
    def sent(self) -> int:
        return self.statuses.get("sent", 0)

    @property
    def rate(self) -> float:
        return self.sent / self.wall if self.wall > 0 else 0.0

    @property
    def dm_received(self) -> int:
        return self.dm.messages

    @property
    def mail_received(self) -> int:
        return self.mail.messages

    @property
    def duplicates(self) -> int:
        return self.dm.duplicates + self.mail.duplicates

    def describe(self) -> str:
        share = ", ".join(f"{w.handled}" for w in self.workers)
        cpu = ", ".join(f"{name} {seconds:.1f}" for name, seconds in self.cpu.items())
        opened = sum(w.smtp_connections for w in self.workers)
        return (
            f"{self.sent} sent in {self.wall:.1f}s by {len(self.workers)} worker(s) "
            f"(rows each: {share}); SMTP reuse: {self.mail_received} emails arrived over "
            f"{self.mail.connections} connection(s) (the mailers opened {opened}); "
            f"{self.dm_received} DMs arrived; "
            f"duplicates {self.duplicates}; outbox {self.statuses}; CPU-seconds: {cpu}; "
            f"machine busy {self.machine_busy:.0%} of {os.cpu_count()} CPUs"
        )


def _drain(
    store: _Store, workers: int, total: int, batch: int, slack: _Receiver, smtp: _Receiver
) -> Run:
    """Seed ``total`` rows, start ``workers`` dispatcher processes, open the gate when all are
    connected, and collect what they did and what arrived."""
    engine = store.engine()
    try:
        _seed(engine, total)
        gate, release, results = SPAWN.Event(), SPAWN.Event(), SPAWN.Queue()
        processes = [
            SPAWN.Process(
                target=procs.worker_process,
                args=(
                    store.url,
                    store.schema,
                    slack.address,
                    smtp.address,
                    [user for user, _ in (*USERS, ADMIN)],
                    batch,
                    gate,
                    release,
                    results,
                ),
                daemon=True,
            )
            for _ in range(workers)
        ]
        for process in processes:
            process.start()
        try:
            for _ in range(workers):
                kind, detail = results.get(timeout=WAIT_SECONDS)
                if kind != "ready":
                    raise RuntimeError(f"a dispatcher failed to start: {detail}")
            watched: dict[str, int | None] = {
                **{f"worker {n + 1}": p.pid for n, p in enumerate(processes)},
                "fake Slack": slack.pid,
                "SMTP sink": smtp.pid,
            }
            before, machine_before = _cpu(watched), _machine()
            gate.set()
            done = [results.get(timeout=WAIT_SECONDS)[1] for _ in range(workers)]
            after, machine_after = _cpu(watched), _machine()
        finally:
            release.set()
            for process in processes:
                process.join(timeout=30)
                if process.is_alive():
                    process.terminate()
        failed = [w.error for w in done if w.error]
        if failed:
            raise RuntimeError(f"dispatcher failed: {failed}")
        busy = (machine_after[0] - machine_before[0]) / max(machine_after[1] - machine_before[1], 1)
        return Run(
            done,
            slack.report(),
            smtp.report(),
            _statuses(engine),
            {name: after.get(name, 0.0) - before.get(name, 0.0) for name in after},
            busy,
        )
    finally:
        engine.dispose()


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int | str) -> tuple[str, float] | None:
    """(command name, user+system CPU seconds) of a process, from ``/proc/<pid>/stat``."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return name, (int(fields[11]) + int(fields[12])) / _TICK


def _cpu(watched: dict[str, int | None]) -> dict[str, float]:
    """CPU seconds so far of the watched processes, and of all PostgreSQL backends together."""
    found = {}
    for label, pid in watched.items():
        seen = _cpu_of(pid) if pid is not None else None
        if seen is not None:
            found[label] = seen[1]
    postgres = 0.0
    for entry in itertools.islice(Path("/proc").iterdir(), 100_000):
        if entry.name.isdigit():
            seen = _cpu_of(entry.name)
            if seen is not None and seen[0] == "postgres":
                postgres += seen[1]
    found["PostgreSQL"] = postgres
    return found


def _machine() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs, from ``/proc/stat``."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)
